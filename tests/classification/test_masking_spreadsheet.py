"""``export_masked(…, spreadsheet=True)``: a CSV for Excel or WPS with no cell a spreadsheet
would evaluate — column names and labels, plain and masked text — and numbers untouched."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from yaosu.classification import masking

KEY = b"k" * 32


def _version(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    table = pa.table(
        {
            "=x": pa.array(["=1+1", "ok", "-5", None]),
            "n": pa.array([-7, 0, 3, -1], pa.int64()),
            "f": pa.array([-1.5, 2.0, -0.25, 1e20], pa.float64()),
            "phone": pa.array(["+8613800138000", "13800138000", "@a", "-2+3"]),
        }
    )
    path = tmp_path / "v.parquet"
    pq.write_table(table, path)
    return path, masking.columns_of(table.schema)


def _read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))


def test_spreadsheet_csv_quotes_formula_led_text_and_names_only(tmp_path: Path) -> None:
    src, columns = _version(tmp_path)
    policy = masking.parse_policy(
        {"name": "p", "rules": {"phone": {"op": "mask", "keep_first": 1}}}
    )
    plain, safe = tmp_path / "plain.csv", tmp_path / "safe.csv"
    masking.export_masked(src, plain, policy, columns, KEY, fmt="csv")
    done = masking.export_masked(
        src, safe, policy, columns, KEY, fmt="csv", spreadsheet=True, headers={"n": "@数量"}
    )
    rows = _read(safe)
    assert rows[0] == ["'=x", "'@数量", "f", "phone"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "ok", "-5", ""]
    # Numbers are written exactly as in the plain CSV, negatives included.
    assert [r[1:3] for r in rows[1:]] == [r[1:3] for r in _read(plain)[1:]]
    # Masked text keeps its first character: a leading + or - is quoted after masking too.
    assert [r[3][:2] for r in rows[1:]] == ["'+", "1*", "'@", "'-"]
    assert _read(plain)[1][0] == "=1+1" and _read(plain)[0][0] == "=x"  # for programs: as is
    assert done.rows == 4
