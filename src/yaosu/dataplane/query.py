"""Row queries over stored versions, for the data service: pages, streams and key lookups.

The caller (the data service, which knows the policy) hands over SQL fragments: one expression
per output column (a quoted column or a masking expression) and a row filter, each with the
values of its ``?`` placeholders. Everything runs inside DuckDB — projection, masking, filter,
sort and the rendering of JSON and CSV rows — so unmasked values never leave the engine and no
Python code runs per row. Values only ever reach SQL as bound parameters; the SQL fragments
must come from trusted code, which quotes identifiers with `quote_ident`.

Pagination is keyset pagination on (sort columns…, row number in the file): versions are
immutable, so the row number (``file_row_number``) is a stable, unique tiebreak. A cursor holds
only the row number of the last row of a page and an HMAC over it and the query shape (path,
order, filter and its values); the next page re-reads that row's sort keys from the file, so no
value is ever carried in a cursor. See ``docs/dataservice-engine.md``.
"""

from __future__ import annotations

import base64
import bisect
import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import re
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from yaosu.kit.errors import Invalid, NotFound

from . import keyindex
from .errors import DataplaneError
from .stream import (
    MEDIA_TYPES,
    ArrowEncoder,
    CsvEncoder,
    Encoder,
    JsonEncoder,
    csv_line_sql,
    json_object_sql,
)

__all__ = [
    "MEDIA_TYPES",
    "Engine",
    "Format",
    "Page",
    "PageStats",
    "Projection",
    "RowQuery",
    "quote_ident",
]

Format = Literal["json", "csv", "arrow"]

_BATCH_ROWS = 16_384
_PREFETCH_BYTES = 4 << 20
_LOOKUP_CACHE_BYTES = 256 << 20
# Sorted pages up to this size find their rows first (sort keys and row numbers only) and then
# read just those rows; bigger pages sort the projected rows in one pass.
_LATE_ROWS = 50_000
# A key found more often than this in the lookup index is looked up by a scan instead.
_MAX_CANDIDATES = 8
# After this many lookups of one shape (projection and filter) in one row group, the group's
# answers are computed in one pass and kept: that pass costs about as much as this many
# single-row statements (masking expressions dominate both).
_MATERIALIZE_AFTER = 32
_HEAT_ENTRIES = 65_536
# Parsed lookup statements kept (one per projection, filter and null pattern of the row).
_STATEMENTS = 1024
_CURSOR_VERSION = 2
_CURSOR = re.compile(r"[A-Za-z0-9_-]{32}")
_MAC_BYTES = 16

# Arrow types of stored columns whose values go back into DuckDB exactly as bound parameters.
_SQL_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (``"a""b"`` for ``a"b``), for column SQL."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Projection:
    """One output column: its name, the SQL expression computing it over the version's columns
    (quoted by the caller, e.g. ``'"身份证号"'`` or a masking expression), the values of the
    expression's ``?`` placeholders in order, and its stored type after masking (informational:
    ``boolean``, ``integer``, ``float``, ``date``, ``datetime`` or ``text``)."""

    name: str
    sql: str
    params: list[Any] = field(default_factory=list)
    type: str = "text"


@dataclass(frozen=True)
class RowQuery:
    """A page of rows of the Parquet version at ``path``.

    ``where`` is a boolean SQL expression over the version's columns with its ``?`` values
    (the row filter and the caller's filters, already combined), or None. ``order_by`` lists
    (source column name, descending); NULLs (and float NaN) sort last in either direction, and
    ties are broken by the row's position in the file. ``limit`` is the page size (the caller
    caps it) and ``cursor`` the ``next_cursor`` of the previous page of the same query.
    ``scope`` is what else the cursor is bound to (e.g. the grant it is served under): a cursor
    made under one scope is refused under another.
    """

    path: str
    columns: list[Projection]
    where: tuple[str, list[Any]] | None = None
    order_by: list[tuple[str, bool]] = field(default_factory=list)
    limit: int = 100
    cursor: str | None = None
    scope: str = ""


@dataclass(frozen=True)
class Page:
    """A materialised page: Arrow batches named after the projections, and the next cursor
    (None on the last page)."""

    batches: list[pa.RecordBatch]
    schema: pa.Schema
    rows: int
    next_cursor: str | None

    def to_table(self) -> pa.Table:
        """The page as one Arrow table."""
        return pa.Table.from_batches(self.batches, schema=self.schema)


@dataclass(frozen=True)
class PageStats:
    """Figures of a streamed page, for metering.

    ``rows`` and ``bytes`` count what the iterator has yielded so far (final once ``done``).
    ``complete`` says the engine has read the whole page, so ``next_cursor`` is final: pages
    that fit the prefetch buffer are complete before the first byte is yielded, so a caller can
    put the cursor in a response header; others only at the end (JSON also carries it in the
    body).
    """

    rows: int
    bytes: int
    next_cursor: str | None
    complete: bool
    done: bool


def _invalid(code: str, en: str, zh: str, **details: Any) -> Invalid:
    return DataplaneError(code, en, zh, **details)


def _bad_cursor() -> Invalid:
    return _invalid(
        "bad_cursor",
        "The cursor is not valid for this query; start again from the first page.",
        "游标对该查询无效，请从第一页重新开始。",
    )


def _missing(path: str) -> NotFound:
    return NotFound(
        f"Dataset version file {path} does not exist.",
        f"数据集版本文件 {path} 不存在。",
        code="version_not_found",
    )


# What lookup caches are keyed by: the path, and its modification time and size, so that a
# path that names other bytes later (never in a content-addressed store) is not served stale.
_Stamp = tuple[str, int, int]


def _not_allowed(path: str) -> Invalid:
    return _invalid(
        "path_not_allowed",
        f"{path} is outside the directories this engine may read.",
        f"{path} 不在该查询引擎允许读取的目录中。",
    )


@contextlib.contextmanager
def _duckdb_errors(path: str) -> Iterator[None]:
    """DuckDB errors a request can cause, as typed errors; programming errors pass through."""
    try:
        yield
    except duckdb.IOException as exc:
        if "No files found" in str(exc) or not os.path.exists(path):
            raise _missing(path) from None
        raise
    except duckdb.PermissionException:
        raise _not_allowed(path) from None
    except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
        message = str(exc).split("\n", 1)[0]
        raise _invalid(
            "bad_value",
            f"A filter or parameter value does not fit its column: {message}",
            f"筛选条件或参数值与列类型不符：{message}",
        ) from None


# -- checking and shaping a query ----------------------------------------------------------------


def _check(q: RowQuery) -> None:
    if not q.columns:
        raise _invalid("no_columns", "Select at least one column.", "请至少选择一列。")
    names = [c.name for c in q.columns]
    if any(not isinstance(n, str) or not n for n in names):
        raise _invalid("bad_column_name", "Column names must be non-empty.", "列名不能为空。")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _invalid(
            "duplicate_column",
            f"The output column {dup!r} appears twice.",
            f"输出列 {dup!r} 出现了两次。",
            column=dup,
        )
    if isinstance(q.limit, bool) or not isinstance(q.limit, int) or q.limit < 1:
        raise _invalid(
            "bad_limit", "The page size must be a positive integer.", "每页行数必须是正整数。"
        )
    order = [c for c, _ in q.order_by]
    if any(not isinstance(c, str) or not c for c in order) or len(set(order)) != len(order):
        raise _invalid(
            "bad_order",
            "Sort columns must be non-empty and listed once each.",
            "排序列不能为空，且每列只能出现一次。",
        )


def _canonical(value: Any) -> Any:
    """A deterministic, JSON-ready stand-in for a parameter value (for the query shape)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return [type(value).__name__, repr(value)]


def _shape(q: RowQuery) -> bytes:
    """What a cursor is bound to: the version, the order, the filter with its values and the
    scope."""
    where = [q.where[0], _canonical(list(q.where[1]))] if q.where else None
    text = json.dumps(
        [q.path, [[c, bool(d)] for c, d in q.order_by], where, q.scope],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).digest()


class _Cursors:
    """Opaque page cursors: 24 bytes — version, the row number in 7 bytes encrypted, and a
    16-byte tag (HMAC-SHA256 over the query shape, version and plain row number) — as 32
    base64url characters, no padding bits. The row number is encrypted (XOR with a keystream
    derived from the tag, a synthetic-IV construction) because a position in the file says how
    many rows lie before it, filtered-out ones included."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"yaosu.dataplane.query.cursor\0" + key).digest()
        self._pad_key = hashlib.sha256(b"yaosu.dataplane.query.cursor.pad\0" + key).digest()

    def _mac(self, shape: bytes, body: bytes) -> bytes:
        return hmac.new(self._key, shape + body, hashlib.sha256).digest()[:_MAC_BYTES]

    def _pad(self, tag: bytes) -> bytes:
        return hmac.new(self._pad_key, tag, hashlib.sha256).digest()[:7]

    def encode(self, shape: bytes, row: int) -> str:
        plain = row.to_bytes(7, "big")
        tag = self._mac(shape, bytes([_CURSOR_VERSION]) + plain)
        hidden = bytes(a ^ b for a, b in zip(plain, self._pad(tag), strict=True))
        return base64.urlsafe_b64encode(bytes([_CURSOR_VERSION]) + hidden + tag).decode()

    def decode(self, shape: bytes, token: str) -> int:
        if not isinstance(token, str) or not _CURSOR.fullmatch(token):
            raise _bad_cursor()
        raw = base64.urlsafe_b64decode(token)
        version, hidden, tag = raw[:1], raw[1:8], raw[8:]
        if version[0] != _CURSOR_VERSION:
            raise _bad_cursor()
        plain = bytes(a ^ b for a, b in zip(hidden, self._pad(tag), strict=True))
        if not hmac.compare_digest(tag, self._mac(shape, version + plain)):
            raise _bad_cursor()
        return int.from_bytes(plain, "big")


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: list[Any]


def _render_items(fmt: Format, q: RowQuery) -> str:
    """The outer select list turning ``__yaosu_c<i>`` columns into the output format."""
    cols = [f"__yaosu_c{i}" for i in range(len(q.columns))]
    if fmt == "json":
        return f"concat(',', {json_object_sql([c.name for c in q.columns], cols)})"
    if fmt == "csv":
        return csv_line_sql(cols)
    return ", ".join(cols)


def _projection_items(q: RowQuery) -> tuple[str, list[Any]]:
    params: list[Any] = []
    items = []
    for i, c in enumerate(q.columns):
        items.append(f"({c.sql}) AS __yaosu_c{i}")
        params += c.params
    return ", ".join(items), params


def _where(q: RowQuery) -> tuple[list[str], list[Any]]:
    if q.where is None:
        return [], []
    return [f"({q.where[0]})"], list(q.where[1])


def _plan(q: RowQuery, fmt: Format, after: int | None, bounded: bool) -> _Plan:
    """The one SQL statement of a page; its last column ``__yaosu_r`` is the row number.

    ``bounded`` is false when the page can hold every row left in the file: then the query has
    no LIMIT, which costs up to a third of a plain scan's speed (an order-preserving limit).
    Every query asks for one row more than the page, to know whether another page follows."""
    limit = " LIMIT ?" if bounded else ""
    limit_params = [q.limit + 1] if bounded else []
    items, item_params = _projection_items(q)
    conds, where_params = _where(q)
    render = _render_items(fmt, q)
    source = "read_parquet(?, file_row_number = true) AS __yaosu_t"
    if not q.order_by:
        # File order: a plain scan, which DuckDB keeps in order (preserve_insertion_order).
        first = 0 if after is None else after + 1
        if q.where is None and bounded:
            # Without a filter the page is a range of row numbers: no LIMIT needed at all.
            conds.append("__yaosu_t.file_row_number BETWEEN ? AND ?")
            row_params = [first, first + q.limit]
            limit, limit_params = "", []
        elif after is not None:
            conds.append("__yaosu_t.file_row_number >= ?")
            row_params = [first]
        else:
            row_params = []
        inner = (
            f"SELECT {items}, __yaosu_t.file_row_number AS __yaosu_r FROM {source} "
            f"WHERE {' AND '.join(conds) or 'true'}{limit}"
        )
        params = [*item_params, q.path, *where_params, *row_params, *limit_params]
        if fmt == "arrow":
            return _Plan(inner, params)
        return _Plan(f"SELECT {render}, __yaosu_r FROM ({inner}) AS __yaosu_p", params)

    n = len(q.order_by)
    keys = [_sort_key(f"__yaosu_t.{quote_ident(c)}") for c, _ in q.order_by]
    key_items = ", ".join(f"{k} AS __yaosu_k{i}" for i, k in enumerate(keys))
    order = ", ".join(
        f"__yaosu_k{i} {'DESC' if desc else 'ASC'} NULLS LAST"
        for i, (_, desc) in enumerate(q.order_by)
    )
    order += ", __yaosu_r"
    ctes: list[str] = []
    cte_params: list[Any] = []
    keyset_params: list[Any] = []
    sources = source
    if after is not None:
        last_items = ", ".join(f"{k} AS __yaosu_l{i}" for i, k in enumerate(keys))
        ctes.append(
            f"__yaosu_last AS (SELECT {last_items} FROM {source} "
            "WHERE __yaosu_t.file_row_number = ?)"
        )
        cte_params += [q.path, after]
        sources += ", __yaosu_last"
        conds.append(_keyset(q.order_by, keys))
        keyset_params.append(after)
    where_sql = " AND ".join(conds) or "true"
    if q.limit <= _LATE_ROWS:
        ctes.append(
            f"__yaosu_page AS (SELECT __yaosu_t.file_row_number AS __yaosu_r, {key_items} "
            f"FROM {sources} WHERE {where_sql} ORDER BY {order}{limit})"
        )
        cte_params += [q.path, *where_params, *keyset_params, *limit_params]
        page_cols = ", ".join(f"__yaosu_page.__yaosu_k{i}" for i in range(n))
        inner = (
            f"SELECT {items}, {page_cols}, __yaosu_page.__yaosu_r FROM {source} "
            "JOIN __yaosu_page ON __yaosu_t.file_row_number = __yaosu_page.__yaosu_r"
        )
        params = [*cte_params, *item_params, q.path]
        limit_sql = ""
    else:
        inner = (
            f"SELECT {items}, {key_items}, __yaosu_t.file_row_number AS __yaosu_r "
            f"FROM {sources} WHERE {where_sql}"
        )
        params = [*cte_params, *item_params, q.path, *where_params, *keyset_params, *limit_params]
        limit_sql = limit
    with_sql = f"WITH {', '.join(ctes)} " if ctes else ""
    sql = (
        f"{with_sql}SELECT {render}, __yaosu_r FROM ({inner}) AS __yaosu_p "
        f"ORDER BY {order}{limit_sql}"
    )
    return _Plan(sql, params)


def _sort_key(column: str) -> str:
    """What a column sorts by: itself, except that a float NaN sorts as NULL (it is rendered as
    null too). Besides, DuckDB prunes row groups by Parquet statistics, which leave NaN out,
    while it compares NaN as the greatest value: a plain float column in a top-N or a keyset
    comparison could lose its NaN rows. ``typeof`` is folded: other types sort as they are."""
    return (
        f"(CASE WHEN typeof({column}) IN ('FLOAT', 'DOUBLE') "
        f"AND isnan(TRY_CAST({column} AS DOUBLE)) THEN NULL ELSE {column} END)"
    )


def _keyset(order_by: Sequence[tuple[str, bool]], keys: Sequence[str]) -> str:
    """Rows after the cursor row in (keys…, row number) order, NULLs last in each key."""
    last = [f"__yaosu_last.__yaosu_l{i}" for i in range(len(keys))]
    same = [f"{k} IS NOT DISTINCT FROM {v}" for k, v in zip(keys, last, strict=True)]
    terms = []
    for i, (_, desc) in enumerate(order_by):
        op = "<" if desc else ">"
        after = f"({last[i]} IS NOT NULL AND ({keys[i]} {op} {last[i]} OR {keys[i]} IS NULL))"
        terms.append("(" + " AND ".join([*same[:i], after]) + ")")
    terms.append("(" + " AND ".join([*same, "__yaosu_t.file_row_number > ?"]) + ")")
    return "(" + " OR ".join(terms) + ")"


# -- running a page ------------------------------------------------------------------------------


class _Run:
    """One page query running on its own DuckDB cursor, cut at the page size.

    Iterating yields the page's batches without the row-number column; afterwards ``more`` says
    whether a row followed the page and ``last_row`` is the row number of its last row.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, plan: _Plan, q: RowQuery, batch: int, fmt: Format
    ) -> None:
        self.path = q.path
        self.limit = q.limit
        self.rows = 0
        self.more = False
        self.last_row: int | None = None
        self._cur = con
        with _duckdb_errors(q.path):
            self._reader = con.sql(plan.sql, params=plan.params).to_arrow_reader(batch)
        fields = list(self._reader.schema)[:-1]
        if fmt == "arrow":  # the engine's column aliases → the output names
            fields = [f.with_name(c.name) for f, c in zip(fields, q.columns, strict=True)]
        self.schema = pa.schema(fields)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            with _duckdb_errors(self.path):
                for batch in self._reader:
                    left = self.limit - self.rows
                    if batch.num_rows > left:
                        self.more = True
                        batch = batch.slice(0, left)
                    if not batch.num_rows:
                        continue
                    self.rows += batch.num_rows
                    self.last_row = batch.column(batch.num_columns - 1)[-1].as_py()
                    yield pa.RecordBatch.from_arrays(
                        batch.columns[: batch.num_columns - 1], schema=self.schema
                    )
        finally:
            self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._reader.close()
        with contextlib.suppress(Exception):
            self._cur.close()


class _Stream:
    """The bytes of one page: prefetched up to a size, then pulled batch by batch."""

    def __init__(
        self, run: _Run, encoder: Encoder, cursor: Callable[[int], str], prefetch: int
    ) -> None:
        self._run = run
        self._encoder = encoder
        self._cursor = cursor
        self._next_cursor: str | None = None
        self._complete = False
        self._done = False
        self._rows = 0
        self._bytes = 0
        self._chunks = self._generate()
        self._ready: collections.deque[tuple[bytes, int]] = collections.deque()
        buffered = 0
        try:
            while not self._complete and buffered < prefetch:
                chunk = next(self._chunks)
                self._ready.append(chunk)
                buffered += len(chunk[0])
        except StopIteration:
            pass
        except BaseException:
            self.close()
            raise

    def _generate(self) -> Generator[tuple[bytes, int], None, None]:
        run, encoder = self._run, self._encoder
        try:
            yield encoder.head(run.schema), 0
            for batch in run:
                yield encoder.batch(batch), batch.num_rows
            if run.more and run.last_row is not None:
                self._next_cursor = self._cursor(run.last_row)
            self._complete = True
            yield encoder.tail(self._next_cursor), 0
        finally:
            run.close()

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> bytes:
        if self._ready:
            data, rows = self._ready.popleft()
        else:
            try:
                data, rows = next(self._chunks)
            except StopIteration:
                self._done = True
                raise
        self._rows += rows
        self._bytes += len(data)
        return data

    def close(self) -> None:
        """Stop early: release the DuckDB cursor (also done when the stream is collected)."""
        self._ready.clear()
        self._chunks.close()

    def stats(self) -> PageStats:
        return PageStats(
            rows=self._rows,
            bytes=self._bytes,
            next_cursor=self._next_cursor if self._complete else None,
            complete=self._complete,
            done=self._done,
        )


# -- lookups -------------------------------------------------------------------------------------


class _Cache:
    """A least-recently-used cache bounded by bytes, with one builder per key at a time."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: collections.OrderedDict[tuple[Any, ...], tuple[Any, int]] = (
            collections.OrderedDict()
        )
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: tuple[Any, ...], value: Any, size: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.budget:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    @contextlib.contextmanager
    def building(self, key: tuple[Any, ...]) -> Iterator[None]:
        """Hold the build lock of ``key``: concurrent first users wait for one builder."""
        with self._lock:
            lock = self._building.setdefault(key, threading.Lock())
        try:
            with lock:
                yield
        finally:
            with self._lock:
                if self._building.get(key) is lock and not lock.locked():
                    del self._building[key]

    def get_or_build(self, key: tuple[Any, ...], build: Callable[[], tuple[Any, int]]) -> Any:
        value = self.get(key)
        if value is not None:
            return value
        with self.building(key):
            value = self.get(key)
            if value is None:
                value, size = build()
                self.put(key, value, size)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes


@dataclass(frozen=True)
class _FileInfo:
    """What a lookup needs of a version's footer: row-group starts, names, bindable types."""

    metadata: pq.FileMetaData
    starts: list[int]
    names: list[str]
    sql_types: list[str | None]


class _Unsupported:
    """Cached marker: this key expression cannot be indexed (its type is not comparable)."""


_UNSUPPORTED = _Unsupported()
# What `Engine._lookup_row` answers when the row an index points at does not hold the key.
_WRONG_ROW = object()


def _parsed(text: str) -> dict[str, Any]:
    """A looked-up row's JSON text as a dictionary (non-finite floats as None)."""
    found: dict[str, Any] = json.loads(text)
    for name, value in found.items():
        if isinstance(value, float) and not math.isfinite(value):
            found[name] = None
    return found


@dataclass(frozen=True)
class _Answers:
    """One row group's lookup answers for one projection and filter: each row's JSON text and
    whether the filter lets it through."""

    first: int
    texts: pa.Array
    passes: pa.Array

    def answer(self, row: int) -> dict[str, Any] | None:
        i = row - self.first
        if not self.passes[i].as_py():
            return None
        return _parsed(self.texts[i].as_py())


def _all_stored(columns: Sequence[Projection], info: _FileInfo) -> bool:
    """Whether every output column is a stored column as is (rendered without DuckDB)."""
    for c in columns:
        i = _plain_column(info, c.sql)
        if c.params or i is None or info.sql_types[i] in (None, "FLOAT"):
            return False
    return True


def _plain_column(info: _FileInfo, key_sql: str) -> int | None:
    """The position of the stored column ``key_sql`` names as it is (``"身份证号"``), else None."""
    for i, name in enumerate(info.names):
        if key_sql == quote_ident(name):
            return i
    return None


@dataclass(frozen=True)
class _KeyIndex:
    """The non-null keys of a version in sorted order, with their row numbers."""

    keys: pa.Array
    rows: pa.Array
    accepts: Callable[[Any], bool]

    def rows_of(self, value: Any) -> list[int]:
        view = _ArrowView(self.keys)
        lo = bisect.bisect_left(view, value)
        hi = lo
        while hi < len(view) and view[hi] == value and hi - lo <= _MAX_CANDIDATES:
            hi += 1
        return [self.rows[i].as_py() for i in range(lo, hi)]


class _ArrowView(Sequence[Any]):
    """A read-only sequence of Python values over an Arrow array (for ``bisect``)."""

    def __init__(self, array: pa.Array) -> None:
        self._array = array

    def __len__(self) -> int:
        return len(self._array)

    def __getitem__(self, i: Any) -> Any:
        return self._array[i].as_py()


def _acceptor(kind: pa.DataType) -> Callable[[Any], bool] | None:
    """Which probe values compare with keys of this Arrow type as DuckDB would compare them."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return lambda v: isinstance(v, str)
    if pa.types.is_integer(kind):
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if kind == pa.date32():
        return lambda v: type(v) is dt.date
    if kind == pa.timestamp("us"):
        return lambda v: isinstance(v, dt.datetime) and v.tzinfo is None
    return None


# Types that a non-null Python value of the column binds as by itself, without a CAST (which
# costs planning time on every lookup); integers would bind as INTEGER, so they keep theirs.
_SELF_TYPED = {"VARCHAR", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN"}


def _bind(sql_type: str | None, value: Any) -> str:
    """The placeholder for one stored value re-bound with its column's exact type."""
    if value is not None and sql_type in _SELF_TYPED:
        return "?"
    return f"CAST(? AS {sql_type})"


def _lookup_select(columns: Sequence[Projection]) -> tuple[str, list[Any]]:
    """The JSON object of a looked-up row, computed at the same level as the filter (every
    nested SELECT costs DuckDB planning time, which is most of a lookup)."""
    params: list[Any] = []
    for c in columns:
        params += c.params
    exprs = [f"({c.sql})" for c in columns]
    return json_object_sql([c.name for c in columns], exprs, finite=False), params


def _json_ready(value: Any) -> Any:
    """A stored value as DuckDB renders it in JSON (see `stream`)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ", timespec="seconds")
        return text + ("." + f"{value.microsecond:06d}".rstrip("0") if value.microsecond else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _plain_row(
    columns: Sequence[Projection], info: _FileInfo, needed: Sequence[int], values: list[Any]
) -> dict[str, Any] | None:
    """The row directly, when every output column is a stored column as is (else None).
    (Not for 32-bit floats: DuckDB writes them in their own shortest form.)"""
    by_sql = {
        quote_ident(info.names[i]): v
        for i, v in zip(needed, values, strict=True)
        if info.sql_types[i] != "FLOAT"
    }
    out: dict[str, Any] = {}
    for c in columns:
        if c.params or c.sql not in by_sql:
            return None
        out[c.name] = _json_ready(by_sql[c.sql])
    return out


def _mentioned(names: Sequence[str], texts: Sequence[str]) -> list[int]:
    """Columns whose name appears in any of the SQL texts (a superset of those used)."""
    text = "\n".join(texts).lower()
    if "*" in text or "columns(" in text or "__yaosu_t" in text:
        return list(range(len(names)))
    found = [
        i
        for i, n in enumerate(names)
        if n.lower() in text or n.replace('"', '""').lower() in text  # as written in "…"
    ]
    return found or [0]


# -- the engine ----------------------------------------------------------------------------------


class Engine:
    """Row queries over Parquet versions with one shared in-memory DuckDB database.

    Thread-safe: every call runs on its own DuckDB cursor of the shared connection. ``key``
    signs page cursors (give every process of a deployment the same key, e.g.
    ``kit.crypto.derive(node_key, "dataservice-cursor")``; without one a random key is made and
    cursors only work within this process). ``allowed_directories`` limits the files DuckDB may
    read to those directories (file access is otherwise on: versions are files); ``setup`` runs
    on the connection before its configuration is locked, to register functions that column SQL
    calls (e.g. ``classification.masking.register_functions``). ``lookup_cache_bytes`` bounds
    the memory of lookup indexes and decoded columns.
    """

    def __init__(
        self,
        *,
        key: bytes | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
        allowed_directories: Sequence[str] | None = None,
        setup: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
        lookup_cache_bytes: int = _LOOKUP_CACHE_BYTES,
        batch_rows: int = _BATCH_ROWS,
        prefetch_bytes: int = _PREFETCH_BYTES,
    ) -> None:
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "preserve_insertion_order": True,
            "python_enable_replacements": False,
            "arrow_large_buffer_size": False,
            "produce_arrow_string_view": False,
        }
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._con = duckdb.connect(":memory:", config=config)
        try:
            # Footers of immutable versions are parsed once (it needs the parquet extension,
            # which is built in, to be loaded: not possible in the connect options).
            self._con.execute("SET GLOBAL parquet_metadata_cache = true")
            dirs: list[str] | None = None
            if allowed_directories is not None:
                dirs = [os.path.join(os.path.realpath(d), "") for d in allowed_directories]
                self._con.execute("SET allowed_directories = ?", [dirs])
                self._con.execute("SET enable_external_access = false")
            if setup is not None:
                setup(self._con)
            self._con.execute("SET lock_configuration = true")
        except BaseException:
            self._con.close()
            raise
        self._allowed = dirs
        self._cursors = _Cursors(key if key is not None else os.urandom(32))
        self._lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._cache = _Cache(lookup_cache_bytes)
        self._statements: dict[str, Any] = {}
        self._heat: dict[tuple[Any, ...], int] = {}
        self._batch_rows = batch_rows
        self._prefetch = prefetch_bytes

    # -- connections ---------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._closed:
                raise RuntimeError("the query engine is closed")
            return self._con.cursor()

    def _fetch(self, sql: str, params: list[Any]) -> list[Any]:
        """All rows of a small query, on this thread's cursor (kept between calls: a lookup
        is too short to pay for a new one; a failed query drops it, whatever state it is in).
        Parsed statements are kept by text: parsing is half the time of a lookup query."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._cursor()
        try:
            statement = self._statements.get(sql)
            if statement is None:
                statement = cur.extract_statements(sql)[0]
                with self._lock:
                    if len(self._statements) >= _STATEMENTS:
                        self._statements.clear()
                    self._statements[sql] = statement
            return cur.execute(statement, params).fetchall()
        except BaseException:
            self._local.cursor = None
            with contextlib.suppress(Exception):
                cur.close()
            raise

    def close(self) -> None:
        """Close the DuckDB database (running streams fail)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._con.close()
        self._cache.clear()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stamp(self, path: str) -> _Stamp:
        """What caches of ``path`` are keyed by; the engine reads some of a file (footers,
        lookup columns) with pyarrow, so the allowed directories are checked here too."""
        if self._allowed is not None:
            real = os.path.realpath(path)
            if not any(real.startswith(d) for d in self._allowed):
                raise _not_allowed(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise _missing(path) from None
        return (path, st.st_mtime_ns, st.st_size)

    # -- pages ---------------------------------------------------------------------------------

    def _start(self, q: RowQuery, fmt: Format) -> tuple[_Run, Callable[[int], str]]:
        _check(q)
        shape = _shape(q)
        after = self._cursors.decode(shape, q.cursor) if q.cursor is not None else None
        left = self._file_info(self._stamp(q.path)).starts[-1] - (0 if after is None else after + 1)
        plan = _plan(q, fmt, after, bounded=q.limit < left)
        cur = self._cursor()
        try:
            run = _Run(cur, plan, q, self._batch_rows, fmt)
        except BaseException:
            cur.close()
            raise
        return run, lambda row: self._cursors.encode(shape, row)

    def page(self, q: RowQuery) -> Page:
        """One page of ``q`` as Arrow batches, with the cursor of the next page."""
        run, cursor = self._start(q, "arrow")
        batches = list(run)
        next_cursor = cursor(run.last_row) if run.more and run.last_row is not None else None
        return Page(batches, run.schema, run.rows, next_cursor)

    def stream(self, q: RowQuery, fmt: Format) -> tuple[Iterator[bytes], Callable[[], PageStats]]:
        """One page of ``q`` as bytes for a streaming HTTP response, and its figures.

        ``fmt`` is ``json`` (``{"rows": […], "next_cursor": …}``), ``csv`` (header, then rows)
        or ``arrow`` (IPC stream). The query starts (and any error in it is raised) before this
        returns; up to ``prefetch_bytes`` are read ahead, so the figures of a small page are
        complete at once (see `PageStats`). Errors after the first byte abort the iterator.
        """
        encoder: Encoder
        if fmt == "json":
            encoder = JsonEncoder()
        elif fmt == "csv":
            encoder = CsvEncoder([c.name for c in q.columns])
        elif fmt == "arrow":
            encoder = ArrowEncoder()
        else:
            raise _invalid(
                "unknown_format",
                f"Cannot return rows as {fmt!r}; choose json, csv or arrow.",
                f"无法以 {fmt!r} 格式返回数据；请选择 json、csv 或 arrow。",
            )
        run, cursor = self._start(q, fmt)
        stream = _Stream(run, encoder, cursor, self._prefetch)
        return stream, stream.stats

    def count(self, path: str, where: tuple[str, list[Any]] | None = None) -> int:
        """How many rows of the version at ``path`` pass ``where``."""
        conds, params = _where(RowQuery(path, [Projection("n", "1")], where))
        where_sql = " AND ".join(conds) or "true"
        sql = f"SELECT count(*) FROM read_parquet(?) AS __yaosu_t WHERE {where_sql}"
        with _duckdb_errors(path):
            row = self._fetch(sql, [path, *params])[0]
        return int(row[0])

    # -- lookups -------------------------------------------------------------------------------

    def lookup(
        self,
        path: str,
        key_sql: str,
        key_value: Any,
        columns: list[Projection],
        where: tuple[str, list[Any]] | None = None,
    ) -> dict[str, Any] | None:
        """The first row (in file order) whose ``key_sql`` equals ``key_value`` and that passes
        ``where``, as a JSON-ready dictionary of the projected columns (values rendered as in
        the JSON output), or None.

        A key that is a stored column is found in the version's key index (``keyindex``: a
        file beside a content-addressed version, built on first use if ingest did not write
        it, rebuilt if unsound); other key expressions in an index built in memory by one scan.
        The row is read from cached decoded columns, its key checked against the probe, and the
        projection and filter computed in DuckDB over that one row (or, when every column is a
        plain stored column and there is no filter, rendered directly; or, in a row group hot
        for this projection and filter, taken from its answers computed in one pass). Keys of
        other types than text, integer, date or date-time, probe values of another Python type
        than the key's, and keys found more than 8 times are looked up by a scan.
        """
        _check(RowQuery(path, columns, where))
        if key_value is None:
            return None
        stamp = self._stamp(path)
        index = self._index(stamp, key_sql)
        if isinstance(index, _KeyIndex) and index.accepts(key_value):
            rows = index.rows_of(key_value)
            if len(rows) <= _MAX_CANDIDATES:
                for row in rows:
                    found = self._lookup_row(stamp, row, key_sql, key_value, columns, where)
                    if found is _WRONG_ROW:  # the index disagrees with the file: scan instead
                        break
                    if found is not None:
                        return found
                else:
                    return None
        render, params = _lookup_select(columns)
        conds, where_params = _where(RowQuery(path, columns, where))
        sql = (
            f"SELECT {render} FROM read_parquet(?) AS __yaosu_t "
            f"WHERE ({key_sql}) = ?{''.join(' AND ' + c for c in conds)} LIMIT 1"
        )
        return self._run_json(path, sql, [*params, path, key_value, *where_params])

    def _run_json(self, path: str, sql: str, params: list[Any]) -> dict[str, Any] | None:
        with _duckdb_errors(path):
            rows = self._fetch(sql, params)
        if not rows:
            return None
        return _parsed(rows[0][0])

    def _lookup_row(
        self,
        stamp: _Stamp,
        row: int,
        key_sql: str,
        key_value: Any,
        columns: list[Projection],
        where: tuple[str, list[Any]] | None,
    ) -> Any:
        path = stamp[0]
        info = self._file_info(stamp)
        render, params = _lookup_select(columns)
        key_column = _plain_column(info, key_sql)
        conds, where_params = _where(RowQuery(path, columns, where))
        filters = f"({key_sql}) = ?{''.join(' AND ' + c for c in conds)}"
        texts = [c.sql for c in columns] + [key_sql] + ([where[0]] if where else [])
        needed = _mentioned(info.names, texts)
        if any(info.sql_types[i] is None for i in needed):
            # A type that does not go through Python exactly: DuckDB reads the row.
            sql = (
                f"SELECT {render} FROM read_parquet(?, file_row_number = true) AS __yaosu_t "
                f"WHERE __yaosu_t.file_row_number = ? AND {filters}"
            )
            return self._run_json(path, sql, [*params, path, row, key_value, *where_params])
        if key_column is not None:
            if self._row_values(stamp, info, row, [key_column])[0] != key_value:
                return _WRONG_ROW  # never trust an index over the row itself
            if where is not None or not _all_stored(columns, info):
                # Not a plain row: a hot row group has every row's answer already.
                hot = self._group_answers(stamp, info, row, render, params, conds, where_params)
                if hot is not None:
                    return hot.answer(row)
        values = self._row_values(stamp, info, row, needed)
        if where is None:
            plain = _plain_row(columns, info, needed, values)
            if plain is not None:
                return plain
        # The row's stored values go back in as parameters: one small query, no file access.
        cells = ", ".join(
            f"{_bind(info.sql_types[i], v)} AS {quote_ident(info.names[i])}"
            for i, v in zip(needed, values, strict=True)
        )
        sql = f"SELECT {render} FROM (SELECT {cells}) AS __yaosu_t WHERE {filters}"
        return self._run_json(path, sql, [*params, *values, key_value, *where_params])

    def _group_answers(
        self,
        stamp: _Stamp,
        info: _FileInfo,
        row: int,
        render: str,
        params: list[Any],
        conds: list[str],
        where_params: list[Any],
    ) -> _Answers | None:
        """The answers of every row of ``row``'s row group for this projection and filter,
        once the group is hot for them (else None: the caller asks DuckDB about the one row).
        They are what the single-row statement gives — the same SQL over the same stored
        values — computed in one DuckDB pass over the group and kept in the lookup cache."""
        group = bisect.bisect_right(info.starts, row) - 1
        key = ("answers", *stamp, group, render, tuple(conds), repr(params), repr(where_params))
        found = self._cache.get(key)
        if found is not None:
            return found if isinstance(found, _Answers) else None
        with self._lock:
            if len(self._heat) >= _HEAT_ENTRIES:
                self._heat.clear()
            heat = self._heat[key] = self._heat.get(key, 0) + 1
        if heat < _MATERIALIZE_AFTER:
            return None

        def build() -> tuple[_Answers | _Unsupported, int]:
            first, last = info.starts[group], info.starts[group + 1] - 1
            cond = " AND ".join(conds) or "true"
            sql = (
                f"SELECT __yaosu_t.file_row_number AS __yaosu_r, {render} AS __yaosu_j, "
                f"coalesce({cond}, false) AS __yaosu_ok "
                "FROM read_parquet(?, file_row_number = true) AS __yaosu_t "
                "WHERE __yaosu_t.file_row_number BETWEEN ? AND ?"
            )
            cur = self._cursor()
            try:
                with _duckdb_errors(stamp[0]):
                    table = cur.sql(
                        sql, params=[*params, *where_params, stamp[0], first, last]
                    ).to_arrow_table()
            except (Invalid, duckdb.Error):
                # A value elsewhere in the group that the SQL cannot take: single rows it is.
                return _UNSUPPORTED, 64
            finally:
                cur.close()
            table = table.sort_by("__yaosu_r")
            positions = table.column(0).to_pylist()
            if positions != list(range(first, last + 1)):
                return _UNSUPPORTED, 64
            texts = table.column(1).combine_chunks()
            passes = table.column(2).combine_chunks()
            return _Answers(first, texts, passes), texts.nbytes + passes.nbytes

        with self._lock:
            self._heat.pop(key, None)
        built = self._cache.get_or_build(key, build)
        return built if isinstance(built, _Answers) else None

    def _file_info(self, stamp: _Stamp) -> _FileInfo:
        def build() -> tuple[_FileInfo, int]:
            try:
                metadata = pq.read_metadata(stamp[0])
            except FileNotFoundError:
                raise _missing(stamp[0]) from None
            starts = [0]
            for g in range(metadata.num_row_groups):
                starts.append(starts[-1] + metadata.row_group(g).num_rows)
            schema = metadata.schema.to_arrow_schema()
            info = _FileInfo(
                metadata,
                starts,
                schema.names,
                [_SQL_TYPES.get(f.type) for f in schema],
            )
            return info, metadata.serialized_size + 64 * len(starts)

        info: _FileInfo = self._cache.get_or_build(("file", *stamp), build)
        return info

    def _row_values(self, stamp: _Stamp, info: _FileInfo, row: int, needed: list[int]) -> list[Any]:
        """The stored values of ``needed`` columns of a row, from cached decoded column chunks
        (a row group's missing chunks are decoded together, once)."""
        group = bisect.bisect_right(info.starts, row) - 1
        offset = row - info.starts[group]
        chunks = {i: self._cache.get(("column", *stamp, group, i)) for i in needed}
        missing = [i for i, chunk in chunks.items() if chunk is None]
        if missing:
            with self._cache.building(("group", *stamp, group)):
                for i in missing:
                    chunks[i] = self._cache.get(("column", *stamp, group, i))
                missing = [i for i in missing if chunks[i] is None]
                if missing:
                    table = pq.ParquetFile(stamp[0], metadata=info.metadata).read_row_group(
                        group, columns=[info.names[i] for i in missing]
                    )
                    for i, column in zip(missing, table.columns, strict=True):
                        array = column.combine_chunks()
                        self._cache.put(("column", *stamp, group, i), array, array.nbytes)
                        chunks[i] = array
        return [chunks[i][offset].as_py() for i in needed]

    def _index(self, stamp: _Stamp, key_sql: str) -> _KeyIndex | _Unsupported:
        path = stamp[0]

        def build() -> tuple[_KeyIndex | _Unsupported, int]:
            column = _plain_column(self._file_info(stamp), key_sql)
            if column is not None:
                # A stored column: its index lives beside the version (built now if missing
                # or unsound), shared by every process of the node.
                name = self._file_info(stamp).names[column]
                try:
                    stored = keyindex.load_or_build(path, name)
                except FileNotFoundError:
                    raise _missing(path) from None
                if stored is not None:
                    accepts = _acceptor(stored.keys.type)
                    if accepts is not None:
                        return _KeyIndex(stored.keys, stored.rows, accepts), stored.nbytes
            sql = (
                f"SELECT __yaosu_k, __yaosu_r FROM (SELECT ({key_sql}) AS __yaosu_k, "
                "__yaosu_t.file_row_number AS __yaosu_r "
                "FROM read_parquet(?, file_row_number = true) AS __yaosu_t) "
                "WHERE __yaosu_k IS NOT NULL ORDER BY __yaosu_k, __yaosu_r"
            )
            cur = self._cursor()
            try:
                with _duckdb_errors(path):
                    table = cur.sql(sql, params=[path]).to_arrow_table()
            finally:
                cur.close()
            accepts = _acceptor(table.schema.field(0).type)
            if accepts is None:
                return _UNSUPPORTED, 64
            keys = table.column(0).combine_chunks()
            rows = table.column(1).combine_chunks()
            return _KeyIndex(keys, rows, accepts), keys.nbytes + rows.nbytes

        index: _KeyIndex | _Unsupported = self._cache.get_or_build(
            ("index", *stamp, key_sql), build
        )
        return index

    def clear_cache(self) -> None:
        """Forget lookup indexes and decoded columns (they are rebuilt on demand)."""
        self._cache.clear()

    @property
    def cache_bytes(self) -> int:
        """Memory held by lookup indexes and decoded columns."""
        return self._cache.bytes
