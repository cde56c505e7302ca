"""Excel workbooks (.xlsx) through python-calamine, after a zip-bomb check.

An .xlsx file is a zip archive; its central directory states every member's compressed and
uncompressed size, so a bomb is rejected before a single byte is inflated. Calamine then reads
the chosen sheet whole (it has no streaming mode), which the uncompressed-size cap bounds.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import python_calamine

from .errors import DataplaneError, fmt_int
from .source import Limits, Source, check_columns, string_batch, to_text

__all__ = ["ExcelSource", "check_zip"]

_MEMBER_FLOOR = 1 << 20  # small members may compress extremely well without harm


def check_zip(path: str, limits: Limits) -> None:
    """Reject a corrupt archive, or one that would inflate beyond the limits (``zip_bomb``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _corrupt(path, f"not a valid zip archive ({exc})") from None
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _MEMBER_FLOOR and ratio > limits.max_xlsx_ratio:
            raise DataplaneError(
                "zip_bomb",
                f"Archive member {member.filename!r} would inflate {ratio:,.0f}-fold "
                f"(to {fmt_int(member.file_size)} bytes); the limit is "
                f"{limits.max_xlsx_ratio:,.0f}-fold.",
                f"压缩包成员 {member.filename!r} 解压后将膨胀 {ratio:,.0f} 倍"
                f"（{fmt_int(member.file_size)} 字节），上限为 {limits.max_xlsx_ratio:,.0f} 倍。",
                member=member.filename,
                ratio=round(ratio, 1),
            )
    if total > limits.max_xlsx_uncompressed:
        raise DataplaneError(
            "zip_bomb",
            f"The workbook would inflate to {fmt_int(total)} bytes; the limit is "
            f"{fmt_int(limits.max_xlsx_uncompressed)} bytes.",
            f"该工作簿解压后为 {fmt_int(total)} 字节，超过 "
            f"{fmt_int(limits.max_xlsx_uncompressed)} 字节的上限。",
            uncompressed_bytes=total,
            limit=limits.max_xlsx_uncompressed,
        )


def _corrupt(path: str, reason: str) -> DataplaneError:
    name = os.path.basename(path)
    return DataplaneError(
        "corrupt_file",
        f"The Excel file {name} could not be read: {reason}",
        f"无法读取 Excel 文件 {name}：{reason}",
        reason=reason,
    )


class ExcelSource(Source):
    """One sheet of an .xlsx workbook; its first row is the header."""

    format = "xlsx"
    encoding = None

    def __init__(
        self, path: str, *, sheet: str | int | None = None, limits: Limits | None = None
    ) -> None:
        super().__init__()
        self.name = self.path = path
        self._limits = limits or Limits()
        self._size = os.path.getsize(path)
        check_zip(path, self._limits)
        try:
            workbook = python_calamine.CalamineWorkbook.from_path(path)
        except Exception as exc:  # calamine raises several unrelated types
            raise _corrupt(path, str(exc) or type(exc).__name__) from None
        try:
            self.sheet_name = _pick_sheet(list(workbook.sheet_names), sheet)
            self._sheet = workbook.get_sheet_by_name(self.sheet_name)  # the sheet, in memory
        except DataplaneError:
            raise
        except Exception as exc:
            raise _corrupt(path, str(exc) or type(exc).__name__) from None
        finally:
            workbook.close()
        self._first_col = (self._sheet.start or (0, 0))[1]
        header: list[Any] | None = None
        self._skip = 0
        for header in self._sheet.iter_rows():
            self._skip += 1
            if any(to_text(v) for v in header):
                break  # rows above the used range come back empty
        else:
            header = None
        if header is None:
            raise DataplaneError(
                "empty_file",
                f"Sheet {self.sheet_name!r} is empty: it has no header row.",
                f"工作表 {self.sheet_name!r} 为空：没有表头行。",
                sheet=self.sheet_name,
            )
        self._header_row = self._skip
        where = f"Sheet {self.sheet_name!r}, header row {self._header_row}"
        where_zh = f"工作表 {self.sheet_name!r} 表头（第 {self._header_row} 行）"
        self.columns = check_columns(
            [to_text(v) for v in header],
            where_en=where,
            where_zh=where_zh,
            letters=True,
            offset=self._first_col,
            sheet=self.sheet_name,
        )

    @property
    def size_bytes(self) -> int:
        return self._size

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the data rows (below the header) in batches of ``Limits.batch_rows``."""
        schema = self.schema
        width = len(self.columns)
        height = max(self._sheet.height - 1, 1)
        limit = self._limits.batch_rows
        columns: list[list[str | None]] = [[] for _ in range(width)]
        done = 0
        rows = self._sheet.iter_rows()
        for _ in range(self._skip):
            next(rows, None)  # empty rows above, and the header
        for row in rows:
            cells = [to_text(v) for v in list(row)[:width]]
            if not any(cells):
                continue  # blank rows are skipped, as blank lines are in CSV
            cells += [None] * (width - len(cells))
            for target, value in zip(columns, cells, strict=True):
                target.append(value)
            if len(columns[0]) >= limit:
                done += len(columns[0])
                self._bytes_read = self._size * done // height
                yield string_batch(schema, columns)
                columns = [[] for _ in range(width)]
        if columns[0]:
            yield string_batch(schema, columns)
        self._bytes_read = self._size


def _pick_sheet(names: list[str], sheet: str | int | None) -> str:
    if not names:
        raise DataplaneError("empty_file", "The workbook has no sheets.", "该工作簿没有工作表。")
    if sheet is None:
        return names[0]
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return names[sheet]
    if isinstance(sheet, str) and sheet in names:
        return sheet
    listed = ", ".join(repr(n) for n in names)
    raise DataplaneError(
        "sheet_not_found",
        f"The workbook has no sheet {sheet!r}; its sheets are {listed}.",
        f"该工作簿中没有工作表 {sheet!r}；现有工作表为 {listed}。",
        sheet=sheet,
        sheets=names,
    )
