"""The `Source` interface every reader implements, its limits, and shared helpers.

A source presents any input (a file, an SQL query, a download) the same way: a list of column
names and a stream of Arrow record batches whose columns are all UTF-8 strings, with null for
an empty cell. Types are decided later, by inference over the whole input.
"""

from __future__ import annotations

import abc
import datetime as dt
import decimal
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pyarrow as pa

from .errors import DataplaneError, fmt_int, quote_value

__all__ = ["Limits", "Source", "check_columns", "column_letter", "string_batch", "to_text"]


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile or broken input from exhausting memory or disk."""

    max_line_bytes: int = 8 << 20
    """Longest CSV line or record, or JSON item, in bytes."""
    block_bytes: int = 16 << 20
    """CSV parse block size (raised to ``max_line_bytes`` if smaller); about one batch each."""
    batch_rows: int = 65_536
    """Rows per batch for row-at-a-time readers (Excel, JSON, SQL)."""
    max_xlsx_uncompressed: int = 512 << 20
    """Total uncompressed size of an .xlsx archive (the sheet is read whole by calamine)."""
    max_xlsx_ratio: float = 200.0
    """Largest compression ratio of any sizeable member of an .xlsx archive."""
    max_download_bytes: int = 4 << 30
    """Largest body an HTTP pull will store."""


class Source(abc.ABC):
    """A readable input: ``format``, ``encoding``, ``columns`` and ``batches()`` of strings."""

    format: str
    encoding: str | None
    columns: list[str]
    name: str

    def __init__(self) -> None:
        self._on_close: list[Callable[[], None]] = []
        self._bytes_read = 0

    @abc.abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the rows as record batches whose columns are all ``pa.string()``."""

    @property
    def schema(self) -> pa.Schema:
        """The schema of every batch: each column a nullable string."""
        return pa.schema([pa.field(name, pa.string()) for name in self.columns])

    def bytes_read(self) -> int:
        """Input bytes consumed so far by the running ``batches()`` (for progress reports)."""
        return self._bytes_read

    @property
    def size_bytes(self) -> int | None:
        """Size of the input in bytes, when known."""
        return None

    def close(self) -> None:
        """Release resources (temporary downloads, connections). Safe to call twice."""
        callbacks, self._on_close = self._on_close, []
        for callback in reversed(callbacks):
            callback()

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} format={self.format} "
            f"encoding={self.encoding} columns={len(self.columns)}>"
        )


def column_letter(index: int) -> str:
    """Spreadsheet column letters for a 0-based index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def check_columns(
    names: Sequence[str | None],
    *,
    where_en: str,
    where_zh: str,
    letters: bool = False,
    offset: int = 0,
    **details: Any,
) -> list[str]:
    """Validate a header: no blank and no duplicate names (compared case-insensitively,
    because SQL engines such as DuckDB resolve identifiers that way). Positions are 1-based,
    or spreadsheet letters when ``letters`` is set; ``offset`` shifts them (a sheet whose
    used range starts right of column A)."""

    def position(i: int) -> str:
        return column_letter(i + offset) if letters else fmt_int(i + offset + 1)

    seen: dict[str, int] = {}
    out: list[str] = []
    for i, name in enumerate(names):
        if name is None or not name.strip():
            raise DataplaneError(
                "blank_column",
                f"{where_en}: column {position(i)} has a blank name; every column needs one.",
                f"{where_zh}：第 {position(i)} 列的列名为空，每一列都需要列名。",
                column_position=i + offset + 1,
                **details,
            )
        folded = name.casefold()
        if folded in seen:
            first = seen[folded]
            named = quote_value(name)
            if out[first] != name:
                named = f"{quote_value(out[first])} / {named}"
            raise DataplaneError(
                "duplicate_column",
                f"{where_en}: columns {position(first)} and {position(i)} are both named "
                f"{named} (names are compared ignoring case).",
                f"{where_zh}：第 {position(first)} 列和第 {position(i)} 列同名 "
                f"{named}（列名比较不区分大小写）。",
                column_positions=[first + offset + 1, i + offset + 1],
                column=name,
                **details,
            )
        seen[folded] = i
        out.append(name)
    return out


def to_text(value: Any) -> str | None:
    """Render one Python value as the string a cell holds (None and "" become null).

    Whole floats print without ".0" below 1e15 (spreadsheets store every number as a float);
    dates and times use ISO 8601 with a space separator; nested values become compact JSON.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def string_batch(schema: pa.Schema, columns: Sequence[Sequence[str | None]]) -> pa.RecordBatch:
    """Build a string record batch from per-column Python lists."""
    arrays = [pa.array(values, type=pa.string()) for values in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
