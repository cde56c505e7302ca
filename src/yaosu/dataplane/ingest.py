"""Ingest a source into an immutable, content-addressed, profiled dataset version.

Two passes over local staging files, never the whole input in memory:

1. stream the source's string batches into an uncompressed Arrow IPC staging file while
   inferring column types over every value;
2. cast each column to its inferred type and write the final Parquet file.

Pass 2 runs *speculatively* alongside pass 1, with the types inferred so far: types usually
settle in the first batch, and then the version is complete when the input is. If a later value
changes a type (``N/A`` at row 50,000 of an integer column), the speculative file is dropped
and pass 2 runs again from the staging file. Either way the bytes are the same: row groups are
cut by a per-row rule (131,072 rows or 64 MiB of values) that does not depend on batch sizes,
so identical content gives an identical file, SHA-256 and key.

Then the SHA-256 of the file names the version, the profile is computed from it, and
`Storage.commit` publishes it atomically. On any error, cancel or interrupt, every staging file
is removed and nothing is committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from .errors import Cancelled, DataplaneError
from .inference import ColumnInfo, ColumnType, Parsed, TypeInferrer, arrow_type, cast_column
from .profile import SAMPLE_ROWS, DistinctCounter, Profile, profile_parquet, rows_as_json
from .source import Source
from .storage import Storage

__all__ = ["COLUMNS_METADATA_KEY", "IngestResult", "ingest"]

COLUMNS_METADATA_KEY = b"yaosu.columns"
"""Parquet footer key holding the inferred columns (type, nullable, reason) as JSON."""

_GROUP_ROWS = 1 << 17
_GROUP_BYTES = 64 << 20
_FIXED_WIDTH = 8  # bytes a non-text value counts for when cutting row groups
_AHEAD = 2  # batches the speculative writer may lag behind the reader

Progress = Callable[[int, int], None]
_Finished = tuple[list[dict[str, Any]], list[int] | None]  # sample rows, distinct estimates
_Inferred = tuple[list[ColumnType], list[Parsed | None]]  # types so far, values parsed already


@dataclass(frozen=True)
class IngestResult:
    """A committed dataset version."""

    key: str
    sha256: str
    rows: int
    size_bytes: int
    columns: list[ColumnInfo]
    profile: Profile
    source_format: str
    encoding: str | None


def ingest(
    source: Source,
    storage: Storage,
    *,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> IngestResult:
    """Read ``source`` whole, infer its column types, and store it as a version.

    ``progress(rows, bytes)`` is called after each batch with the rows and input bytes read so
    far; ``cancel()`` is polled between batches and stops the ingest with `Cancelled`. Anything
    raised (also from ``progress``) leaves no trace in ``storage``. Ingesting identical content
    again returns the same key and SHA-256.
    """
    if not source.columns:
        raise DataplaneError(
            "no_columns", f"{source.name} has no columns.", f"{source.name} 没有任何列。"
        )
    strings_path = storage.new_staging_path(".arrow")
    final_path = storage.new_staging_path(".parquet")
    committed = False
    try:
        columns, rows, done = _pass_one(source, strings_path, final_path, progress, cancel)
        if done is None:  # the speculative pass 2 guessed a type wrong: run it again
            storage.discard(final_path)
            done = _pass_two(strings_path, final_path, columns, cancel)
        storage.discard(strings_path)
        sha256 = _sha256(final_path)
        sample, distinct = done
        profile = profile_parquet(final_path, sample=sample, distinct=distinct)
        _check_cancel(cancel)
        key = storage.commit(final_path, sha256)
        committed = True
    finally:
        storage.discard(strings_path)
        if not committed:
            storage.discard(final_path)
    return IngestResult(
        key=key,
        sha256=sha256,
        rows=rows,
        size_bytes=storage.size(key),
        columns=columns,
        profile=profile,
        source_format=source.format,
        encoding=source.encoding,
    )


def _check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled()


# -- the Parquet writer shared by both passes ---------------------------------------------------


class _Sampler:
    """Keeps rows at multiples of a stride that doubles as the input grows, so the sample is
    spread evenly over an input of unknown length and depends on the content only."""

    def __init__(self, size: int = SAMPLE_ROWS) -> None:
        self._size = size
        self._stride = 1
        self._rows: list[tuple[int, dict[str, Any]]] = []

    def offer(self, batch: pa.RecordBatch, first: int) -> None:
        end = first + batch.num_rows
        while -(-end // self._stride) > 2 * self._size:
            self._stride *= 2
        self._rows = [r for r in self._rows if r[0] % self._stride == 0]
        start = -(-first // self._stride) * self._stride
        wanted = list(range(start, end, self._stride))
        if wanted:
            taken = batch.take(pa.array([w - first for w in wanted]))
            self._rows += zip(wanted, rows_as_json(taken), strict=True)

    def result(self) -> list[dict[str, Any]]:
        kept = [row for _, row in self._rows]
        if len(kept) <= self._size:
            return kept
        return [kept[i * len(kept) // self._size] for i in range(self._size)]


class _VersionWriter:
    """Casts string batches to fixed types and writes them as the final Parquet file."""

    def __init__(self, path: str, names: Sequence[str], types: Sequence[ColumnType]) -> None:
        self.types = list(types)
        # Every field is optional: nullability is known only at the end, and goes to the
        # footer metadata with the rest of the column information.
        self._schema = pa.schema(
            [pa.field(n, arrow_type(t)) for n, t in zip(names, types, strict=True)]
        )
        self._text = [i for i, t in enumerate(types) if t is ColumnType.TEXT]
        self._fixed = _FIXED_WIDTH * (len(types) - len(self._text))
        self._writer = pq.ParquetWriter(
            path,
            self._schema,
            compression="zstd",
            compression_level=1,
            # Dictionary pages cost more time than they save once zstd runs over the pages.
            use_dictionary=False,
            write_statistics=True,
        )
        self._buffer: list[pa.RecordBatch] = []
        self._rows = 0
        self._bytes = 0
        self.rows = 0
        self._sampler = _Sampler()
        self._distinct = DistinctCounter(self._schema)

    def write(self, strings: pa.RecordBatch, parsed: Sequence[Parsed | None] = ()) -> None:
        """Cast and write one batch; ``parsed`` holds columns inference already parsed."""
        arrays = [
            ready[1] if ready is not None and ready[0] is kind else cast_column(col, kind)
            for col, kind, ready in zip(
                strings.columns, self.types, parsed or [None] * len(self.types), strict=True
            )
        ]
        typed = pa.RecordBatch.from_arrays(arrays, schema=self._schema)
        self._distinct.add(typed)
        self._sampler.offer(typed, self.rows)
        self.rows += typed.num_rows
        while typed.num_rows:
            cut = self._cut(typed)
            self._buffer.append(typed.slice(0, cut))
            typed = typed.slice(cut)
            if self._rows == _GROUP_ROWS or self._bytes >= _GROUP_BYTES:
                self._flush()

    def _cut(self, typed: pa.RecordBatch) -> int:
        """Rows of ``typed`` that fit in the current row group (at least one)."""
        room = _GROUP_ROWS - self._rows
        text = sum(_value_bytes(typed.column(i)) for i in self._text)
        total = text + self._fixed * typed.num_rows
        if typed.num_rows <= room and self._bytes + total < _GROUP_BYTES:
            self._rows += typed.num_rows
            self._bytes += total
            return typed.num_rows
        # The group fills inside this batch: find the row by cumulative size.
        sizes = pa.array([self._fixed] * typed.num_rows, pa.int64())
        for i in self._text:
            sizes = pc.add(sizes, pc.fill_null(pc.binary_length(typed.column(i)), 0))
        reach = pc.greater_equal(pc.cumulative_sum(sizes), _GROUP_BYTES - self._bytes)
        first_full = pc.index(reach, True).as_py()
        by_bytes = typed.num_rows if first_full < 0 else first_full + 1
        cut = max(1, min(room, by_bytes))
        self._rows += cut
        self._bytes += pc.sum(sizes.slice(0, cut)).as_py()
        return cut

    def _flush(self) -> None:
        if self._rows:
            table = pa.Table.from_batches(self._buffer, schema=self._schema)
            self._writer.write_table(table, row_group_size=self._rows)
        self._buffer, self._rows, self._bytes = [], 0, 0

    def finish(self, columns: Sequence[ColumnInfo]) -> _Finished:
        """Write the last row group and the column metadata; return the sample rows and the
        distinct-count estimates (None if they must be computed from the file)."""
        self._flush()
        described = [
            {"name": c.name, "type": c.type.value, "nullable": c.nullable, "reason": c.reason}
            for c in columns
        ]
        meta = json.dumps(described, ensure_ascii=False, separators=(",", ":"))
        self._writer.add_key_value_metadata({COLUMNS_METADATA_KEY: meta.encode()})
        self._writer.close()
        return self._sampler.result(), self._distinct.finish()

    def abort(self) -> None:
        self._distinct.abort()
        with contextlib.suppress(Exception):
            self._writer.close()


def _value_bytes(col: pa.Array) -> int:
    if not len(col):
        return 0
    offsets = memoryview(col.buffers()[1]).cast("i")
    return int(offsets[col.offset + len(col)] - offsets[col.offset])


# -- pass 1: stage strings, infer types, write speculatively ------------------------------------


class _Speculation:
    """Pass 2 running one batch behind pass 1 with the types inferred so far."""

    def __init__(self, path: str, names: Sequence[str]) -> None:
        self._path = path
        self._names = names
        self.writer: _VersionWriter | None = None
        self.failed = False

    def write(self, inferred: Future[_Inferred], batch: pa.RecordBatch) -> None:
        types, parsed = inferred.result()
        if self.failed:
            return
        if self.writer is None:
            self.writer = _VersionWriter(self._path, self._names, types)
        elif types != self.writer.types:
            self.abort()
            return
        self.writer.write(batch, parsed)

    def abort(self) -> None:
        self.failed = True
        if self.writer is not None:
            self.writer.abort()


def _pass_one(
    source: Source,
    strings_path: str,
    final_path: str,
    progress: Progress | None,
    cancel: Callable[[], bool] | None,
) -> tuple[list[ColumnInfo], int, _Finished | None]:
    """Returns the columns, the row count, and (if the speculative file is good) the sample
    and distinct counts."""
    inferrer = TypeInferrer(source.columns)
    speculation = _Speculation(final_path, source.columns)

    def infer(batch: pa.RecordBatch) -> _Inferred:
        inferrer.update(batch)
        return inferrer.current_types(), inferrer.parsed

    rows = 0
    inferring: Future[_Inferred] | None = None
    writing: deque[Future[None]] = deque()
    # Arrow kernels and the Parquet writer release the GIL, so the three stages overlap.
    with (
        ThreadPoolExecutor(1, thread_name_prefix="yaosu-infer") as infer_pool,
        ThreadPoolExecutor(1, thread_name_prefix="yaosu-write") as write_pool,
        pa.OSFile(strings_path, "wb") as sink,
        ipc.new_file(sink, source.schema) as staging,
    ):
        try:
            for batch in _cancellable(source.batches(), cancel):
                if inferring is not None:
                    inferring.result()  # updates must run in order
                inferring = infer_pool.submit(infer, batch)
                staging.write_batch(batch)
                while len(writing) >= _AHEAD:
                    writing.popleft().result()
                writing.append(write_pool.submit(speculation.write, inferring, batch))
                rows += batch.num_rows
                if progress is not None:
                    progress(rows, source.bytes_read())
            while writing:
                writing.popleft().result()
        except BaseException:
            speculation.failed = True  # queued writes become no-ops
            for future in (inferring, *writing):
                if future is not None:
                    future.cancel()
                    with contextlib.suppress(BaseException):
                        future.result()
            speculation.abort()  # only now: the writer thread is idle
            raise
    columns = inferrer.columns()
    writer = speculation.writer
    if speculation.failed or writer is None or writer.types != [c.type for c in columns]:
        speculation.abort()
        return columns, rows, None
    return columns, rows, writer.finish(columns)


def _cancellable(
    batches: Iterator[pa.RecordBatch], cancel: Callable[[], bool] | None
) -> Iterator[pa.RecordBatch]:
    try:
        for batch in batches:
            _check_cancel(cancel)
            yield batch
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


# -- pass 2 (again): from the staging file with the final types --------------------------------


def _pass_two(
    strings_path: str,
    final_path: str,
    columns: list[ColumnInfo],
    cancel: Callable[[], bool] | None,
) -> _Finished:
    writer = _VersionWriter(final_path, [c.name for c in columns], [c.type for c in columns])
    try:
        with (
            pa.OSFile(strings_path, "rb") as staged,  # not memory-mapped: keeps RSS bounded
            ipc.open_file(staged) as reader,
        ):
            for i in range(reader.num_record_batches):
                _check_cancel(cancel)
                writer.write(reader.get_batch(i))
    except BaseException:
        writer.abort()
        raise
    return writer.finish(columns)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
