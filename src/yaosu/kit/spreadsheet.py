"""Cells that a spreadsheet would read as formulas (CSV injection 公式注入, OWASP), neutralised.

Excel and WPS evaluate a cell of a CSV file whose text starts with ``=``, ``+``, ``-`` or ``@``
(``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0`` as DDE), and tab or carriage return lead into the
same. The rule used for every file Yaosu writes for people to open in a spreadsheet:

* A text value is **formula-led** when it starts with a tab or carriage return, or when, after
  leading white space (space, tab, CR, LF, vertical tab, form feed, no-break space, ideographic
  space 全角空格), its first character is ``= + - @`` or a full-width ``＝ ＋ － ＠`` (an input
  method or WPS may turn those into the ASCII signs).
* Except a plain signed decimal number, the whole value ``[+-]digits[.digits]`` (``-5``,
  ``+3.20``): a spreadsheet reads it as that number and nothing runs; it is left as it is so a
  text column of signed amounts still adds up.
* In a CSV a formula-led value is written with a single quote ``'`` in front (``'=1+1``); the
  quote shows, the rest is the value unchanged. The rule is idempotent: a neutralised value
  starts with ``'`` and is not formula-led again.
* In an XLSX a text value is always stored as a string cell (``t="inlineStr"``), never a
  formula; formula-led ones also get the quote-prefix style, so editing the cell keeps it text.

Numbers, dates and booleans are not text and are never altered. ``neutralise_sql`` is the same
rule as a DuckDB expression (for files DuckDB writes), ``neutralise`` as Python.
"""

from __future__ import annotations

import re
from typing import Any

LEADS = "=+-@\uff1d\uff0b\uff0d\uff20"  # = + - @ and their full-width forms ＝＋－＠
"""First characters (after leading white space) that make a text cell a formula."""
CONTROL_LEADS = "\t\r"
"""Characters that make a cell formula-led when they come first, whatever follows."""
SPACES = " \t\n\r\x0b\x0c\u00a0\u3000"
"""White space skipped before looking at the first character."""
QUOTE = "'"

_NUMBER = re.compile(r"[+-][0-9]+(?:\.[0-9]+)?")


def formula_led(value: str) -> bool:
    """Whether a spreadsheet could evaluate ``value`` as a formula (the rule above)."""
    if not value:
        return False
    if value[0] in CONTROL_LEADS:
        return True
    rest = value.lstrip(SPACES)
    return bool(rest) and rest[0] in LEADS and _NUMBER.fullmatch(value) is None


def neutralise(value: str) -> str:
    """``value`` as a CSV cell for a spreadsheet: a quote in front when it is formula-led."""
    return QUOTE + value if formula_led(value) else value


def neutralise_cell(value: Any) -> Any:
    """``neutralise`` for text; anything else (numbers, dates, None) as it is."""
    return neutralise(value) if isinstance(value, str) else value


def _re2_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" for c in chars)


_LED_RE2 = f"^(?:[{_re2_class(CONTROL_LEADS)}]|[{_re2_class(SPACES)}]*[{_re2_class(LEADS)}])"
_NUMBER_RE2 = r"^[+-][0-9]+(?:[.][0-9]+)?$"


def neutralise_sql(expr: str) -> str:
    """The rule as a DuckDB (RE2) expression over the VARCHAR ``expr``; NULL stays NULL. ``expr``
    appears three times: give a column reference, not an expression with parameters."""
    return (
        f"CASE WHEN regexp_matches({expr}, '{_LED_RE2}') "
        f"AND NOT regexp_matches({expr}, '{_NUMBER_RE2}') "
        f"THEN '{QUOTE * 2}' || {expr} ELSE {expr} END"
    )


def xlsx_row(sheet: Any, values: list[Any]) -> list[Any]:
    """A row for an openpyxl write-only ``sheet``: every text value an explicit string cell
    (``data_type`` ``'s'``, never a formula), formula-led ones with the quote-prefix style;
    other values as they are."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if not isinstance(value, str):
            row.append(value)
            continue
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        if formula_led(value):
            cell.quotePrefix = True
        row.append(cell)
    return row
