"""Fixture builders for data-plane tests: every input file is generated here, never checked in."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from yaosu.dataplane.storage import Storage

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "𠀀明", "欧阳娜娜", "赵磊"]
ADDRESSES = ["北京市朝阳区人民路1号", "上海市浦东新区中山路88号", "广东省深圳市南山区科技园路7号"]


def csv_text(rows: Sequence[Sequence[Any]], delimiter: str = ",") -> str:
    """Rows (the first is the header) as CSV text with ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def write_csv(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    delimiter: str = ",",
) -> Path:
    """Write rows as a delimited text file in the given encoding."""
    data = csv_text(rows, delimiter).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def people(n: int, *, start: int = 0) -> list[list[Any]]:
    """A header and ``n`` rows with Chinese names, resident-ID-like strings, codes with leading
    zeros, integers, floats, dates and booleans."""
    rows: list[list[Any]] = [
        ["编号", "姓名", "身份证号", "邮编", "年龄", "收入", "出生日期", "登记时间", "有效", "地址"]
    ]
    for i in range(start, start + n):
        rows.append(
            [
                i + 1,
                NAMES[i % len(NAMES)],
                f"{110101 + i % 900:06d}19{i % 90 + 10:02d}0{i % 9 + 1}1{i % 10}{i % 1000:03d}"
                + ("X" if i % 7 == 3 else str(i % 10)),
                f"{i % 1000:06d}",
                20 + i % 60,
                f"{i * 1.25:.2f}",
                f"19{i % 90 + 10:02d}-0{i % 9 + 1}-{i % 28 + 1:02d}",
                f"2024-01-{i % 28 + 1:02d} {i % 24:02d}:{i % 60:02d}:00",
                "是" if i % 3 else "否",
                ADDRESSES[i % len(ADDRESSES)],
            ]
        )
    return rows


def write_parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def write_json(path: Path, items: Any, *, ndjson: bool = False, encoding: str = "utf-8") -> Path:
    if ndjson:
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    else:
        text = json.dumps(items, ensure_ascii=False, indent=1)
    path.write_bytes(text.encode(encoding))
    return path


def stored_files(storage: Storage) -> dict[str, list[str]]:
    """Files under versions/ and staging/ of a local storage (relative paths)."""
    out: dict[str, list[str]] = {}
    for area in ("versions", "staging"):
        base = os.path.join(storage.root, area)
        out[area] = sorted(
            os.path.relpath(os.path.join(d, f), base)
            for d, _, files in os.walk(base)
            for f in files
        )
    return out


def assert_nothing_stored(storage: Storage) -> None:
    """No version was committed and no staging file was left behind."""
    assert stored_files(storage) == {"versions": [], "staging": []}
