"""CSV and TSV through Arrow's C++ streaming reader, every column forced to string.

The header is the first row Arrow parses (so it is split by exactly the same rules as the
data); Python's csv module only counts its fields up front. Errors that Arrow reports without a
usable position (a ragged row — Arrow counts records, people count lines —, a record longer
than a block, a quoted field cut off at the end) are located afterwards by a second,
pure-Python scan. That scan runs only on the error path, so good files pay nothing for it.

Memory stays bounded whatever the file size: Arrow's background reader is held to three blocks
ahead of the consumer, and a line or quoted record longer than ``Limits.max_line_bytes`` is
rejected as soon as the raw stream shows it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from yaosu.kit.wording import fill

from .encoding import (
    Utf8Stream,
    check_header,
    decode_error,
    line_too_long,
    locate_decode_error,
    resolve_encoding,
)
from .errors import DataplaneError, fmt_int
from .source import Limits, Source, check_columns

__all__ = ["CsvSource"]

T = TypeVar("T")
_HEAD_BYTES = 64 << 10
_READAHEAD_BLOCKS = 3

_DELIMITERS = (",", "\t", ";", "|")
_QUOTE = '"'


class CsvSource(Source):
    """A delimited text file (CSV, TSV or sniffed ``.txt``) in UTF-8, GB18030/GBK or another
    ASCII-compatible encoding."""

    def __init__(
        self,
        path: str,
        *,
        format: str | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__()
        self.name = self.path = path
        self._limits = limits or Limits()
        self._size = os.path.getsize(path)
        self._codec, self._bom = resolve_encoding(path, encoding)
        self.encoding = self._codec
        head, at_eof = self._read_head(_HEAD_BYTES)
        if "\n" not in head and not at_eof:
            head, at_eof = self._read_head(self._limits.max_line_bytes + _HEAD_BYTES)
        if not head.strip() and at_eof:
            raise DataplaneError(
                "empty_file",
                f"The file {os.path.basename(path)} is empty: it has no header line.",
                f"文件 {os.path.basename(path)} 为空：没有表头行。",
            )
        first_line = head.split("\n", 1)[0]
        if "\n" not in head and not at_eof:
            raise line_too_long(1, None, self._limits.max_line_bytes)
        if delimiter is None:
            delimiter = "\t" if format == "tsv" else _sniff(first_line)
        self.delimiter = delimiter
        self.format = "tsv" if delimiter == "\t" else "csv"
        self._width = _count_fields(head, delimiter, self._limits.max_line_bytes)
        header = self._header_from_head(head, at_eof)
        if header is None:
            header = self._probe_header()
        self.columns = check_columns(header, where_en="Header line 1", where_zh="表头（第 1 行）")
        check_header(self.columns, self._codec, encoding)

    @property
    def size_bytes(self) -> int:
        return self._size

    # -- opening -----------------------------------------------------------------------------

    def _read_head(self, limit: int) -> tuple[str, bool]:
        with open(self.path, "rb") as f:
            f.seek(self._bom)
            raw = f.read(limit)
        at_eof = self._bom + len(raw) >= self._size
        codec = "utf-8" if self._codec.startswith("utf-8") else self._codec
        try:
            text = codecs.getincrementaldecoder(codec)("strict").decode(raw, at_eof)
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise decode_error(
                self._codec, self._bom + exc.start, line, exc.object[exc.start : exc.end]
            ) from None
        return text, at_eof

    def _stream(self) -> Utf8Stream:
        return Utf8Stream(
            self.path,
            self._codec,
            skip=self._bom,
            max_line=self._limits.max_line_bytes,
            quote=_QUOTE.encode(),
            delimiter=self.delimiter.encode(),
        )

    def _reader(self, stream: Any, block_size: int | None = None) -> pacsv.CSVStreamingReader:
        return pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=block_size or max(self._limits.max_line_bytes, self._limits.block_bytes),
                autogenerate_column_names=True,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter,
                quote_char=_QUOTE,
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(self._width)},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
                # Transcoded input is valid UTF-8 by construction; only raw UTF-8 needs checking.
                check_utf8=self._codec.startswith("utf-8"),
            ),
        )

    def _header_from_head(self, head: str, at_eof: bool) -> list[str | None] | None:
        """The header as Arrow parses it, from the head already in memory (None: undecided)."""
        complete = head if at_eof else head[: head.rfind("\n") + 1]
        data = complete.encode("utf-8")
        try:
            batch = self._reader(io.BytesIO(data), len(data) + 1).read_next_batch()
        except (pa.ArrowException, StopIteration):
            return None  # let the full read report it, with its location
        if batch.num_columns != self._width:
            return None
        return [batch.column(i)[0].as_py() for i in range(batch.num_columns)]

    def _probe_header(self) -> list[str | None]:
        stream = self._stream()
        try:
            reader = self._guard(lambda: self._reader(stream), stream)
            batch = self._guard(reader.read_next_batch, stream)
        except StopIteration:
            return []
        finally:
            stream.close()
        return [batch.column(i)[0].as_py() for i in range(batch.num_columns)]

    # -- reading -----------------------------------------------------------------------------

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream data rows (the header excluded) in batches of about one block each."""
        schema = self.schema
        stream = self._stream()
        block = max(self._limits.max_line_bytes, self._limits.block_bytes)
        stream.limit_readahead(_READAHEAD_BLOCKS * block)  # bounded memory, any input size
        self._bytes_read = 0
        try:
            reader = self._guard(lambda: self._reader(stream), stream)
            header_pending = True
            while True:
                try:
                    batch = self._guard(reader.read_next_batch, stream)
                except StopIteration:
                    break
                if header_pending:
                    batch = batch.slice(1)
                    header_pending = False
                self._bytes_read = stream.offset
                stream.release(block)  # about one block of input per batch
                if batch.num_rows:
                    yield pa.RecordBatch.from_arrays(_as_strings(batch), schema=schema)
            quotes_odd = stream.quotes % 2 == 1
        finally:
            stream.close()
        if quotes_odd:
            # Arrow accepts a quoted field left open at end of file; an odd number of quote
            # characters is the cheap hint, the scan tells a cut-off file from a stray quote.
            issue = self._rescan()
            if issue is not None and issue.code == "truncated_file":
                raise issue

    def _guard(self, step: Callable[[], T], stream: Utf8Stream) -> T:
        try:
            return step()
        except StopIteration:
            raise
        except DataplaneError:
            raise
        except Exception as exc:
            if stream.error is not None:
                raise stream.error from None
            raise self._explain(exc) from None

    def _explain(self, exc: Exception) -> DataplaneError:
        message = str(exc)
        if "straddl" in message:
            issue = self._rescan()
            return issue or line_too_long(None, None, self._limits.max_line_bytes)
        if "columns, got" in message:
            issue = self._rescan()
            if issue is not None:
                return issue
        if "invalid UTF8" in message:
            located = locate_decode_error(self.path, "utf-8", self._bom)
            if located is not None:
                return located
        reason = message.removeprefix("CSV parse error: ")
        return DataplaneError(
            "corrupt_file",
            f"The {self.format.upper()} file could not be parsed: {reason}",
            f"无法解析该 {self.format.upper()} 文件：{reason}",
            reason=reason,
        )

    def _rescan(self) -> DataplaneError | None:
        """Find the first ragged row, over-long record or quoted field open at end of file."""
        limit = self._limits.max_line_bytes
        codec = "utf-8-sig" if self._codec.startswith("utf-8") else self._codec
        try:
            with (
                open(self.path, encoding=codec, newline="", errors="strict") as f,
                _field_size_limit(limit),
            ):
                reader = csv.reader(f, delimiter=self.delimiter, quotechar=_QUOTE, strict=True)
                header_seen = False
                while True:
                    start = reader.line_num + 1
                    try:
                        record = next(reader)
                    except StopIteration:
                        return None
                    except csv.Error as exc:
                        text = str(exc)
                        if "field larger than field limit" in text:
                            return line_too_long(start, None, limit)
                        if "unexpected end of data" in text:
                            return _truncated(start)
                        continue  # a quirk Arrow tolerates (text after a closing quote)
                    if not record:
                        continue
                    if sum(map(len, record)) + len(record) > limit:
                        return line_too_long(start, None, limit)
                    if not header_seen:
                        header_seen = True
                        continue
                    if len(record) != self._width:
                        return _ragged(start, len(record), self._width)
        except UnicodeDecodeError:
            return locate_decode_error(self.path, self._codec, self._bom)


def _as_strings(batch: pa.RecordBatch) -> list[pa.Array]:
    # Columns beyond the counted header width would be type-inferred by Arrow; undo that.
    return [col if col.type == pa.string() else col.cast(pa.string()) for col in batch.columns]


def _sniff(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier, more common one
    return best if counts[best] else ","


def _count_fields(head: str, delimiter: str, limit: int) -> int:
    with _field_size_limit(limit):
        reader = csv.reader(io.StringIO(head), delimiter=delimiter, quotechar=_QUOTE)
        try:
            for record in reader:
                if record:
                    return len(record)
        except csv.Error:
            raise line_too_long(1, None, limit) from None
    return 0


@contextlib.contextmanager
def _field_size_limit(limit: int) -> Iterator[None]:
    # csv.field_size_limit is process-wide; restore it so other users are unaffected.
    previous = csv.field_size_limit(min(limit, sys.maxsize))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _ragged(line: int, got: int, expected: int) -> DataplaneError:
    return DataplaneError(
        "ragged_row",
        fill(
            "Line {line} has {got} {got|field|fields}, the header has {expected}.",
            line=fmt_int(line),
            got=fmt_int(got),
            expected=fmt_int(expected),
        ),
        f"第 {fmt_int(line)} 行有 {fmt_int(got)} 个字段，表头有 {fmt_int(expected)} 个。",
        line=line,
        fields=got,
        expected=expected,
    )


def _truncated(line: int) -> DataplaneError:
    return DataplaneError(
        "truncated_file",
        f"The file ends inside a quoted field that starts on line {fmt_int(line)}; "
        "it looks cut off.",
        f"文件在第 {fmt_int(line)} 行开始的带引号字段中途结束，文件似乎被截断。",
        line=line,
    )
