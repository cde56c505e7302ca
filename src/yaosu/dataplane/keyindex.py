"""Key indexes of stored versions: the sorted keys of one column with their row numbers, kept in
a file beside the version, so that a keyed lookup (核验: "is this resident ID registered")
finds its rows by binary search instead of scanning the version.

Layout, beside ``versions/<sha[:2]>/<sha256>.parquet``::

    versions/<sha[:2]>/<sha256>.keys/<sha256 of the column name>.ykx

A version is immutable and addressed by the SHA-256 of its bytes, so its index is too: the
file carries the version's SHA-256, the key column, the version's row count and the key type,
and a loader refuses a file whose any of these differ from the version it is asked for. The
file is an Arrow IPC file (columns ``key`` — sorted, no nulls — and ``row``, the row's position
in the version, ascending within equal keys) followed by the SHA-256 of those bytes and a
magic: a torn or damaged file fails the hash and is rebuilt, never used.

Indexes are written when a version is stored (ingest knows its key columns once classified)
and, for versions written before, on the first lookup; both write to a temporary file in the
same directory and rename it into place, so concurrent builders (threads or processes) each
publish a whole file, with the same content. Only content-addressed versions (a file named by
its SHA-256) get an index file; others are indexed in memory by the engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

__all__ = ["KeyIndex", "build", "index_path", "indexable", "load", "load_or_build", "save"]

log = logging.getLogger(__name__)

FORMAT = b"1"
_MAGIC = b"YKIDX001"
_TRAILER = 32 + len(_MAGIC)
_VERSION_FILE = re.compile(r"^([0-9a-f]{64})\.parquet$")


@dataclass(frozen=True)
class KeyIndex:
    """The non-null keys of one column in sorted order (``keys``) and their row numbers."""

    keys: pa.Array
    rows: pa.Array

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.rows.nbytes)


def indexable(kind: pa.DataType) -> bool:
    """Key types an index is kept for: text, integers, dates and (naive) date-times — those
    whose Python values compare as DuckDB compares them."""
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or kind == pa.date32()
        or kind == pa.timestamp("us")
    )


def version_sha(path: str) -> str | None:
    """The SHA-256 a version file is addressed by, or None for a file not named by its hash."""
    match = _VERSION_FILE.match(os.path.basename(path))
    return match.group(1) if match else None


def index_path(path: str, column: str) -> str | None:
    """Where the index of ``column`` of the version at ``path`` lives (None: not kept)."""
    sha = version_sha(path)
    if sha is None:
        return None
    name = hashlib.sha256(column.encode()).hexdigest()
    return os.path.join(os.path.dirname(path), f"{sha}.keys", f"{name}.ykx")


def build(path: str, column: str) -> KeyIndex | None:
    """Read the key column of the version and sort it (None when its type is not indexable)."""
    metadata = pq.read_metadata(path)
    schema = metadata.schema.to_arrow_schema()
    if column not in schema.names or not indexable(schema.field(column).type):
        return None
    keys = pq.read_table(path, columns=[column]).column(0).combine_chunks()
    rows = pa.array(range(len(keys)), pa.int64())
    table = pa.table({"key": keys, "row": rows}).filter(pc.is_valid(keys))
    order = pc.sort_indices(table, sort_keys=[("key", "ascending"), ("row", "ascending")])
    table = table.take(order)
    return KeyIndex(table.column("key").combine_chunks(), table.column("row").combine_chunks())


def _metadata(sha: str, column: str, rows: int, kind: pa.DataType) -> dict[bytes, bytes]:
    return {
        b"yaosu.format": FORMAT,
        b"yaosu.version": sha.encode(),
        b"yaosu.column": column.encode(),
        b"yaosu.rows": str(rows).encode(),
        b"yaosu.key_type": str(kind).encode(),
    }


def save(path: str, column: str, index: KeyIndex, rows: int) -> str | None:
    """Write the index of ``column`` beside the version (``rows``: the version's row count);
    returns its path, or None when the version is not content-addressed or the directory is
    not writable (the caller keeps the index in memory then)."""
    target = index_path(path, column)
    sha = version_sha(path)
    if target is None or sha is None:
        return None
    schema = pa.schema(
        [pa.field("key", index.keys.type, nullable=False), pa.field("row", pa.int64(), False)],
        metadata=_metadata(sha, column, rows, index.keys.type),
    )
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, schema) as writer:
        writer.write_table(pa.table([index.keys, index.rows], schema=schema))
    body = sink.getvalue().to_pybytes()
    staged = f"{target}.{secrets.token_hex(8)}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(staged, "wb") as f:
            f.write(body + hashlib.sha256(body).digest() + _MAGIC)
            f.flush()
            os.fsync(f.fileno())
        os.replace(staged, target)
    except OSError as exc:
        log.warning("key index of %s could not be written: %s", path, exc)
        with contextlib.suppress(OSError):
            os.remove(staged)
        return None
    return target


def load(path: str, column: str, rows: int, kind: pa.DataType) -> KeyIndex | None:
    """The stored index of ``column`` of the version at ``path``, when it is whole and made
    for exactly this version, column, row count and key type; else None (missing, torn,
    damaged or foreign: the caller rebuilds it)."""
    target = index_path(path, column)
    sha = version_sha(path)
    if target is None or sha is None:
        return None
    try:
        with open(target, "rb") as f:
            data = f.read()
    except OSError:
        return None
    body, tag, magic = data[:-_TRAILER], data[-_TRAILER:-8], data[-8:]
    if len(data) < _TRAILER or magic != _MAGIC or hashlib.sha256(body).digest() != tag:
        log.warning("key index %s is damaged; it is rebuilt", target)
        return None
    try:
        table = ipc.open_file(pa.py_buffer(body)).read_all()
        table.validate(full=True)
    except (pa.ArrowException, ValueError) as exc:
        log.warning("key index %s does not read (%s); it is rebuilt", target, exc)
        return None
    named = table.schema.metadata or {}
    if named != _metadata(sha, column, rows, kind) or table.column_names != ["key", "row"]:
        log.warning("key index %s was made for another version or column; it is rebuilt", target)
        return None
    keys = table.column("key").combine_chunks()
    positions = table.column("row").combine_chunks()
    if keys.type != kind or positions.type != pa.int64() or not _sound(keys, positions, rows):
        log.warning("key index %s is not in order; it is rebuilt", target)
        return None
    return KeyIndex(keys, positions)


def _sound(keys: pa.Array, positions: pa.Array, rows: int) -> bool:
    """No nulls, row numbers within the version, and (key, row) strictly ascending."""
    n = len(keys)
    if keys.null_count or positions.null_count or n > rows:
        return False
    if n == 0:
        return True
    low, high = pc.min_max(positions).values()
    if low.as_py() < 0 or high.as_py() >= rows:
        return False
    if n == 1:
        return True
    a, b = keys.slice(0, n - 1), keys.slice(1)
    ra, rb = positions.slice(0, n - 1), positions.slice(1)
    ascending = pc.or_(pc.less(a, b), pc.and_(pc.equal(a, b), pc.less(ra, rb)))
    return bool(pc.all(ascending).as_py())


def load_or_build(path: str, column: str) -> KeyIndex | None:
    """The index of ``column``: the stored one if sound, else built now (and stored when the
    version is content-addressed). None when the column's type is not indexable."""
    metadata = pq.read_metadata(path)
    schema = metadata.schema.to_arrow_schema()
    if column not in schema.names or not indexable(schema.field(column).type):
        return None
    kind = schema.field(column).type
    found = load(path, column, metadata.num_rows, kind)
    if found is not None:
        return found
    built = build(path, column)
    if built is not None:
        save(path, column, built, metadata.num_rows)
    return built
