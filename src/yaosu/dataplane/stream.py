"""Output formats of the row query engine: JSON, CSV and Arrow IPC stream.

JSON and CSV rows are rendered inside DuckDB, in parallel, one text value per row
(``json_object`` for JSON, a quoted CSV line for CSV); Python only concatenates the text buffers
of each Arrow batch, so no per-row Python work happens. Arrow batches are written as they come
with ``pyarrow.ipc``. The renderings of values are the same in JSON, CSV and lookups:

- integers and booleans as numbers and ``true``/``false``; floats in shortest round-trip form
  (``2.0``, ``0.1``, ``1e+20`` in CSV), NaN and ±infinity as ``null`` (JSON) or an empty field;
- dates ``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (trailing zeros of the
  fraction dropped), as DuckDB casts them to text;
- text as is: JSON is UTF-8 with Chinese unescaped; CSV (RFC 4180, CRLF line ends) quotes every
  text value, so an empty string (``""``) differs from NULL (an empty field).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import pyarrow as pa

__all__ = [
    "ARROW_MEDIA_TYPE",
    "CSV_MEDIA_TYPE",
    "JSON_MEDIA_TYPE",
    "MEDIA_TYPES",
    "ArrowEncoder",
    "CsvEncoder",
    "Encoder",
    "JsonEncoder",
    "csv_line_sql",
    "finite_sql",
    "json_object_sql",
    "quote_literal",
    "text_bytes",
]

JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"
MEDIA_TYPES = {"json": JSON_MEDIA_TYPE, "csv": CSV_MEDIA_TYPE, "arrow": ARROW_MEDIA_TYPE}

# DuckDB types whose text form never holds a comma, quote or line break: left unquoted in CSV.
_PLAIN_TYPES = (
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
    "TIMESTAMP WITH TIME ZONE",
)


def quote_literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def finite_sql(column: str) -> str:
    """``column`` with NaN and ±infinity turned into NULL when it is a float column, unchanged
    otherwise. ``typeof`` is folded when the query is planned, so other types pay nothing."""
    return (
        f"CASE WHEN typeof({column}) IN ('FLOAT', 'DOUBLE') "
        f"AND NOT isfinite(TRY_CAST({column} AS DOUBLE)) THEN NULL ELSE {column} END"
    )


def json_object_sql(names: Sequence[str], columns: Sequence[str], *, finite: bool = True) -> str:
    """An SQL expression rendering one row as a JSON object with these keys, in this order.

    DuckDB writes NaN and ±infinity as ``NaN``/``Infinity``, which is not JSON: with ``finite``
    they become ``null`` in SQL; without, the caller must (Python's ``json`` reads them).
    """
    pairs = ", ".join(
        f"{quote_literal(name)}, {finite_sql(column) if finite else column}"
        for name, column in zip(names, columns, strict=True)
    )
    return f"json_object({pairs})"


def _csv_field_sql(column: str) -> str:
    plain = ", ".join(quote_literal(t) for t in _PLAIN_TYPES)
    return (
        f"CASE WHEN {column} IS NULL THEN '' "
        f"WHEN typeof({column}) IN ('FLOAT', 'DOUBLE') "
        f"AND NOT isfinite(TRY_CAST({column} AS DOUBLE)) THEN '' "
        f"WHEN typeof({column}) IN ({plain}) OR typeof({column}) LIKE 'DECIMAL%' "
        f"THEN CAST({column} AS VARCHAR) "
        # Text is always quoted; only text holding a quote pays for the replace.
        f"WHEN contains(CAST({column} AS VARCHAR), '\"') "
        f"THEN concat('\"', replace(CAST({column} AS VARCHAR), '\"', '\"\"'), '\"') "
        f"ELSE concat('\"', CAST({column} AS VARCHAR), '\"') END"
    )


def csv_line_sql(columns: Sequence[str]) -> str:
    """An SQL expression rendering one row as a CSV line ending in CRLF (one ``concat``: a
    third faster than a chain of ``||``)."""
    fields = ", ',', ".join(_csv_field_sql(c) for c in columns)
    return f"concat({fields}, chr(13), chr(10))"


def _csv_header(names: Sequence[str]) -> bytes:
    quoted = ('"' + n.replace('"', '""') + '"' for n in names)
    return (",".join(quoted) + "\r\n").encode()


def text_bytes(array: pa.Array) -> bytes:
    """The values of a string array without nulls, concatenated: a slice of its data buffer."""
    if array.null_count:
        raise ValueError("rendered rows must not be null")
    if len(array) == 0:
        return b""
    if array.type != pa.string() and array.type != pa.large_string():
        array = array.cast(pa.large_string())
    offsets_buffer, data = array.buffers()[1], array.buffers()[2]
    if data is None:  # only empty strings
        return b""
    raw = memoryview(offsets_buffer)
    offsets = raw.cast("i") if array.type == pa.string() else raw.cast("q")
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    return memoryview(data)[start:end].tobytes()


class Encoder:
    """Turns the batches of one page into bytes: ``head``, one chunk per batch, ``tail``."""

    media_type = "application/octet-stream"

    def head(self, schema: pa.Schema) -> bytes:
        """Bytes before the first row (called once, before any batch)."""
        return b""

    def batch(self, batch: pa.RecordBatch) -> bytes:
        """The bytes of the rows of ``batch`` (never empty of rows)."""
        raise NotImplementedError

    def tail(self, next_cursor: str | None) -> bytes:
        """Bytes after the last row."""
        return b""


class JsonEncoder(Encoder):
    """``{"rows":[…],"next_cursor":…}``; batches hold one column of ``,{…}`` row texts."""

    media_type = JSON_MEDIA_TYPE

    def __init__(self) -> None:
        self._first = True

    def head(self, schema: pa.Schema) -> bytes:
        return b'{"rows":['

    def batch(self, batch: pa.RecordBatch) -> bytes:
        text = text_bytes(batch.column(0))
        if self._first:
            self._first = False
            return text[1:]  # every row text starts with a comma
        return text

    def tail(self, next_cursor: str | None) -> bytes:
        return b'],"next_cursor":' + json.dumps(next_cursor).encode() + b"}"


class CsvEncoder(Encoder):
    """A header line with the column names, then the rows; batches hold one column of lines."""

    media_type = CSV_MEDIA_TYPE

    def __init__(self, names: Sequence[str]) -> None:
        self._names = list(names)

    def head(self, schema: pa.Schema) -> bytes:
        return _csv_header(self._names)

    def batch(self, batch: pa.RecordBatch) -> bytes:
        return text_bytes(batch.column(0))


class ArrowEncoder(Encoder):
    """An Arrow IPC stream: the schema message, one message per batch, the end marker."""

    media_type = ARROW_MEDIA_TYPE

    def __init__(self) -> None:
        self._sink = io.BytesIO()
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None

    def _take(self) -> bytes:
        data = self._sink.getvalue()
        self._sink.seek(0)
        self._sink.truncate()
        return data

    def head(self, schema: pa.Schema) -> bytes:
        self._writer = pa.ipc.new_stream(self._sink, schema)
        return self._take()

    def batch(self, batch: pa.RecordBatch) -> bytes:
        assert self._writer is not None
        self._writer.write_batch(batch)
        return self._take()

    def tail(self, next_cursor: str | None) -> bytes:
        assert self._writer is not None
        self._writer.close()
        return self._take()
