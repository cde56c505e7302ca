"""The formula rule for spreadsheet files: Python and the DuckDB expression agree, and what it
neutralises or leaves."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yaosu.kit import spreadsheet

LED = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "\tabc",
    "\rabc",
    "＝1+1",
    "＋1",
    "－2",
    "＠A1",
    " =1+1",
    "\u3000=1",
    "\n=1",
    "-",
    "-5 ",
    "-1e5",
]
NOT_LED = ["", "abc", "民政局", "1-2", "-5", "+3.20", "'=1+1", "a=b", "\nabc", "5-"]


@pytest.mark.parametrize("value", LED)
def test_formula_led_values_get_a_quote(value: str) -> None:
    assert spreadsheet.formula_led(value)
    assert spreadsheet.neutralise(value) == "'" + value
    assert spreadsheet.neutralise(spreadsheet.neutralise(value)) == "'" + value  # idempotent


@pytest.mark.parametrize("value", NOT_LED)
def test_other_values_are_left(value: str) -> None:
    assert not spreadsheet.formula_led(value)
    assert spreadsheet.neutralise(value) == value


def test_only_text_is_touched() -> None:
    assert spreadsheet.neutralise_cell(-5) == -5
    assert spreadsheet.neutralise_cell(None) is None
    assert spreadsheet.neutralise_cell("=1") == "'=1"


_con = duckdb.connect()
_SQL = f"SELECT {spreadsheet.neutralise_sql('x')} FROM (SELECT CAST(? AS VARCHAR) AS x)"


def _in_duckdb(value: str | None) -> str | None:
    row = _con.execute(_SQL, [value]).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t\r\n\u3000\u00a0=+-@＝＋－＠'.0123456789aA中", max_size=6))
def test_duckdb_expression_is_the_same_rule(value: str) -> None:
    assert _in_duckdb(value) == spreadsheet.neutralise(value)


def test_duckdb_expression_keeps_null() -> None:
    assert _in_duckdb(None) is None


def test_xlsx_rows_hold_string_cells_never_formulas() -> None:
    from openpyxl import Workbook

    sheet = Workbook(write_only=True).create_sheet("t")
    row = spreadsheet.xlsx_row(sheet, ["=1+1", "abc", -3, None])
    assert row[0].data_type == "s" and row[0].value == "=1+1" and row[0].quotePrefix
    assert row[1].data_type == "s" and not row[1].quotePrefix
    assert row[2:] == [-3, None]
