"""Profile of a dataset version: row count, and per column nulls, distinct values and range.

Computed from the final Parquet file with DuckDB in a fresh in-memory connection (one scan, in
parallel). Distinct counts are HyperLogLog estimates (``approx_count_distinct``), typically
within a few percent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import math
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ColumnProfile",
    "DistinctCounter",
    "Profile",
    "json_value",
    "profile_parquet",
    "sample_indices",
]

SAMPLE_ROWS = 20


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column; ``min``/``max`` are rendered as strings (None if all null)."""

    name: str
    null_count: int
    distinct_approx: int
    min: str | None
    max: str | None


@dataclass(frozen=True)
class Profile:
    """Statistics of a version and a sample of up to 20 rows spread evenly across it."""

    rows: int
    columns: list[ColumnProfile]
    sample: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)


def sample_indices(rows: int, count: int = SAMPLE_ROWS) -> list[int]:
    """Row positions of the sample: multiples of the smallest power-of-two stride that leaves
    at most ``2 * count`` of them, thinned evenly to ``count``. An ingest finds the same rows
    while streaming, without knowing the row count in advance."""
    stride = 1
    while -(-rows // stride) > 2 * count:
        stride *= 2
    kept = list(range(0, rows, stride))
    if len(kept) <= count:
        return kept
    return [kept[i * len(kept) // count] for i in range(count)]


def json_value(value: Any) -> Any:
    """Make a cell value JSON-ready: dates and times as ISO strings, non-finite floats null."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def rows_as_json(table: pa.Table | pa.RecordBatch) -> list[dict[str, Any]]:
    """Rows of a table as JSON-ready dictionaries."""
    names = table.schema.names
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [
        {name: json_value(col[r]) for name, col in zip(names, columns, strict=True)}
        for r in range(table.num_rows)
    ]


def _connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB, quiet: no progress bar printed on a library's stdout."""
    con = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
    con.execute("SET enable_progress_bar = false")
    return con


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def profile_parquet(
    path: str,
    *,
    sample: Sequence[dict[str, Any]] | None = None,
    distinct: Sequence[int] | None = None,
) -> Profile:
    """Profile the Parquet file at ``path``; pass ``sample`` and ``distinct`` if the caller
    already has them (an ingest counts while it writes, see `DistinctCounter`).

    Null counts, minimum and maximum come from the row-group statistics in the file footer;
    only the distinct-count estimate (and any statistics the writer left out) needs a scan.
    """
    parquet = pq.ParquetFile(path)
    meta = parquet.metadata
    names = parquet.schema_arrow.names
    if sample is None:
        sample = _read_sample(parquet)
    nulls = [0] * len(names)
    lows: list[Any] = [None] * len(names)
    highs: list[Any] = [None] * len(names)
    missing: set[int] = set()
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(len(names)):
            stats = group.column(c).statistics
            if stats is None or not stats.has_null_count:
                missing.add(c)
                continue
            nulls[c] += stats.null_count
            if stats.null_count == group.num_rows:
                continue
            if not stats.has_min_max:
                missing.add(c)
                continue
            lows[c] = stats.min if lows[c] is None else min(lows[c], stats.min)
            highs[c] = stats.max if highs[c] is None else max(highs[c], stats.max)
    if distinct is None or missing:
        scanned, rescanned = _scan(path, names, missing)
        distinct = scanned if distinct is None else distinct
    else:
        rescanned = {}
    for c, (null_count, low, high) in rescanned.items():
        nulls[c], lows[c], highs[c] = null_count, low, high
    columns = [
        ColumnProfile(
            name=name,
            null_count=nulls[i],
            distinct_approx=min(distinct[i], meta.num_rows - nulls[i]),
            min=_render(lows[i]),
            max=_render(highs[i]),
        )
        for i, name in enumerate(names)
    ]
    return Profile(rows=meta.num_rows, columns=columns, sample=list(sample))


class DistinctCounter:
    """Estimates distinct values per column with DuckDB while batches stream past.

    The query runs on its own thread over an Arrow stream fed through a small queue, so the
    estimate is ready when the last batch is written instead of costing another scan.
    """

    def __init__(self, schema: pa.Schema) -> None:
        self._queue: queue.Queue[pa.RecordBatch | None] = queue.Queue(maxsize=4)
        self._result: list[int] | None = None
        self._ended = False
        self._closed = False
        self._con = _connect(threads=1)
        self._thread = threading.Thread(
            target=self._run, args=(schema,), name="yaosu-distinct", daemon=True
        )
        self._thread.start()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while (batch := self._queue.get()) is not None:
            yield batch
        self._ended = True

    def _run(self, schema: pa.Schema) -> None:
        terms = ", ".join(f"approx_count_distinct({_ident(n)})" for n in schema.names)
        try:
            self._con.register(
                "batches", pa.RecordBatchReader.from_batches(schema, self._batches())
            )
            row = self._con.execute(f"SELECT {terms} FROM batches").fetchone()
            self._result = None if row is None else [int(v) for v in row]
        except Exception:
            self._result = None  # the profile falls back to scanning the file
        finally:
            while not self._ended:  # never leave the producer blocked on a full queue
                self._ended = self._queue.get() is None

    def add(self, batch: pa.RecordBatch) -> None:
        """Count one more batch (blocks briefly if DuckDB is behind)."""
        if self._thread.is_alive():
            self._queue.put(batch)

    def finish(self) -> list[int] | None:
        """The estimates, once every batch was added (None if counting failed)."""
        self._stop()
        return self._result

    def abort(self) -> None:
        """Stop counting and release DuckDB (safe to call more than once)."""
        if not self._closed:
            with contextlib.suppress(duckdb.Error):
                self._con.interrupt()
        self._stop()
        self._result = None

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if not self._closed:
            self._closed = True
            self._con.close()


def _scan(
    path: str, names: list[str], missing: set[int]
) -> tuple[list[int], dict[int, tuple[int, Any, Any]]]:
    """One DuckDB scan: distinct estimates of all columns, and full statistics of the columns
    whose Parquet statistics are missing (values too long for the footer, for instance)."""
    terms = ["count(*)"] + [f"approx_count_distinct({_ident(n)})" for n in names]
    for c in sorted(missing):
        col = _ident(names[c])
        terms += [f"count({col})", f"min({col})", f"max({col})"]
    con = _connect()
    try:
        row = con.execute(f"SELECT {', '.join(terms)} FROM read_parquet(?)", [path]).fetchone()
    finally:
        con.close()
    assert row is not None
    total = int(row[0])
    distinct = [int(v) for v in row[1 : 1 + len(names)]]
    rescanned: dict[int, tuple[int, Any, Any]] = {}
    at = 1 + len(names)
    for c in sorted(missing):
        rescanned[c] = (total - int(row[at]), row[at + 1], row[at + 2])
        at += 3
    return distinct, rescanned


def _render(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_sample(parquet: pq.ParquetFile) -> list[dict[str, Any]]:
    wanted = sample_indices(parquet.metadata.num_rows)
    out: list[dict[str, Any]] = []
    start = 0
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        local = [i - start for i in wanted if start <= i < start + size]
        if local:
            table = parquet.read_row_group(group).take(pa.array(local))
            out += rows_as_json(table)
        start += size
    return out
