"""Streaming column type inference over string batches, vectorised with Arrow compute.

Each column keeps the candidate types still consistent with every non-null value seen so far.
Candidates only ever drop out, so inference never fails halfway: a column that stops fitting
any candidate is text. The types form three chains, narrowest first, where a value that fits a
narrower type also fits the wider ones:

    boolean            true/True/TRUE, false/False/FALSE, 是, 否 — never 0/1 (integers)
    integer → float    integer: -?[1-9][0-9]{0,14} or 0; float adds a fraction and exponent
    date → datetime    YYYY-MM-DD or YYYY/MM/DD (month/day may be 1 digit, year ≥ 1000),
                       valid on the calendar; datetime adds [ T]HH[:MM[:SS[.ffffff]]] (no
                       time zone)

Conservative on purpose: a leading zero (``0001``) or more than 15 digits (18-digit resident
IDs, bank cards — spreadsheets and JavaScript lose digits beyond 15) keeps a column as text, as
do thousands separators, ``+5``, ``.5``, ``NaN``, eight-digit ``YYYYMMDD`` and time zones.
When a column is widened or falls back to text, ``reason`` names the first offending row
(1-based data row) and value.

Identifiers are text even when every value is a plain integer (``identifier_reason``): a
column whose name names an identifier (手机号, 邮编, sfzh, phone, zip…), or whose values are
mostly of one width of at least 6 digits or mobile-shaped (``13077777868``, postal codes, the
15-digit resident ID), stays text so that clients get ``"13077777868"``, not a number. A name
that names a quantity (金额, 人数, amount, count…) keeps such a column an integer.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from .errors import fmt_int, quote_value

__all__ = ["ColumnInfo", "ColumnType", "TypeInferrer", "arrow_type", "cast_column"]


class ColumnType(enum.StrEnum):
    """The types a column can be stored as."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    FLOAT = "float"
    DATE = "date"
    DATETIME = "datetime"
    TEXT = "text"


_ARROW = {
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.DATE: pa.date32(),
    ColumnType.DATETIME: pa.timestamp("us"),
    ColumnType.TEXT: pa.string(),
}


def arrow_type(kind: ColumnType) -> pa.DataType:
    """The Arrow (and Parquet) type a column of this kind is stored as."""
    return _ARROW[kind]


@dataclass(frozen=True)
class ColumnInfo:
    """A column of a dataset version: name, stored type, whether it has nulls, and why it is
    wider than it first looked (``None`` when nothing needs explaining)."""

    name: str
    type: ColumnType
    nullable: bool
    reason: str | None = None


# -- checks: the index of the first non-null value that does not fit, or -1 ---------------------

_TRUE = pa.array(["true", "True", "TRUE", "是"])
_BOOLEANS = pa.array(["true", "True", "TRUE", "false", "False", "FALSE", "是", "否"])
_NEGATIVE_INT = r"^-[1-9][0-9]{0,14}$"
_FLOAT = r"^-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?$"
_BIG_EXPONENT = r"[eE][+-]?[0-9]{3}$"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_DATE_BODY = rf"[1-9][0-9]{{3}}(?:-{_MONTH}-{_DAY}|/{_MONTH}/{_DAY})"
_TIME = r"(?:[01]?[0-9]|2[0-3])(?::[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?)?"
_DATE = f"^{_DATE_BODY}$"
_DATETIME = f"^{_DATE_BODY}(?:[ T]{_TIME})?$"
_PADDED_LENGTHS = (10, 13, 16, 19, 21, 22, 23, 24, 25, 26)  # date, +HH, :MM, :SS, .f-.ffffff
_NULL_TEXT = pa.scalar(None, pa.string())


def _first_false(mask: pa.Array) -> int:
    """Index of the first false in a mask (nulls count as true), or -1."""
    if pc.all(mask).as_py() is not False:  # nulls are skipped
        return -1
    return int(pc.index(pc.fill_null(mask, True), False).as_py())


# Each check returns the index of the first non-null value that does not fit (or -1), and the
# parsed column when it had to parse anyway and everything fit (the writer then reuses it).
_Check = tuple[int, pa.Array | None]
Parsed = tuple["ColumnType", pa.Array]


def _bad_boolean(col: pa.Array) -> _Check:
    return _first_false(pc.or_(pc.is_in(col, value_set=_BOOLEANS), pc.is_null(col))), None


def _bad_integer(col: pa.Array) -> _Check:
    digits = pc.ascii_is_decimal(col)
    length = pc.binary_length(col)
    if (
        pc.all(digits).as_py() is not False
        and (pc.max(length).as_py() or 0) <= 15
        and not pc.any(pc.and_(pc.starts_with(col, "0"), pc.greater(length, 1))).as_py()
    ):
        return -1, None  # the common case, settled without a regex
    plain = pc.and_(
        pc.and_(digits, pc.less_equal(length, 15)),
        pc.invert(pc.and_(pc.starts_with(col, "0"), pc.greater(length, 1))),
    )
    return _first_false(pc.or_(plain, pc.match_substring_regex(col, _NEGATIVE_INT))), None


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _may_contain(col: pa.Array, *needles: str) -> bool:
    """Whether some value of ``col`` may contain one of ``needles``, from one search of the
    column's bytes (memchr speed) instead of a search per value. Bytes behind nulls count too,
    so True may be a false alarm: callers then run the exact per-value test."""
    if len(col) == 0:
        return False
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        return True
    _, offsets, data = col.buffers()
    if data is None:
        return False
    ends = memoryview(offsets).cast("q" if pa.types.is_large_string(col.type) else "i")
    raw = memoryview(data)[ends[col.offset] : ends[col.offset + len(col)]].tobytes()
    return any(n.encode() in raw for n in needles)


def _contains(col: pa.Array, needle: str) -> bool:
    """Whether some non-null value of ``col`` contains ``needle``."""
    return _may_contain(col, needle) and _any(pc.match_substring(col, needle))


def _plain_decimals(col: pa.Array) -> pa.Array | None:
    """Parse a column of plain decimals (no exponent) without a regex, or return None.

    Arrow's parser also takes ``+1``, ``.5``, ``5.``, ``01.5``, ``inf`` and ``nan``; each of
    those is ruled out with a cheap whole-column test. Anything else goes to the regex.
    """
    if _contains(col, "e") or _contains(col, "E"):
        return None
    parsed = _cast_or_none(col, pa.float64())
    if parsed is None:
        return None
    # Without letters, only a number of over 15 integer digits (refused below) can be infinite.
    if _may_contain(col, "i", "I", "n", "N") and pc.all(pc.is_finite(parsed)).as_py() is False:
        return None
    if _may_contain(col, "+") and _any(pc.starts_with(col, "+")):
        return None
    if any(_any(pc.starts_with(col, p)) for p in (".", "-.")) or _any(pc.ends_with(col, ".")):
        return None
    negative = _may_contain(col, "-") and _any(pc.starts_with(col, "-"))
    body = pc.utf8_ltrim(col, characters="-") if negative else col
    length = pc.binary_length(body)
    zero = pc.starts_with(body, "0")
    if _any(zero) and _any(
        pc.and_(pc.and_(zero, pc.invert(pc.starts_with(body, "0."))), pc.greater(length, 1))
    ):
        return None  # a leading zero: 007, 00.5
    # More than 15 integer digits (no leading zeros) means a magnitude of at least 1e15. The
    # converse can fail only by rounding (999999999999999.99999), and None is always safe: the
    # caller then checks the grammar exactly.
    largest = pc.max(pc.abs(parsed)).as_py()
    if largest is not None and largest >= 1e15:
        return None
    return parsed


def _bad_float(col: pa.Array) -> _Check:
    parsed = _plain_decimals(col)
    if parsed is not None:
        return -1, parsed
    ok = pc.match_substring_regex(col, _FLOAT)
    if (_contains(col, "e") or _contains(col, "E")) and _any(
        pc.match_substring_regex(col, _BIG_EXPONENT)
    ):
        # 1e999 is well-formed but not a finite double.
        parsed = pc.cast(pc.if_else(ok, col, _NULL_TEXT), pa.float64())
        ok = pc.and_(ok, pc.fill_null(pc.is_finite(parsed), True))
    return _first_false(ok), None


def canonical_dates(col: pa.Array, *, force: bool = False) -> pa.Array:
    """Rewrite date(-time) strings to zero-padded ``YYYY-MM-DD[ HH…]`` for Arrow's parser.

    Unless ``force`` is set, a column whose values all have one length of a padded form is
    assumed padded already (the usual case); a cast then rejects any exception, and callers
    retry with ``force``.
    """
    if _contains(col, "/"):
        col = pc.replace_substring(col, "/", "-")
    if not force:
        lengths = pc.min_max(pc.binary_length(col)).as_py()
        if lengths["min"] == lengths["max"] and lengths["min"] in _PADDED_LENGTHS:
            return col
    col = pc.replace_substring_regex(col, r"^([0-9]{4})-([0-9])-", r"\1-0\2-")
    col = pc.replace_substring_regex(col, r"^([0-9]{4}-[0-9]{2})-([0-9])([^0-9]|$)", r"\1-0\2\3")
    return pc.replace_substring_regex(col, r"^([0-9-]{10})[ T]([0-9])(:|$)", r"\1 0\2\3")


def _parse_dates(col: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Parse canonicalised date(-time) strings, or None if any value does not parse."""
    parsed = _cast_or_none(canonical_dates(col), target)
    if parsed is None:
        parsed = _cast_or_none(canonical_dates(col, force=True), target)
    return parsed


def _cast_or_none(col: pa.Array, target: pa.DataType) -> pa.Array | None:
    try:
        return pc.cast(col, target)
    except pa.ArrowInvalid:
        return None


def _first_before_year_1000(parsed: pa.Array) -> int:
    lowest = pc.min(parsed)  # year 0 exists in Arrow, not in Python: stay in Arrow
    if not lowest.is_valid or pc.year(lowest).as_py() >= 1000:
        return -1
    early = pc.less(pc.year(parsed), 1000)
    return int(pc.index(pc.fill_null(early, False), True).as_py())


def _bad_date_like(col: pa.Array, pattern: str, target: pa.DataType) -> _Check:
    # Fast path: Arrow's ISO parser accepts exactly the padded forms and checks the calendar,
    # so one cast settles a whole batch. A failing cast is slow, hence the '/' test first.
    slashes = _contains(col, "/")
    parsed = None
    if not slashes:
        parsed = _cast_or_none(col, target)
    # Values spelled with both '/' and '-' are not dates; the slow path finds the first one.
    mixed = (
        slashes
        and _may_contain(col, "-")
        and _any(pc.and_(pc.match_substring(col, "/"), pc.match_substring(col, "-")))
    )
    if parsed is None and not mixed:
        parsed = _parse_dates(col, target)
    if parsed is not None:
        early = _first_before_year_1000(parsed)
        return early, parsed if early < 0 else None
    return _first_bad_date(col, pattern, target), None


def _first_bad_date(col: pa.Array, pattern: str, target: pa.DataType) -> int:
    # Slow path, for the batch that eliminates the type: find the first offending value.
    shape_bad = _first_false(pc.match_substring_regex(col, pattern))
    head = col if shape_bad < 0 else col.slice(0, shape_bad)
    if not len(head):
        return shape_bad
    canonical = canonical_dates(head, force=True)
    if _cast_or_none(canonical, target) is not None:
        return shape_bad
    # strptime rolls 2023-02-30 over to March; formatting back exposes that.
    day = pc.utf8_slice_codeunits(canonical, 0, 10)
    parsed = pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True)
    valid = pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), day), False)
    calendar_bad = _first_false(pc.or_(valid, pc.is_null(head)))
    return calendar_bad if calendar_bad >= 0 else shape_bad


def _bad_date(col: pa.Array) -> _Check:
    return _bad_date_like(col, _DATE, pa.date32())


def _bad_datetime(col: pa.Array) -> _Check:
    return _bad_date_like(col, _DATETIME, pa.timestamp("us"))


def first_bad(kind: ColumnType, col: pa.Array) -> int:
    """Index of the first non-null value of ``col`` that is not of ``kind``, or -1."""
    return _CHECKS[kind](col)[0]


_CHECKS: dict[ColumnType, Callable[[pa.Array], _Check]] = {
    ColumnType.BOOLEAN: _bad_boolean,
    ColumnType.INTEGER: _bad_integer,
    ColumnType.FLOAT: _bad_float,
    ColumnType.DATE: _bad_date,
    ColumnType.DATETIME: _bad_datetime,
}
_CHAINS = (
    (ColumnType.BOOLEAN,),
    (ColumnType.INTEGER, ColumnType.FLOAT),
    (ColumnType.DATE, ColumnType.DATETIME),
)
_ORDER = (
    ColumnType.BOOLEAN,
    ColumnType.INTEGER,
    ColumnType.FLOAT,
    ColumnType.DATE,
    ColumnType.DATETIME,
)
_NARROWER = {
    ColumnType.TEXT: _ORDER,
    ColumnType.FLOAT: (ColumnType.INTEGER,),
    ColumnType.DATETIME: (ColumnType.DATE,),
}


_ONE = {
    ColumnType.INTEGER: re.compile(r"0|-?[1-9][0-9]{0,14}"),
    ColumnType.FLOAT: re.compile(_FLOAT[1:-1]),
    ColumnType.DATE: re.compile(_DATE[1:-1]),
    ColumnType.DATETIME: re.compile(_DATETIME[1:-1]),
}
_YMD = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_BOOLEAN_SET = frozenset(_BOOLEANS.to_pylist())


def _fits_one(kind: ColumnType, value: str) -> bool:
    """A quick test of one value; ``False`` must imply the vectorised check rejects it too."""
    if kind is ColumnType.BOOLEAN:
        return value in _BOOLEAN_SET
    if not _ONE[kind].fullmatch(value):
        return False
    if kind is ColumnType.FLOAT:
        return math.isfinite(float(value))
    if kind in (ColumnType.DATE, ColumnType.DATETIME):
        parts = _YMD.match(value)
        assert parts is not None  # the pattern above guarantees the shape
        year, month, day = (int(p) for p in parts.groups())
        try:
            dt.date(year, month, day)
        except ValueError:
            return False
    return True


def _why_not(kind: ColumnType, value: str) -> tuple[str, bool]:
    """Explain why ``value`` is not of ``kind``; the flag marks explanations worth showing even
    for the very first value (they are not obvious from the value alone)."""
    shown = quote_value(value)
    if kind is ColumnType.INTEGER and re.fullmatch(r"-?[0-9]+", value):
        if len(value.lstrip("-")) > 15:
            return f"{shown} has more than 15 digits (an identifier, not a number)", True
        return f"{shown} has a leading zero (kept as text to preserve it)", True
    if kind in (ColumnType.DATE, ColumnType.DATETIME):
        pattern = _DATE if kind is ColumnType.DATE else _DATETIME
        if re.search(pattern, value):
            return f"{shown} is not a valid calendar date", True
    noun = {
        ColumnType.BOOLEAN: "a boolean (true/false/是/否)",
        ColumnType.INTEGER: "an integer",
        ColumnType.FLOAT: "a number",
        ColumnType.DATE: "a date (YYYY-MM-DD or YYYY/MM/DD)",
        ColumnType.DATETIME: "a date-time (YYYY-MM-DD HH:MM:SS)",
    }[kind]
    return f"{shown} is not {noun}", False


# -- identifiers that look like integers ----------------------------------------------------------
#
# A mobile number, a postal code or a 15-digit resident ID is a plain integer to the grammar, but
# a client must get "13077777868", not 13077777868 (a number invites arithmetic, loses nothing
# here but the type, and JSON clients then format it). The rule, decided over the whole column:
#   1. a name that names a quantity (金额, 人数, amount, count…) keeps the integer;
#   2. a name that names an identifier (手机号, 邮编, sfzh, phone, zip…) makes it text;
#   3. otherwise it is text when at least ID_SHARE of its values are identifier-shaped: of one
#      width of ID_WIDTH digits or more, or mobile-shaped (11 digits, 1[3-9]…), with at most
#      ID_NEIGHBOUR of the values one digit narrower. Quantities and row numbers run through
#      the widths; identifiers have one, and a few junk rows ("0", "1") do not turn an
#      identifier column back into numbers.
# The lists are deliberately small and local: the data plane imports no domain package (the
# classification's column-name hints live above it).

ID_SHARE = 0.9
ID_WIDTH = 6
ID_NEIGHBOUR = 0.01
_WIDTHS = 17  # an integer value has at most 15 digits and a sign

_QUANTITY_ZH = (
    "金额",
    "数量",
    "人数",
    "次数",
    "户数",
    "总数",
    "个数",
    "件数",
    "人口",
    "年龄",
    "年份",
    "面积",
    "合计",
    "总计",
    "小计",
    "余额",
    "收入",
    "支出",
    "工资",
    "价格",
    "单价",
    "费用",
    "得分",
    "分数",
    "时间戳",
    "时长",
    "产值",
    "税额",
)
_QUANTITY_ENDINGS = tuple("数量额费价率")  # 就诊人数, 销量, 话费, 增长率…
_QUANTITY_WORDS = frozenset(
    [
        "amount",
        "amt",
        "count",
        "cnt",
        "total",
        "sum",
        "qty",
        "quantity",
        "price",
        "cost",
        "fee",
        "fees",
        "salary",
        "income",
        "revenue",
        "balance",
        "population",
        "pop",
        "age",
        "year",
        "score",
        "area",
        "size",
        "length",
        "weight",
        "height",
        "value",
        "rate",
        "ratio",
        "percent",
        "pct",
        "timestamp",
        "ts",
        "epoch",
        "duration",
        "seconds",
        "ms",
        "bytes",
        # pinyin
        "je",
        "sl",
        "rs",
        "zs",
        "hj",
        "nl",
        "mj",
        "jg",
    ]
)
_IDENTIFIER_ZH = (
    "手机",
    "电话",
    "联系方式",
    "传真",
    "身份证",
    "公民身份",
    "证件",
    "号码",
    "卡号",
    "账号",
    "帐号",
    "账户",
    "帐户",
    "邮编",
    "邮政编码",
    "信用代码",
    "区划代码",
    "行政区划",
    "纳税人识别号",
    "税号",
    "护照",
    "通行证",
    "台胞证",
    "社保号",
    "医保号",
    "工号",
    "学号",
    "准考证",
    "微信",
)
_IDENTIFIER_WORDS = frozenset(
    [
        "phone",
        "telephone",
        "tel",
        "mobile",
        "cellphone",
        "cell",
        "fax",
        "zip",
        "zipcode",
        "postcode",
        "postal",
        "idcard",
        "passport",
        "card",
        "account",
        "acct",
        "iban",
        "uscc",
        "ssn",
        "qq",
        "wechat",
        "msisdn",
        "imei",
        "imsi",
        # pinyin abbreviations of government systems
        "sfz",
        "sfzh",
        "sfzhm",
        "gmsfhm",
        "zjhm",
        "zjh",
        "sjh",
        "sjhm",
        "lxdh",
        "dh",
        "dhhm",
        "yddh",
        "gddh",
        "yzbm",
        "yb",
        "yhkh",
        "yhzh",
        "kh",
        "tyshxydm",
        "shxydm",
        "xydm",
        "hzhm",
    ]
)


_INVISIBLE = dict.fromkeys([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD])


def _name_words(name: str) -> list[str]:
    """Lower-case words of a column name: snake_case, kebab-case, camelCase, spaces."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def name_kind(name: str) -> tuple[str, str] | None:
    """What a column's name says about integer-looking values: ``("quantity", word)``,
    ``("identifier", word)``, or None when it says neither."""
    if not isinstance(name, str):
        return None
    # ｐｈｏｎｅ, 手\u200b机 and 手 机 are the same header: fold width, drop invisible characters,
    # and match the Chinese words without whitespace.
    name = unicodedata.normalize("NFKC", name).translate(_INVISIBLE)
    lowered = name.lower()
    found = _name_words(name)
    lowered = re.sub(r"\s+", "", lowered)
    for needle in _QUANTITY_ZH:
        if needle in lowered:
            return "quantity", needle
    if lowered.endswith(_QUANTITY_ENDINGS):
        return "quantity", lowered[-1]
    for word in found:
        if word in _QUANTITY_WORDS:
            return "quantity", word
    for needle in _IDENTIFIER_ZH:
        if needle in lowered:
            return "identifier", needle
    for word in found:
        if word in _IDENTIFIER_WORDS:
            return "identifier", word
    if "id" in found and "card" in found:
        return "identifier", "id card"
    return None


@dataclass
class _Widths:
    """Widths of a column's integer values (while it may still be an integer column)."""

    counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(_WIDTHS, np.int64))
    mobiles: int = 0

    def add(self, col: pa.Array) -> None:
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = col.cast(pa.large_string())
        buffers = col.buffers()
        if buffers[2] is None:
            return
        width = np.int64 if pa.types.is_large_string(col.type) else np.int32
        offsets = np.frombuffer(buffers[1], dtype=width)[col.offset : col.offset + len(col) + 1]
        starts = offsets[:-1].astype(np.int64)
        lengths = np.diff(offsets.astype(np.int64))
        if col.null_count:  # a null slot's offsets may span bytes
            lengths[~col.is_valid().to_numpy(zero_copy_only=False)] = 0
        present = lengths > 0
        starts, lengths = starts[present], lengths[present]
        data = np.frombuffer(buffers[2], dtype=np.uint8)
        first = data[starts]
        # bucket 0: negative numbers, never identifiers
        widths = np.where(first == 0x2D, 0, np.minimum(lengths, _WIDTHS - 1))
        self.counts += np.bincount(widths, minlength=_WIDTHS)
        mobile = (lengths == 11) & (first == 0x31)
        if mobile.any():
            self.mobiles += int(np.count_nonzero(data[starts[mobile] + 1] >= 0x33))

    def identifier_share(self) -> tuple[float, int, int]:
        """(share of identifier-shaped values, the width that gives it, values counted):
        the values of one width of at least ``ID_WIDTH`` digits, plus mobile-shaped values of
        other widths, for the best width. A width counts only when values one digit narrower
        are rare (at most ``ID_NEIGHBOUR``): counts and row numbers run through every width
        (1…1,000,000 has 90% of 6 digits, and 9% of 5), fixed-width identifiers do not."""
        total = int(self.counts.sum())
        if total == 0:
            return 0.0, 0, 0
        shaped = self.counts[ID_WIDTH:] + self.mobiles
        shaped[11 - ID_WIDTH] -= self.mobiles  # mobiles are 11 digits wide already
        shaped[self.counts[ID_WIDTH - 1 : -1] > ID_NEIGHBOUR * total] = 0
        # Mobiles count for every width; on a tie, name the width the values really have.
        ties = np.flatnonzero(shaped == shaped.max())
        best = int(ties[np.argmax(self.counts[ID_WIDTH:][ties])])
        return int(shaped[best]) / total, best + ID_WIDTH, total


QUANTITY_OVERRULED_AT = 20
"""Values a quantity-named column needs, nearly all mobile-shaped, to be kept as text."""


def identifier_reason(said: tuple[str, str] | None, widths: _Widths) -> str | None:
    """Why an all-integer column is kept as text (an identifier), or None to keep it integer;
    ``said`` is ``name_kind`` of its name."""
    if said is not None and said[0] == "quantity":
        # A name is a hint, a column of mobile numbers is a fact (`tel_count` full of them); a
        # few large amounts can look like mobiles, so it takes a real column of them.
        total = int(widths.counts.sum())
        if total < QUANTITY_OVERRULED_AT or widths.mobiles < ID_SHARE * total:
            return None
        return (
            f"{widths.mobiles / total:.0%} of {fmt_int(total)} values are mobile numbers, "
            f"whatever the name ({said[1]}) says: kept as text so they stay digits"
        )
    if said is not None:
        return f"the column name ({said[1]}) names an identifier: kept as text so it stays digits"
    share, modal, total = widths.identifier_share()
    if total and share >= ID_SHARE:
        return (
            f"{share:.0%} of {fmt_int(total)} values look like identifiers (one width of "
            f"{modal} digits, or mobile numbers): kept as text so they stay digits"
        )
    return None


@dataclass
class _Dropped:
    row: int
    message: str
    informative: bool


@dataclass
class _Column:
    name: str
    alive: set[ColumnType] = field(default_factory=lambda: set(_ORDER))
    dropped: dict[ColumnType, _Dropped] = field(default_factory=dict)
    first_row: int | None = None
    nulls: int = 0
    widths: _Widths = field(default_factory=_Widths)
    said: tuple[str, str] | None = None  # name_kind(name)


class TypeInferrer:
    """Infers column types batch by batch; feed every batch to ``update`` in order."""

    def __init__(self, columns: Sequence[str]) -> None:
        self._columns = [_Column(name, said=name_kind(name)) for name in columns]
        self.rows = 0
        """Rows seen so far."""
        self.parsed: list[Parsed | None] = []
        """Per column, values of the last batch already parsed by a check, with their type."""

    def update(self, batch: pa.RecordBatch) -> None:
        """Narrow every column's candidates with one batch of string columns."""
        self.parsed = [None] * len(self._columns)
        for i, (state, col) in enumerate(zip(self._columns, batch.columns, strict=True)):
            self.parsed[i] = self._update_column(state, col)
        self.rows += batch.num_rows

    def _update_column(self, state: _Column, col: pa.Array) -> Parsed | None:
        state.nulls += col.null_count
        if col.null_count == len(col) or (not state.alive and state.first_row is not None):
            return None
        first = 0 if col.null_count == 0 else pc.index(pc.is_valid(col), True).as_py()
        if state.first_row is None:
            state.first_row = self.rows + first + 1
        first_value = col[first].as_py()
        parsed: Parsed | None = None
        for chain in _CHAINS:
            for kind in chain:
                if kind not in state.alive:
                    continue
                # Most eliminations happen on the first value; settle those without a scan.
                at, values = (
                    (first, None) if not _fits_one(kind, first_value) else _CHECKS[kind](col)
                )
                if at < 0:
                    if values is not None:
                        parsed = (kind, values)
                    break  # fits; the wider types of this chain fit as well
                value = col[at].as_py()
                message, informative = _why_not(kind, value)
                state.alive.discard(kind)
                state.dropped[kind] = _Dropped(self.rows + at + 1, message, informative)
        if ColumnType.INTEGER in state.alive:
            state.widths.add(col)
        return parsed

    def current_types(self) -> list[ColumnType]:
        """The type each column would get if the input ended here."""
        return [self._decide(state).type for state in self._columns]

    def columns(self) -> list[ColumnInfo]:
        """The inferred columns (callable at any time; final after the last batch)."""
        return [self._decide(state) for state in self._columns]

    def _decide(self, state: _Column) -> ColumnInfo:
        nullable = state.nulls > 0
        if state.first_row is None:
            return ColumnInfo(state.name, ColumnType.TEXT, nullable, None)
        kind = next((k for k in _ORDER if k in state.alive), ColumnType.TEXT)
        if kind is ColumnType.INTEGER:
            why = identifier_reason(state.said, state.widths)
            if why is not None:
                return ColumnInfo(state.name, ColumnType.TEXT, nullable, why)
        candidates = [
            (drop.row, drop.informative, -_ORDER.index(k), drop)
            for k in _NARROWER.get(kind, ())
            if (drop := state.dropped.get(k)) is not None
        ]
        reason = None
        if candidates:
            row, informative, _, drop = max(candidates, key=lambda c: c[:3])
            if row > state.first_row or informative:
                reason = f"row {fmt_int(row)}: {drop.message}"
        return ColumnInfo(state.name, kind, nullable, reason)


def cast_column(col: pa.Array, kind: ColumnType) -> pa.Array:
    """Cast a string column to ``kind``; every non-null value must have passed inference."""
    if kind is ColumnType.TEXT:
        return col
    if kind is ColumnType.BOOLEAN:
        truth = pc.is_in(col, value_set=_TRUE)
        return pc.if_else(pc.is_valid(col), truth, pa.scalar(None, pa.bool_()))
    if kind in (ColumnType.DATE, ColumnType.DATETIME):
        parsed = _parse_dates(col, _ARROW[kind])
        assert parsed is not None, "inference accepted a value the parser rejects"
        return parsed
    return pc.cast(col, _ARROW[kind])
