"""Parquet input, normalised to strings so it goes through the same inference as text.

Choice: every column is cast to string and its type inferred again, rather than passed
through. One code path decides every version's types, so a Parquet file and the CSV of the
same data give the same version. Typed values round-trip: integers, floats, booleans, dates and
timestamps come back with their type (timestamps with a zone as UTC without one, nanoseconds
truncated to microseconds); decimals become floats, times and durations text; nested values
become JSON text. Binary columns that are not UTF-8 are rejected (``unsupported_type``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyarrow.types as pt

from .errors import DataplaneError, quote_value
from .source import Limits, Source, check_columns

__all__ = ["ParquetSource", "to_strings"]

_NULL_TEXT = pa.scalar(None, pa.string())


def _corrupt(path: str, exc: BaseException) -> DataplaneError:
    reason = str(exc) or type(exc).__name__
    name = os.path.basename(path)
    return DataplaneError(
        "corrupt_file",
        f"The Parquet file {name} could not be read: {reason}",
        f"无法读取 Parquet 文件 {name}：{reason}",
        reason=reason,
    )


class ParquetSource(Source):
    """A Parquet file, read one row group slice at a time."""

    format = "parquet"
    encoding = None

    def __init__(self, path: str, *, limits: Limits | None = None) -> None:
        super().__init__()
        self.name = self.path = path
        self._limits = limits or Limits()
        self._size = os.path.getsize(path)
        try:
            self._file = pq.ParquetFile(path)
            schema = self._file.schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise _corrupt(path, exc) from None
        self.columns = check_columns(
            schema.names, where_en="Parquet schema", where_zh="Parquet 模式"
        )
        self._on_close.append(self._file.close)

    @property
    def size_bytes(self) -> int:
        return self._size

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the rows with every column rendered as a string."""
        schema = self.schema
        total = max(self._file.metadata.num_rows, 1)
        done = 0
        batches = self._file.iter_batches(batch_size=self._limits.batch_rows)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError) as exc:
                raise _corrupt(self.path, exc) from None
            arrays = [
                to_strings(col, name) for col, name in zip(batch.columns, self.columns, strict=True)
            ]
            done += batch.num_rows
            self._bytes_read = self._size * done // total
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def to_strings(col: pa.Array, name: str) -> pa.Array:
    """Render an Arrow column as strings (null for null and for the empty string)."""
    kind = col.type
    if pt.is_dictionary(kind):
        col = col.dictionary_decode()
        kind = col.type
    if pt.is_null(kind):
        return pa.nulls(len(col), pa.string())
    if pt.is_boolean(kind):
        out = pc.if_else(col, "true", "false")
    elif pt.is_timestamp(kind):
        unit = "us" if kind.unit == "ns" else kind.unit
        out = pc.cast(pc.cast(col, pa.timestamp(unit), safe=False), pa.string())
    elif pt.is_date64(kind):
        out = pc.cast(pc.cast(col, pa.date32()), pa.string())
    elif pt.is_nested(kind):
        out = pa.array(
            [
                None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                for v in col.to_pylist()
            ],
            pa.string(),
        )
    elif pt.is_binary(kind) or pt.is_large_binary(kind) or pt.is_fixed_size_binary(kind):
        try:
            out = pc.cast(col, pa.string())
        except pa.ArrowInvalid:
            raise DataplaneError(
                "unsupported_type",
                f"Column {quote_value(name)} holds binary data that is not UTF-8 text.",
                f"列 {quote_value(name)} 含有非 UTF-8 文本的二进制数据。",
                column=name,
            ) from None
    else:
        out = pc.cast(col, pa.string())
    return pc.if_else(pc.equal(out, ""), _NULL_TEXT, out)
