"""Reading stored versions: a page of rows, the schema, and streamed exports."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import DataplaneError
from .inference import ColumnInfo, ColumnType
from .ingest import COLUMNS_METADATA_KEY
from .profile import rows_as_json
from .storage import Storage

__all__ = ["export", "preview", "schema"]

_MAX_PREVIEW = 10_000
_EXPORT_BATCH = 16_384
_CHUNK = 1 << 20
_FROM_ARROW = {
    pa.bool_(): ColumnType.BOOLEAN,
    pa.int64(): ColumnType.INTEGER,
    pa.float64(): ColumnType.FLOAT,
    pa.date32(): ColumnType.DATE,
    pa.timestamp("us"): ColumnType.DATETIME,
}


def preview(storage: Storage, key: str, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Rows ``offset`` to ``offset + limit`` of a version as JSON-ready dictionaries.

    Only the row groups that hold those rows are read. ``limit`` is capped at 10,000.
    """
    if limit < 0 or offset < 0:
        raise DataplaneError(
            "invalid_range",
            "limit and offset must not be negative.",
            "limit 和 offset 不能为负数。",
        )
    limit = min(limit, _MAX_PREVIEW)
    with storage.open(key) as f:
        parquet = pq.ParquetFile(f)
        pieces: list[pa.Table] = []
        start = 0
        end = offset + limit
        for group in range(parquet.num_row_groups):
            size = parquet.metadata.row_group(group).num_rows
            if start < end and start + size > offset:
                table = parquet.read_row_group(group)
                lo = max(offset - start, 0)
                pieces.append(table.slice(lo, min(end, start + size) - start - lo))
            start += size
            if start >= end:
                break
    rows: list[dict[str, Any]] = []
    for piece in pieces:
        rows += rows_as_json(piece)
    return rows


def schema(storage: Storage, key: str) -> list[ColumnInfo]:
    """The columns of a version, with the types and reasons recorded at ingest."""
    with storage.open(key) as f:
        parquet = pq.ParquetFile(f)
        arrow_schema = parquet.schema_arrow
        recorded = (parquet.metadata.metadata or {}).get(COLUMNS_METADATA_KEY)
    if recorded:
        return [
            ColumnInfo(c["name"], ColumnType(c["type"]), bool(c["nullable"]), c["reason"])
            for c in json.loads(recorded)
        ]
    return [
        ColumnInfo(f.name, _FROM_ARROW.get(f.type, ColumnType.TEXT), f.nullable, None)
        for f in arrow_schema
    ]


def export(storage: Storage, key: str, fmt: Literal["csv", "json", "parquet"]) -> Iterator[bytes]:
    """Stream a version as UTF-8 CSV (with header), a JSON array of objects, or its Parquet
    bytes, in chunks of about 1 MiB. CSV and JSON exports ingest back to the same version."""
    if fmt == "parquet":
        return _export_parquet(storage, key)
    if fmt == "csv":
        return _export_csv(storage, key)
    if fmt == "json":
        return _export_json(storage, key)
    raise DataplaneError(
        "unknown_format",
        f"Cannot export as {fmt!r}; choose csv, json or parquet.",
        f"无法导出为 {fmt!r}；请选择 csv、json 或 parquet。",
    )


def _export_parquet(storage: Storage, key: str) -> Iterator[bytes]:
    with storage.open(key) as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _batches(storage: Storage, key: str) -> Iterator[pa.RecordBatch]:
    with storage.open(key) as f:
        yield from pq.ParquetFile(f).iter_batches(batch_size=_EXPORT_BATCH)


def _floats_with_point(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Render float columns as text that reads back as floats: Arrow writes 2.0 as ``2``,
    which would come back as an integer column when the file is ingested again."""
    columns = []
    for col in batch.columns:
        if col.type == pa.float64():
            text = pc.cast(col, pa.string())
            plain = pc.invert(pc.match_substring_regex(text, r"[.eEna]"))
            col = pc.if_else(plain, pc.binary_join_element_wise(text, ".0", ""), text)
        columns.append(col)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _export_csv(storage: Storage, key: str) -> Iterator[bytes]:
    buffer = io.BytesIO()
    writer: pacsv.CSVWriter | None = None
    for batch in _batches(storage, key):
        batch = _floats_with_point(batch)
        if writer is None:
            writer = pacsv.CSVWriter(buffer, batch.schema)
        writer.write_batch(batch)
        if buffer.tell() >= _CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if writer is None:  # no rows: still a header
        with storage.open(key) as f:
            writer = pacsv.CSVWriter(buffer, pq.read_schema(f))
    writer.close()
    if buffer.tell():
        yield buffer.getvalue()


def _export_json(storage: Storage, key: str) -> Iterator[bytes]:
    yield b"["
    first = True
    parts: list[str] = []
    size = 0
    for batch in _batches(storage, key):
        for row in rows_as_json(batch):
            text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
            parts.append(text if first else "," + text)
            first = False
            size += len(text)
            if size >= _CHUNK:
                yield "".join(parts).encode()
                parts, size = [], 0
    if parts:
        yield "".join(parts).encode()
    yield b"]"
