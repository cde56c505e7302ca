"""JSON arrays of objects and NDJSON (objects separated by newlines or any whitespace).

Both are parsed incrementally with the C scanner behind `json.JSONDecoder.raw_decode` over a
sliding text buffer, so neither needs the whole document in memory. Columns are the union of
keys in first-seen order, which takes one pass over the input before the rows are streamed in a
second. Numbers keep their exact text (``1.50`` stays ``1.50``); nested arrays and objects
become compact JSON text.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import IO, Any, NoReturn

import pyarrow as pa

from .encoding import check_header, decode_error, line_too_long, resolve_encoding
from .errors import DataplaneError, fmt_int
from .source import Limits, Source, check_columns, string_batch

__all__ = ["JsonSource"]

_CHUNK = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_EDGE = 16  # a parse error this close to the window's end may just be an item cut by it


class _Number(str):
    """A JSON number (or NaN/Infinity) kept as its source text."""


_DECODER = json.JSONDecoder(parse_float=_Number, parse_int=_Number, parse_constant=_Number)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _dump(value)


def _dump(value: Any) -> str:
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        inner = ",".join(
            f"{json.dumps(k, ensure_ascii=False)}:{_dump(v)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    return "[" + ",".join(_dump(v) for v in value) + "]"


_KIND = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _kind(value: Any) -> str:
    if isinstance(value, _Number):
        return "a number"
    if value is None:
        return "null"
    return _KIND.get(type(value), type(value).__name__)


class JsonSource(Source):
    """A JSON array of objects (``format="json"``) or NDJSON (``format="ndjson"``)."""

    def __init__(
        self,
        path: str,
        *,
        format: str = "json",
        encoding: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__()
        self.name = self.path = path
        self.format = format
        self._limits = limits or Limits()
        self._size = os.path.getsize(path)
        self._codec, self._bom = resolve_encoding(path, encoding)
        self.encoding = self._codec
        keys: dict[str, None] = {}
        for _, record in self._records():
            for key in record:
                if key not in keys:
                    keys[key] = None
        self.columns = check_columns(list(keys), where_en="JSON keys", where_zh="JSON 键")
        check_header(self.columns, self._codec, encoding)

    @property
    def size_bytes(self) -> int:
        return self._size

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the objects as rows; a key an object lacks is null."""
        schema = self.schema
        position = {name: i for i, name in enumerate(self.columns)}
        limit = self._limits.batch_rows
        columns: list[list[str | None]] = [[] for _ in self.columns]
        filled = 0
        for _, record in self._records():
            for target in columns:
                target.append(None)
            for key, value in record.items():
                columns[position[key]][filled] = _cell(value)
            filled += 1
            if filled >= limit:
                yield string_batch(schema, columns)
                columns = [[] for _ in self.columns]
                filled = 0
        if filled:
            yield string_batch(schema, columns)

    # -- parsing -------------------------------------------------------------------------------

    def _open_text(self) -> IO[str]:
        codec = "utf-8-sig" if self._codec.startswith("utf-8") else self._codec
        return open(self.path, encoding=codec, errors="strict", newline="")

    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for index, line, value in self._values():
            if not isinstance(value, dict):
                raise DataplaneError(
                    "json_not_object",
                    f"Item {fmt_int(index)} (line {fmt_int(line)}) is {_kind(value)}, "
                    "not an object; every item must be an object of column values.",
                    f"第 {fmt_int(index)} 项（第 {fmt_int(line)} 行）是{_kind_zh(value)}而不是"
                    "对象；每一项都必须是由列值组成的对象。",
                    index=index,
                    line=line,
                )
            yield index, value

    def _values(self) -> Iterator[tuple[int, int, Any]]:
        """Yield ``(index, line, value)`` for each top-level item (index 0-based)."""
        with self._open_text() as f:
            reader = _TextWindow(f, self)
            in_array = self.format == "json"
            if in_array and not reader.expect("["):
                reader.fail("expected '[' at the start of a JSON array")
            index = 0
            while True:
                reader.skip_whitespace()
                if reader.at_end():
                    if in_array:
                        reader.truncated("the array is not closed with ']'")
                    return
                if in_array and reader.peek() == "]":
                    reader.advance(1)
                    reader.skip_whitespace()
                    if not reader.at_end():
                        reader.fail("unexpected data after the end of the array")
                    return
                if in_array and index > 0:
                    if not reader.expect(","):
                        reader.fail("expected ',' or ']' between items")
                    reader.skip_whitespace()
                line = reader.line()
                yield index, line, reader.decode(index)
                index += 1


def _kind_zh(value: Any) -> str:
    if isinstance(value, _Number):
        return "数字"
    if isinstance(value, list):
        return "数组"
    if isinstance(value, str):
        return "字符串"
    if isinstance(value, bool):
        return "布尔值"
    return "null"


class _TextWindow:
    """A sliding window over a text file: refills on demand and tracks line numbers."""

    def __init__(self, f: IO[str], source: JsonSource) -> None:
        self._f = f
        self._source = source
        self._buf = ""
        self._pos = 0
        self._line = 1  # line number at self._pos
        self._eof = False
        self._consumed_bytes = 0

    def _read(self, size: int) -> bool:
        try:
            chunk = self._f.read(size)
        except UnicodeDecodeError as exc:
            raise self._decode_failure(exc) from None
        if not chunk:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        self._source._bytes_read = self._f.buffer.tell()  # type: ignore[attr-defined]
        return True

    def _decode_failure(self, exc: UnicodeDecodeError) -> DataplaneError:
        # The text layer hides the byte offset; find it with a byte-level scan.
        from .encoding import locate_decode_error

        located = locate_decode_error(self._source.path, self._source._codec, self._source._bom)
        return located or decode_error(self._source._codec, 0, self._line, b"")

    def _ensure(self, count: int = 1) -> bool:
        while len(self._buf) - self._pos < count and not self._eof:
            self._read(_CHUNK)
        return len(self._buf) - self._pos >= count

    def at_end(self) -> bool:
        return not self._ensure(1)

    def peek(self) -> str:
        return self._buf[self._pos]

    def advance(self, n: int) -> None:
        self._line += self._buf.count("\n", self._pos, self._pos + n)
        self._pos += n

    def line(self) -> int:
        return self._line

    def skip_whitespace(self) -> None:
        while self._ensure(1):
            end = _WHITESPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if end == self._pos:
                return
            self.advance(end - self._pos)

    def expect(self, char: str) -> bool:
        self.skip_whitespace()
        if self._ensure(1) and self.peek() == char:
            self.advance(1)
            return True
        return False

    def decode(self, index: int) -> Any:
        limit = self._source._limits.max_line_bytes
        want = _CHUNK
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self._buf) - _EDGE or exc.msg.startswith("Unterminated")
                if cut and not self._eof:
                    if len(self._buf) - self._pos > limit:
                        raise line_too_long(self._line, None, limit, record=True) from None
                    want = min(want * 2, limit + 1)
                    self._read(want)  # the item may continue past the window
                    continue
                rest = self._buf[exc.pos :].strip()
                if exc.msg.startswith("Unterminated") or any(
                    word.startswith(rest) for word in ("true", "false", "null")
                ):
                    self.truncated(f"item {fmt_int(index)} is cut off ({exc.msg})")
                self.fail(exc.msg, at=exc.pos)
            if end == len(self._buf) and not self._eof and self._read(_CHUNK):
                continue  # a number at the window's edge may have more digits
            self.advance(end - self._pos)
            return value

    def _where(self, at: int | None) -> tuple[int, int]:
        at = self._pos if at is None else at
        line = self._line + self._buf.count("\n", self._pos, at)
        column = at - self._buf.rfind("\n", 0, at)
        return line, column

    def fail(self, reason: str, at: int | None = None) -> NoReturn:
        line, column = self._where(at)
        label = "NDJSON" if self._source.format == "ndjson" else "JSON"
        raise DataplaneError(
            "corrupt_file",
            f"Invalid {label} at line {fmt_int(line)}, column {fmt_int(column)}: {reason}.",
            f"{label} 格式错误，位于第 {fmt_int(line)} 行第 {fmt_int(column)} 列：{reason}。",
            line=line,
            column=column,
            reason=reason,
        )

    def truncated(self, reason: str) -> NoReturn:
        line, _ = self._where(None)
        raise DataplaneError(
            "truncated_file",
            f"The file ends early near line {fmt_int(line)}: {reason}; it looks cut off.",
            f"文件在第 {fmt_int(line)} 行附近提前结束：{reason}；文件似乎被截断。",
            line=line,
            reason=reason,
        )
