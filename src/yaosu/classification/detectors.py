"""Detectors 识别器 for Chinese personal and enterprise identifiers.

One small class per type. Each gives two views of the same rule:

* ``is_valid(value)``: the scalar check, plain Python, for tests, docs and single values;
* ``valid(values)``: the vectorized check of a whole Arrow string array, with Arrow compute for
  shapes (RE2 regular expressions) and numpy matrix arithmetic for check characters, dates and
  ranges. There is no Python loop per value.

Both run the same steps and must agree on every input (a property test checks it):

1. **clean** (shared): full-width ASCII ``！``–``～`` and the ideographic space fold to ASCII,
   then surrounding whitespace (ASCII, NBSP, U+3000) is trimmed;
2. **normalize** (per type): e.g. spaces and dashes removed, ``x`` upper-cased;
3. **shape**: a regular expression that must match the whole value;
4. **verify**: check character, calendar date, numeric range, as the type requires.

Some forms are *weak*: they count only when the column name hints the type (``weak()``), e.g. a
bare 8-digit Taiwan permit number or a single decimal coordinate. ``ceiling`` is the highest
confidence values alone may give (a date column is only probably a birth date).

Regular expressions are written once and used by both engines (RE2 in Arrow, ``re`` here); they
use ``[0-9]`` rather than ``\\d`` (Unicode digits in ``re``) and literal characters for ranges.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from yaosu.classification import lexicon
from yaosu.kit.uscc import ALPHABET as USCC_ALPHABET
from yaosu.kit.uscc import is_valid_uscc

Mask = npt.NDArray[np.bool_]
IntMatrix = npt.NDArray[np.int32]
ByteMatrix = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class TypeInfo:
    code: str
    label_zh: str
    label_en: str
    description: str


# -- shared cleaning ---------------------------------------------------------------------------

# Invisible format characters never belong to an identifier; inserted into one (张\u200b三) they
# would hide it from every shape, so cleaning drops them: U+200B–U+200D (zero-width space and
# joiners), U+2060 (word joiner), U+FEFF (zero-width no-break space) and U+00AD (soft hyphen).
INVISIBLE = (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD)
_FULLWIDTH: dict[int, int | None] = (
    {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20} | dict.fromkeys(INVISIBLE)
)
_TRIM = " \t\n\r\f\v\u00a0\u3000"
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
CJK = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef"


def clean(value: str) -> str:
    """Fold full-width ASCII and U+3000 to ASCII, drop invisible format characters, then trim
    surrounding whitespace."""
    return value.translate(_FULLWIDTH).strip(_TRIM)


def clean_array(values: Any) -> Any:
    """``clean`` for an Arrow string array (returns string or large_string)."""
    return pc.utf8_trim(_fold_fullwidth(values), characters=_TRIM)


def text_chunks(values: Any) -> list[Any]:
    """The chunks of a string-like Arrow array as plain (large_)string arrays."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    out = []
    for chunk in chunks:
        kind = chunk.type
        if pa.types.is_dictionary(kind):
            chunk = chunk.dictionary_decode()
            kind = chunk.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out.append(chunk)
        elif pa.types.is_string_view(kind) or pa.types.is_null(kind):
            out.append(chunk.cast(pa.large_string()))
        else:
            raise TypeError(f"detectors take text arrays, got {kind}")
    return out


def _offsets_data(
    values: Any,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Absolute value offsets (n + 1) and the UTF-8 data buffer of a (large_)string array."""
    buffers = values.buffers()
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    start = values.offset
    offsets = np.frombuffer(buffers[1], dtype=width)[start : start + len(values) + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return offsets.astype(np.int64), data


def _fold_fullwidth(values: Any) -> Any:
    """Full-width ``！``–``～`` (EF BC 81 – EF BD 9E) and U+3000 (E3 80 80) to ASCII, on the
    UTF-8 buffer: the lead byte becomes the ASCII byte, the two others are dropped. The
    ``INVISIBLE`` characters (E2 80 8B–8D, E2 81 A0, EF BB BF; C2 AD) are dropped whole."""
    offsets, data = _offsets_data(values)
    lo, hi = int(offsets[0]), int(offsets[-1])
    body = data[lo:hi]
    if body.size < 2:
        return values
    soft = np.flatnonzero((body[:-1] == 0xC2) & (body[1:] == 0xAD))  # U+00AD
    lead = (
        np.flatnonzero((body[:-2] == 0xEF) | (body[:-2] == 0xE3) | (body[:-2] == 0xE2))
        if body.size >= 3
        else np.zeros(0, dtype=np.intp)
    )
    if lead.size == 0 and soft.size == 0:
        return values
    first, second, third = body[lead], body[lead + 1], body[lead + 2]
    upper = (first == 0xEF) & (second == 0xBC) & (third >= 0x81)  # U+FF01–U+FF3F
    lower = (first == 0xEF) & (second == 0xBD) & (third <= 0x9E)  # U+FF40–U+FF5E
    space = (first == 0xE3) & (second == 0x80) & (third == 0x80)  # U+3000
    hidden = (
        ((first == 0xE2) & (second == 0x80) & (third >= 0x8B) & (third <= 0x8D))  # U+200B–D
        | ((first == 0xE2) & (second == 0x81) & (third == 0xA0))  # U+2060
        | ((first == 0xEF) & (second == 0xBB) & (third == 0xBF))  # U+FEFF
    )
    hit = upper | lower | space
    if not hit.any() and not hidden.any() and soft.size == 0:
        return values
    where = lead[hit]
    mapped = np.where(upper[hit], third[hit] - 0x60, np.where(lower[hit], third[hit] - 0x20, 0x20))
    folded = body.copy()
    folded[where] = mapped.astype(np.uint8)
    keep = np.ones(body.size, dtype=bool)
    keep[where + 1] = False
    keep[where + 2] = False
    gone = lead[hidden]
    for step in (0, 1, 2):
        keep[gone + step] = False
    keep[soft] = False
    keep[soft + 1] = False
    kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    result = pa.LargeStringArray.from_buffers(
        len(values),
        pa.py_buffer(kept_before[offsets - lo]),
        pa.py_buffer(folded[keep]),
    )
    if values.null_count:
        result = pc.if_else(values.is_valid(), result, pa.scalar(None, pa.large_string()))
    return result


def _mask(booleans: Any) -> Mask:
    out: Mask = pc.fill_null(booleans, False).to_numpy(zero_copy_only=False)
    return out


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _matches(values: Any, pattern: str) -> Mask:
    """Whole-value match of ``pattern`` (unanchored source) on every value."""
    return _mask(pc.match_substring_regex(values, _anchored(pattern)))


def _fixed_width(values: Any, rows: npt.NDArray[np.intp], width: int) -> ByteMatrix:
    """The first ``width`` bytes of the chosen values, as an (rows, width) byte matrix; the rows
    must be known to hold at least ``width`` bytes."""
    offsets, data = _offsets_data(values)
    starts = offsets[rows]
    return data[starts[:, None] + np.arange(width)]


def _digits(chars: ByteMatrix) -> IntMatrix:
    """ASCII digit bytes to their values."""
    return chars.astype(np.int32) - 48


def _right_aligned_digits(values: Any, rows: npt.NDArray[np.intp], width: int) -> IntMatrix:
    """ASCII digit strings of up to ``width`` bytes as a right-aligned, zero-padded matrix."""
    offsets, data = _offsets_data(values)
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    position = np.arange(width)[None, :] - (width - lengths)[:, None]
    inside = position >= 0
    index = np.where(inside, starts[:, None] + position, 0)
    return np.where(inside, data[index].astype(np.int32) - 48, 0).astype(np.int32)


def _number(digits: IntMatrix) -> npt.NDArray[np.int64]:
    """Rows of decimal digit values to integers."""
    powers = 10 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int64)
    out: npt.NDArray[np.int64] = digits.astype(np.int64) @ powers
    return out


def _today() -> int:
    today = date.today()
    return today.year * 10000 + today.month * 100 + today.day


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _calendar(
    year: npt.NDArray[np.int64],
    month: npt.NDArray[np.int64],
    day: npt.NDArray[np.int64],
    earliest: int,
) -> Mask:
    """Real calendar dates between ``earliest`` (YYYYMMDD) and today."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _MONTH_DAYS[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    stamp = year * 10000 + month * 100 + day
    ok: Mask = (
        (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= last)
        & (stamp >= earliest)
        & (stamp <= _today())
    )
    return ok


def _date_ok(year: int, month: int, day: int, earliest: int) -> bool:
    try:
        value = date(year, month, day)
    except ValueError:
        return False
    stamp = value.year * 10000 + value.month * 100 + value.day
    return earliest <= stamp <= _today()


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# -- the detector base ------------------------------------------------------------------------


class Detector:
    """One identifier type: a scalar and a vectorized view of the same rule."""

    code: ClassVar[str]
    ceiling: ClassVar[float] = 1.0
    # Finds candidate tokens inside longer text (named group "v"); None: not searched in text.
    finder: ClassVar[str | None] = None

    # scalar -----------------------------------------------------------------------------------
    def is_valid(self, value: object) -> bool:
        """True when ``value`` is a valid identifier of this type (any accepted form)."""
        return isinstance(value, str) and self.check(clean(value))

    def is_weak(self, value: object) -> bool:
        """True when ``value`` has a form that counts only under a matching column-name hint."""
        return isinstance(value, str) and self.check_weak(clean(value))

    # vectorized ---------------------------------------------------------------------------------
    def valid(self, values: Any) -> Any:
        """``is_valid`` of every value of a string array (nulls give False)."""
        return pa.array(self.valid_mask(values), type=pa.bool_())

    def weak(self, values: Any) -> Any:
        """``is_weak`` of every value of a string array (nulls give False)."""
        return pa.array(self.weak_mask(values), type=pa.bool_())

    def valid_mask(self, values: Any) -> Mask:
        return _per_chunk(values, self.check_array)

    def weak_mask(self, values: Any) -> Mask:
        return _per_chunk(values, self.check_weak_array)

    # the rule, on cleaned input -------------------------------------------------------------------
    def check(self, value: str) -> bool:
        raise NotImplementedError

    def check_array(self, values: Any) -> Mask:
        raise NotImplementedError

    def check_weak(self, value: str) -> bool:
        return False

    def check_weak_array(self, values: Any) -> Mask:
        return np.zeros(len(values), dtype=bool)


def _per_chunk(values: Any, rule: Callable[[Any], Mask]) -> Mask:
    parts = [rule(clean_array(chunk)) for chunk in text_chunks(values) if len(chunk)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


# -- noisy forms: an identifier wrapped in a label, notes and junk ------------------------------
#
# Under a matching column-name hint, a value that fails the strict rule is tried once more with
# its wrapping removed: whitespace other than the ASCII space (tabs, NBSP, thin spaces), a
# label (``手机：``, ``tel:``), notes in brackets at the end (``（本人）``, ``[备用]``), then the
# type's own junk before and after (``张三1``, ``李四女士``, ``ID 1101…``) and separators inside
# (``138.1234.5678``). What remains must pass the strict rule, check characters included, so
# a decoy stays a decoy (``中山路1`` is still a road, a wrong check character still wrong).

_ODD_SPACE = "[\t\n\r\f\v   -     ]"
_LABEL = f"^(?:[A-Za-z]{{1,12}}|[{CJK}]{{1,8}}) *[:=] *"
_NOTES = " *(?:\\([^()]{0,16}\\)|\\[[^\\[\\]]{0,16}\\]|【[^【】]{0,16}】|<[^<>]{0,16}>)"
_NOTES_TAIL = f"(?:{_NOTES})+$"
_ODD_SPACE_RE = re.compile(_ODD_SPACE)
_LABEL_RE = re.compile(_LABEL)
_NOTES_TAIL_RE = re.compile(_NOTES_TAIL)


class _Shape(Detector):
    """A detector that is one regular expression after an optional normalization."""

    pattern: ClassVar[str]
    weak_pattern: ClassVar[str | None] = None
    remove: ClassVar[str] = ""  # characters removed before matching
    upper: ClassVar[bool] = False  # ASCII letters upper-cased before matching
    # The noisy form (see above), counted only under a hint: junk before and after the value
    # (unanchored sources) and separators removed inside. ``noisy`` switches it on.
    noisy: ClassVar[bool] = False
    noise_head: ClassVar[str | None] = None
    noise_tail: ClassVar[str | None] = None
    noise_inside: ClassVar[str] = ""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "pattern" in cls.__dict__:
            cls._compiled = re.compile(cls.pattern)
        if cls.__dict__.get("weak_pattern"):
            cls._compiled_weak = re.compile(cls.__dict__["weak_pattern"])
        cls._head = f"^(?:{cls.noise_head})" if cls.noise_head else None
        cls._tail = f"(?:{cls.noise_tail})$" if cls.noise_tail else None
        cls._head_re = re.compile(cls._head) if cls._head else None
        cls._tail_re = re.compile(cls._tail) if cls._tail else None

    _compiled: ClassVar[re.Pattern[str]]
    _compiled_weak: ClassVar[re.Pattern[str]]
    _head: ClassVar[str | None]
    _tail: ClassVar[str | None]
    _head_re: ClassVar[re.Pattern[str] | None]
    _tail_re: ClassVar[re.Pattern[str] | None]

    def denoise(self, value: str) -> str:
        """The value without its wrapping (on cleaned input)."""
        value = _ODD_SPACE_RE.sub("", value)
        value = _LABEL_RE.sub("", value, count=1)
        value = _NOTES_TAIL_RE.sub("", value, count=1)
        if self._head_re is not None:
            value = self._head_re.sub("", value, count=1)
        if self._tail_re is not None:
            value = self._tail_re.sub("", value, count=1)
        for char in self.noise_inside:
            value = value.replace(char, "")
        return value

    def denoise_array(self, values: Any) -> Any:
        """``denoise`` for a cleaned string array."""
        values = pc.replace_substring_regex(values, _ODD_SPACE, "")
        values = pc.replace_substring_regex(values, _LABEL, "", max_replacements=1)
        values = pc.replace_substring_regex(values, _NOTES_TAIL, "", max_replacements=1)
        if self._head is not None:
            values = pc.replace_substring_regex(values, self._head, "", max_replacements=1)
        if self._tail is not None:
            values = pc.replace_substring_regex(values, self._tail, "", max_replacements=1)
        for char in self.noise_inside:
            values = pc.replace_substring(values, char, "")
        return values

    def normalize(self, value: str) -> str:
        if self.remove:
            value = value.translate(dict.fromkeys(map(ord, self.remove)))
        return value.translate(_ASCII_UPPER) if self.upper else value

    def normalize_array(self, values: Any) -> Any:
        for char in self.remove:  # literal replacements: several times faster than a regex
            values = pc.replace_substring(values, char, "")
        return pc.ascii_upper(values) if self.upper else values

    def check(self, value: str) -> bool:
        return self._compiled.fullmatch(self.normalize(value)) is not None

    def check_array(self, values: Any) -> Mask:
        return _matches(self.normalize_array(values), self.pattern)

    def check_weak(self, value: str) -> bool:
        if self.weak_pattern and self._compiled_weak.fullmatch(self.normalize(value)):
            return True
        return self.noisy and not self.check(value) and self.check(self.denoise(value))

    def check_weak_array(self, values: Any) -> Mask:
        if self.weak_pattern:
            out = _matches(self.normalize_array(values), self.weak_pattern)
        else:
            out = np.zeros(len(values), dtype=bool)
        if self.noisy and len(values):
            rows = np.flatnonzero(~out & ~self.check_array(values))
            if rows.size:
                wrapped = values.take(pa.array(rows))
                out[rows] = self.check_array(self.denoise_array(wrapped))
        return out


# -- the types --------------------------------------------------------------------------------

# Noisy digit identifiers: anything but a digit (or the ``+``/``(`` a phone number may start
# with) before, anything but a digit after, dots, slashes and underscores inside.
_DIGIT_HEAD = "[^0-9+(]+"
_DIGIT_TAIL = "[^0-9]+"
_DIGIT_INSIDE = "./_·•"

_ID_PROVINCE = "(?:" + "|".join(lexicon.ID_PROVINCE_CODES) + ")"
_ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int32)
_ID_CHECK = "10X98765432"
_ID_CHECK_BYTES = np.frombuffer(_ID_CHECK.encode(), dtype=np.uint8)
_ID_EARLIEST = 18800101


class ResidentId(_Shape):
    """居民身份证号 resident ID (GB 11643-1999).

    18 characters: a 6-digit division code whose first two digits are a province-level code (or
    71/81/82/83 for Taiwan, Hong Kong, Macao and the Taiwan residents' residence permit), the
    birth date ``YYYYMMDD`` (a real calendar date from 1880-01-01 to today), a 3-digit sequence
    and the ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``; ``x`` is accepted).
    Also the 15-digit form issued before 1999: division code, ``YYMMDD`` read as 19YY, sequence,
    no check character. Spaces and dashes between the digits are ignored.
    """

    code = "resident_id"
    remove = " -"
    upper = True
    noisy = True
    noise_head = _DIGIT_HEAD
    noise_tail = "[^0-9Xx]+"
    noise_inside = _DIGIT_INSIDE
    pattern = f"{_ID_PROVINCE}[0-9]{{15}}[0-9X]|{_ID_PROVINCE}[0-9]{{13}}"
    finder = r"(?:^|[^0-9A-Za-z])(?P<v>[1-9][0-9]{16}[0-9Xx])(?:[^0-9A-Za-z]|$)"

    def check(self, value: str) -> bool:
        value = self.normalize(value)
        if self._compiled.fullmatch(value) is None:
            return False
        if len(value) == 15:
            return _date_ok(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]), 0)
        if not _date_ok(int(value[6:10]), int(value[10:12]), int(value[12:14]), _ID_EARLIEST):
            return False
        total = sum(int(d) * int(w) for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
        return value[17] == _ID_CHECK[total % 11]

    def shaped(self, value: str) -> bool:
        """The 18-character form with a real birth date, whatever its check character."""
        value = self.normalize(clean(value))
        return (
            len(value) == 18
            and self._compiled.fullmatch(value) is not None
            and _date_ok(int(value[6:10]), int(value[10:12]), int(value[12:14]), _ID_EARLIEST)
        )

    def shaped_array(self, values: Any) -> Mask:
        """``shaped`` on a cleaned array."""
        values = self.normalize_array(values)
        offsets, _ = _offsets_data(values)
        rows = np.flatnonzero(_matches(values, self.pattern) & (np.diff(offsets) == 18))
        out = np.zeros(len(values), dtype=bool)
        if rows.size:
            digits = _digits(_fixed_width(values, rows, 14))
            out[rows] = _calendar(
                _number(digits[:, 6:10]),
                _number(digits[:, 10:12]),
                _number(digits[:, 12:14]),
                _ID_EARLIEST,
            )
        return out

    def check_array(self, values: Any) -> Mask:
        values = self.normalize_array(values)
        shaped = _matches(values, self.pattern)
        out = np.zeros(len(values), dtype=bool)
        rows = np.flatnonzero(shaped)
        if rows.size == 0:
            return out
        offsets, _ = _offsets_data(values)
        length = offsets[rows + 1] - offsets[rows]
        long_rows, short_rows = rows[length == 18], rows[length == 15]
        if long_rows.size:
            chars = _fixed_width(values, long_rows, 18)
            digits = _digits(chars[:, :17])
            ok = _calendar(
                _number(digits[:, 6:10]),
                _number(digits[:, 10:12]),
                _number(digits[:, 12:14]),
                _ID_EARLIEST,
            )
            ok &= chars[:, 17] == _ID_CHECK_BYTES[(digits @ _ID_WEIGHTS) % 11]
            out[long_rows] = ok
        if short_rows.size:
            digits = _digits(_fixed_width(values, short_rows, 15))
            out[short_rows] = _calendar(
                1900 + _number(digits[:, 6:8]),
                _number(digits[:, 8:10]),
                _number(digits[:, 10:12]),
                0,
            )
        return out


# Inside text, a phone or card number must not be a piece of a longer code or run of digit
# groups: 0812 3794 4515 inside the card 4175 0812 3794 4515 133 is no landline, and the first
# 17 digits of an ID ending in X are no card.
_LEFT = "(?:^|[^0-9A-Za-z -]|[^0-9A-Za-z][ -])"
_RIGHT = "(?:$|[^0-9A-Za-z -]|[ -][^0-9A-Za-z]|[ -]$)"


class Mobile(_Shape):
    """手机号码 mainland mobile number.

    11 digits starting with a network prefix of the MIIT plan (13x, 145–149, 150–153, 155–159,
    162, 165–167, 170–178, 18x, 190–193, 195–199), optionally preceded by ``+86``, ``0086`` or
    ``86``. Spaces, dashes and parentheses anywhere are ignored (``+86 138-1234-5678``,
    ``(+86)13812345678``).
    """

    code = "mobile"
    remove = " ()-"
    noisy = True
    noise_head = _DIGIT_HEAD
    noise_tail = _DIGIT_TAIL
    noise_inside = _DIGIT_INSIDE
    pattern = f"(?:\\+86|0086|86)?{lexicon.MOBILE_PREFIX_PATTERN}[0-9]{{8}}"
    finder = f"{_LEFT}(?P<v>(?:(?:\\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{{4}}){{2}}){_RIGHT}"


_AREA = lexicon.AREA_CODE_PATTERN


class Landline(_Shape):
    """固定电话 landline number with its area code.

    ``0`` + area code (010, 02x, or 4 digits 03xx–09xx), optionally in parentheses, or ``+86`` /
    ``0086`` / ``86`` + area code without the 0; then a 7- or 8-digit local number (a space or
    dash may split it and follow the area code), then an optional extension of 1–6 digits after
    ``-``, ``转``, ``分机``, ``ext``, ``x`` or ``#``. Examples: ``010-12345678``,
    ``(0755)8765-4321``, ``0571 88886666``, ``021-61234567转123``. A local number without its
    area code is not accepted (too ambiguous).
    """

    code = "landline"
    noisy = True
    noise_head = _DIGIT_HEAD
    noise_tail = _DIGIT_TAIL
    noise_inside = "/_·•"
    pattern = (
        f"(?:(?:\\+|00)?86[ -]?(?:\\({_AREA}\\)|{_AREA})|\\(0{_AREA}\\)|0{_AREA})"
        "[ -]?[1-9][0-9]{2,3}[ -]?[0-9]{4}"
        "(?: ?(?:-|转|分机|ext\\.?|EXT\\.?|Ext\\.?|x|X|#) ?[0-9]{1,6})?"
    )
    finder = (
        f"{_LEFT}(?P<v>(?:\\(0[0-9]{{2,3}}\\)|0[0-9]{{2,3}})[ -]?[1-9][0-9]{{2,3}}[ -]?[0-9]{{4}})"
        f"{_RIGHT}"
    )


class BankCard(_Shape):
    """银行卡号 bank card number.

    16–19 digits (spaces and dashes ignored) that start with a known issuer prefix (UnionPay
    62/60, Visa 4, Mastercard 51–55 and 2221–2720, JCB 3528–3589, legacy domestic 94/95) and
    pass the Luhn check.
    """

    code = "bank_card"
    ceiling = 0.95  # 10% of random digit strings pass Luhn
    remove = " -"
    noisy = True
    noise_head = _DIGIT_HEAD
    noise_tail = _DIGIT_TAIL
    noise_inside = _DIGIT_INSIDE
    pattern = f"{lexicon.BIN_PREFIX_PATTERN}[0-9]*"
    finder = f"{_LEFT}(?P<v>[2-69][0-9]{{3}}(?:[ -]?[0-9]{{4}}){{3}}(?:[ -]?[0-9]{{1,3}})?){_RIGHT}"

    def check(self, value: str) -> bool:
        value = self.normalize(value)
        return 16 <= len(value) <= 19 and bool(self._compiled.fullmatch(value)) and _luhn(value)

    def check_array(self, values: Any) -> Mask:
        values = self.normalize_array(values)
        length = pc.binary_length(values).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(_matches(values, self.pattern) & (length >= 16) & (length <= 19))
        out = np.zeros(len(values), dtype=bool)
        if rows.size:
            digits = _right_aligned_digits(values, rows, 19)
            doubled = digits[:, 1::2] * 2  # every second digit from the right (index 18 is last)
            doubled = np.where(doubled > 9, doubled - 9, doubled)
            out[rows] = (digits[:, 0::2].sum(axis=1) + doubled.sum(axis=1)) % 10 == 0
        return out


_USCC_VALUE = np.full(256, 0, dtype=np.int32)
for _i, _ch in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_ch)] = _i
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int32)  # 1, 3, 9, 27, 19…


class Uscc(_Shape):
    """统一社会信用代码 unified social credit code (GB 32100-2015).

    18 characters from ``0-9A-Y`` without I, O, S, V, Z: registration authority and category,
    a 6-digit division code, the 9-character organization code, and a check character mod 31
    with weights 3^i mod 31. Letters are upper-cased, spaces and dashes ignored. Checked after
    the resident ID: about 1 in 31 valid resident IDs also passes this check, and a value valid
    as a resident ID never counts as a USCC.
    """

    code = "uscc"
    remove = " -"
    upper = True
    pattern = "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"
    finder = r"(?:^|[^0-9A-Za-z])(?P<v>[0-9A-Za-z]{2}[0-9]{6}[0-9A-Za-z]{10})(?:[^0-9A-Za-z]|$)"

    def check(self, value: str) -> bool:
        value = self.normalize(value)
        return is_valid_uscc(value) and not RESIDENT_ID.check(value)

    def check_array(self, values: Any) -> Mask:
        values = self.normalize_array(values)
        rows = np.flatnonzero(_matches(values, self.pattern))
        out = np.zeros(len(values), dtype=bool)
        if rows.size:
            raw = _fixed_width(values, rows, 18)
            chars = _USCC_VALUE[raw]
            expected = (31 - (chars[:, :17] @ _USCC_WEIGHTS) % 31) % 31
            ok = chars[:, 17] == expected
            # only all-digit bodies can be resident IDs
            maybe_id = rows[ok & (raw[:, :17] <= ord("9")).all(axis=1)]
            out[rows] = ok
            if maybe_id.size:
                out[maybe_id] = ~RESIDENT_ID.check_array(values.take(pa.array(maybe_id)))
        return out


class Email(_Shape):
    """电子邮箱 email address: a dot-separated local part of ``A-Z a-z 0-9 _ % + -``, ``@``, a
    domain of labels (letters, digits, inner dashes) and a 2–24 letter top-level label; at most
    254 characters. Internationalized addresses are not accepted."""

    code = "email"
    pattern = (
        r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@"
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    )
    finder = r"(?P<v>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24})"

    def check(self, value: str) -> bool:
        return len(value) <= 254 and super().check(value)

    def check_array(self, values: Any) -> Mask:
        short = pc.binary_length(values).to_numpy(zero_copy_only=False) <= 254
        return super().check_array(values) & short


class Passport(_Shape):
    """护照号码 PRC passport number: ordinary passports ``G`` + 8 digits (2006–2012), ``E`` + 8
    digits (e-passport) and ``E`` + a letter (not I/O) + 7 digits (after the E-digit range ran
    out); diplomatic, service and public-affairs e-passports ``DE``/``SE``/``PE`` + 7 digits.
    Letters are upper-cased."""

    code = "passport"
    ceiling = 0.95
    upper = True
    pattern = "[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|[DSP]E[0-9]{7}"
    finder = (
        r"(?:^|[^0-9A-Za-z])(?P<v>[EeGg][0-9]{8}|[Ee][A-Za-z][0-9]{7}|[DdSsPp][Ee][0-9]{7})"
        r"(?:[^0-9A-Za-z]|$)"
    )


class HkMacauPermit(_Shape):
    """港澳通行证 Hong Kong / Macao travel permits. For mainland residents (往来港澳通行证):
    the card ``C`` + 8 digits or ``C`` + a letter (not I/O) + 7 digits, and the old booklet ``W``
    + 8 digits. For Hong Kong and Macao residents (港澳居民来往内地通行证, 回乡证): ``H`` (Hong
    Kong) or ``M`` (Macao) + 8 digits, optionally + 2 digits of issue count. Letters are
    upper-cased."""

    code = "hk_macau_permit"
    ceiling = 0.95
    upper = True
    pattern = "C[0-9]{8}|C[A-HJ-NP-Z][0-9]{7}|W[0-9]{8}|[HM][0-9]{8}(?:[0-9]{2})?"
    finder = (
        r"(?:^|[^0-9A-Za-z])(?P<v>[CcWwHhMm][0-9A-Za-z][0-9]{7}(?:[0-9]{2})?)(?:[^0-9A-Za-z]|$)"
    )


class TaiwanPermit(_Shape):
    """台湾居民来往大陆通行证 (台胞证) Taiwan compatriot permit.

    The number is the holder's lifelong 8-digit number. Booklets of 1992–2008 added a 2-digit
    issue count and, in brackets, the issuing office's letter or digit: ``1234567801(B)`` — this
    form is distinctive and counts on its own. The bare 8-digit number (since 2008, and on the
    2015 card) and the 10-digit number without the bracket (Fujian, Jiangsu and Shanghai,
    2006–2008) are plain digit strings: they count only under a name hint (台胞证, twtxz…).
    """

    code = "taiwan_permit"
    upper = True
    pattern = r"[0-9]{10}\([0-9A-Z]\)"
    weak_pattern = "[0-9]{8}|[0-9]{10}"


_PLATE_SERIAL = f"[A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9{lexicon.PLATE_SUFFIXES}]"


class LicencePlate(_Shape):
    """机动车号牌 vehicle licence plate (GA 36-2018).

    Province abbreviation, issuing-office letter (not I/O), then either 5 letters/digits (the
    last may be 挂 学 警 港 澳 领 试 超) or a new-energy serial of 6: ``D``/``F`` + a letter or
    digit + 4 digits (small cars, 粤B·D12345) or 5 digits + ``D``/``F`` (large vehicles).
    Separators (space, ``·``, ``•``, ``・``, ``-``) are ignored, letters upper-cased.
    """

    code = "licence_plate"
    remove = " ·•・-"
    upper = True
    pattern = (
        f"[{lexicon.PLATE_PROVINCES}][A-HJ-NP-Z]"
        f"(?:{_PLATE_SERIAL}|[DF][A-HJ-NP-Z0-9][0-9]{{4}}|[0-9]{{5}}[DF])"
    )
    finder = (
        f"(?P<v>[{lexicon.PLATE_PROVINCES}][A-Za-z][ ·•・-]?[A-Za-z0-9]{{4,6}}"
        f"[{lexicon.PLATE_SUFFIXES}]?)(?:[^0-9A-Za-z]|$)"
    )


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_V4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"
_H = "[0-9A-Fa-f]{1,4}"


class Ipv4(_Shape):
    """IPv4 地址 dotted-quad address, each octet 0–255 without leading zeros (as Python's
    ``ipaddress``)."""

    code = "ipv4"
    ceiling = 0.95  # version strings such as 1.2.3.4 look the same
    pattern = _V4
    finder = r"(?:^|[^0-9.])(?P<v>[0-9]{1,3}(?:\.[0-9]{1,3}){3})(?:[^0-9.]|$)"


class Ipv6(_Shape):
    """IPv6 地址 address in RFC 4291 text form: 8 groups, ``::`` compression, an embedded IPv4
    tail; no zone index (``%eth0``) and no brackets. Agrees with Python's ``ipaddress``."""

    code = "ipv6"
    pattern = "|".join(
        (
            f"(?:{_H}:){{7}}{_H}",
            f"(?:{_H}:){{1,7}}:",
            f"(?:{_H}:){{1,6}}:{_H}",
            f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
            f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
            f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
            f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
            f"{_H}:(?::{_H}){{1,6}}",
            f":(?:(?::{_H}){{1,7}}|:)",
            f"(?:{_H}:){{6}}{_V4}",
            f"::(?:{_H}:){{0,5}}{_V4}",
            f"{_H}::(?:{_H}:){{0,4}}{_V4}",
            f"(?:{_H}:){{1}}{_H}::(?:{_H}:){{0,3}}{_V4}",
            f"(?:{_H}:){{2}}{_H}::(?:{_H}:){{0,2}}{_V4}",
            f"(?:{_H}:){{3}}{_H}::(?:{_H}:){{0,1}}{_V4}",
            f"(?:{_H}:){{4}}{_H}::{_V4}",
        )
    )


_COORD = "[+-]?[0-9]{1,3}\\.[0-9]{2,}"
_PAIR_SPLIT = " *[,;] *"


def _pair_in_range(first: Any, second: Any) -> Any:
    lat_lng = (abs(first) <= 90) & (abs(second) <= 180)
    lng_lat = (abs(first) <= 180) & (abs(second) <= 90)
    return lat_lng | lng_lat


class Gps(_Shape):
    """地理坐标 coordinates.

    A pair ``lng,lat`` or ``lat,lng`` of decimal numbers with at least 2 decimals, separated by
    a comma or semicolon (full-width ones too) with optional spaces, one of them within ±90 and
    the other within ±180: ``116.397128,39.916527``. A single decimal number within ±180 (or a
    numeric column) is a weak form: it counts only under a name hint (经度, 纬度, lat, lng, jd,
    wd…), as a bare number says nothing by itself.
    """

    code = "gps"
    ceiling = 0.9
    pattern = f"{_COORD}{_PAIR_SPLIT}{_COORD}"
    weak_pattern = "[+-]?[0-9]{1,3}(?:\\.[0-9]+)?"

    def check(self, value: str) -> bool:
        if self._compiled.fullmatch(value) is None:
            return False
        first, second = (float(x) for x in re.split(_PAIR_SPLIT, value))
        return bool(_pair_in_range(first, second))

    def check_array(self, values: Any) -> Mask:
        rows = np.flatnonzero(_matches(values, self.pattern))
        out = np.zeros(len(values), dtype=bool)
        if rows.size:
            parts = pc.split_pattern_regex(values.take(pa.array(rows)), _PAIR_SPLIT)
            numbers = pc.cast(pc.list_flatten(parts), pa.float64()).to_numpy(zero_copy_only=False)
            pairs = numbers.reshape(-1, 2)
            out[rows] = _pair_in_range(pairs[:, 0], pairs[:, 1])
        return out

    def check_weak(self, value: str) -> bool:
        return self._compiled_weak.fullmatch(value) is not None and abs(float(value)) <= 180

    def check_weak_array(self, values: Any) -> Mask:
        rows = np.flatnonzero(_matches(values, self.weak_pattern or ""))
        out = np.zeros(len(values), dtype=bool)
        if rows.size:
            numbers = pc.cast(values.take(pa.array(rows)), pa.float64())
            out[rows] = np.abs(numbers.to_numpy(zero_copy_only=False)) <= 180
        return out


_DATE_FORMS = (
    "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}",
    "[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}",
    "[0-9]{8}",
    "[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日",
)
_TIME_OF_DAY = (
    "[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_YMD = "(?P<y>[0-9]{4})[-/年]?(?P<m>[0-9]{1,2})[-/月]?(?P<d>[0-9]{1,2})"
_YMD_RE = re.compile(_YMD)
_BIRTH_EARLIEST = 19000101


class BirthDate(_Shape):
    """出生日期 date of birth: a real calendar date from 1900-01-01 to today written
    ``YYYY-MM-DD``, ``YYYY/MM/DD`` (month and day may have one digit), ``YYYYMMDD`` or
    ``YYYY年M月D日``; DATE columns are read as ``YYYY-MM-DD``. Values alone give only moderate
    confidence (any date column looks the same); a name hint lifts it. The same date followed by
    a time of day (a TIMESTAMP not at midnight) is a weak form.
    """

    code = "birth_date"
    ceiling = 0.6
    pattern = "|".join(_DATE_FORMS)
    weak_pattern = f"(?:{_DATE_FORMS[0]}|{_DATE_FORMS[1]}){_TIME_OF_DAY}"

    def check(self, value: str) -> bool:
        return super().check(value) and self._date(value)

    def check_weak(self, value: str) -> bool:
        return super().check_weak(value) and self._date(value)

    def check_array(self, values: Any) -> Mask:
        return self._dates(values, super().check_array(values))

    def check_weak_array(self, values: Any) -> Mask:
        return self._dates(values, super().check_weak_array(values))

    @staticmethod
    def _date(value: str) -> bool:
        found = _YMD_RE.match(value)
        assert found is not None  # the shape matched
        year, month, day = (int(found[g]) for g in "ymd")
        return _date_ok(year, month, day, _BIRTH_EARLIEST)

    @staticmethod
    def _dates(values: Any, shaped: Mask) -> Mask:
        rows = np.flatnonzero(shaped)
        out = np.zeros(len(values), dtype=bool)
        if rows.size:
            parts = pc.extract_regex(values.take(pa.array(rows)), "^" + _YMD)
            y, m, d = (
                pc.cast(pc.struct_field(parts, g), pa.int64()).to_numpy(zero_copy_only=False)
                for g in "ymd"
            )
            out[rows] = _calendar(y, m, d, _BIRTH_EARLIEST)
        return out


_SURNAME_CHARS = lexicon.SINGLE_SURNAMES
_COMPOUND = "|".join(lexicon.COMPOUND_SURNAMES)


class PersonName(_Shape):
    """姓名 Chinese person name: a common single surname + 1–2 characters, or a compound
    surname (欧阳, 司马…) + 1–2 characters; or a transliterated minority name of two or three
    parts joined by ``·`` (阿卜杜拉·买买提). Spaces inside are ignored (forms pad 张  三).
    Rejected: province and big-city names (江苏, 黄山), and words ending like places or
    organizations (…市, …路, …局, …厂). Company names and longer strings fail the length.
    """

    code = "person_name"
    ceiling = 0.85
    remove = " "
    # Under a name hint: 张三1, 李四 女士, 王五（先生）, *赵六_01, 孙\t七.
    noisy = True
    noise_head = "[0-9A-Za-z*#_.~+ -]+"
    noise_tail = "(?:[0-9A-Za-z*#_.~+ -]|" + "|".join(lexicon.NAME_HONORIFICS) + ")+"
    noise_inside = "_-"
    pattern = (
        f"(?:{_COMPOUND})[{CJK}]{{1,2}}|[{_SURNAME_CHARS}][{CJK}]{{1,2}}"
        f"|[{CJK}]{{1,10}}[·•・][{CJK}]{{1,12}}(?:[·•・][{CJK}]{{1,12}})?"
    )
    rejected = "|".join(lexicon.PLACE_NAMES) + f"|.*[{lexicon.NON_NAME_ENDINGS}]"
    _rejected = re.compile(rejected)

    def check(self, value: str) -> bool:
        value = self.normalize(value)
        return bool(self._compiled.fullmatch(value)) and not self._rejected.fullmatch(value)

    def check_array(self, values: Any) -> Mask:
        values = self.normalize_array(values)
        return _matches(values, self.pattern) & ~_matches(values, self.rejected)


_DIVISION = "(?:" + "|".join(lexicon.ADDRESS_DIVISION_MARKERS) + ")"
_DETAIL = "(?:" + "|".join(lexicon.ADDRESS_DETAIL_MARKERS) + ")"
_STREET_NUMBER = f"[{CJK}]{{1,12}}(?:路|街|大道|巷|弄|胡同)[0-9]{{1,5}}号"
_ORG_ENDING = ".*(?:" + "|".join(lexicon.ORGANIZATION_ENDINGS) + ")"


class Address(_Shape):
    """地址 Chinese postal address: 5–120 characters of Chinese, ASCII letters and digits,
    spaces and ``( ) # - ·``, containing a division marker (省 市 区 县 镇 乡 …) and a detail
    marker (路 街 村 号 栋 室 …), or a street with a number (文三路88号). Values ending like an
    organization (…公司, …局, …中心) are rejected, as is anything with sentence punctuation.
    """

    code = "address"
    ceiling = 0.9
    pattern = f"[{CJK}0-9A-Za-z()#·\\- ]{{5,120}}"
    _division = re.compile(_DIVISION)
    _detail = re.compile(_DETAIL)
    _street = re.compile(_STREET_NUMBER)
    _org = re.compile(_ORG_ENDING)

    def check(self, value: str) -> bool:
        if self._compiled.fullmatch(value) is None or self._org.fullmatch(value):
            return False
        marked = bool(self._division.search(value)) and bool(self._detail.search(value))
        return marked or bool(self._street.search(value))

    def check_array(self, values: Any) -> Mask:
        shaped = _matches(values, self.pattern) & ~_matches(values, _ORG_ENDING)
        marked = _mask(pc.match_substring_regex(values, _DIVISION)) & _mask(
            pc.match_substring_regex(values, _DETAIL)
        )
        return shaped & (marked | _mask(pc.match_substring_regex(values, _STREET_NUMBER)))


# -- registry ---------------------------------------------------------------------------------

RESIDENT_ID = ResidentId()
USCC = Uscc()

# Priority order: when two types tie on a column, the earlier (more specific) one wins.
DETECTORS: dict[str, Detector] = {
    d.code: d
    for d in (
        RESIDENT_ID,
        USCC,
        BankCard(),
        Mobile(),
        Landline(),
        Email(),
        Passport(),
        HkMacauPermit(),
        TaiwanPermit(),
        LicencePlate(),
        Ipv6(),
        Ipv4(),
        Gps(),
        BirthDate(),
        PersonName(),
        Address(),
    )
}

FREE_TEXT = "free_text"

TYPES: dict[str, TypeInfo] = {
    t.code: t
    for t in (
        TypeInfo(
            "resident_id",
            "居民身份证号",
            "resident ID number",
            "18-digit ID with MOD 11-2 check character and birth date, or the old 15-digit form",
        ),
        TypeInfo(
            "mobile", "手机号码", "mobile phone number", "11-digit mainland mobile, +86 optional"
        ),
        TypeInfo(
            "landline",
            "固定电话",
            "landline phone number",
            "area code + 7–8 digit local number, optional extension",
        ),
        TypeInfo(
            "bank_card",
            "银行卡号",
            "bank card number",
            "16–19 digits with a known issuer prefix and a valid Luhn check digit",
        ),
        TypeInfo(
            "uscc",
            "统一社会信用代码",
            "unified social credit code",
            "18-character GB 32100 code with its mod-31 check character",
        ),
        TypeInfo("email", "电子邮箱", "email address", "local part @ domain"),
        TypeInfo("passport", "护照号码", "passport number", "PRC passport: E/G + 8 digits etc."),
        TypeInfo(
            "hk_macau_permit",
            "港澳通行证号码",
            "Hong Kong/Macao permit number",
            "往来港澳通行证 C/W…, 回乡证 H/M…",
        ),
        TypeInfo(
            "taiwan_permit",
            "台湾居民来往大陆通行证号码",
            "Taiwan compatriot permit number",
            "8-digit lifelong number, 10-digit forms; bare digits need a name hint",
        ),
        TypeInfo(
            "licence_plate",
            "机动车号牌",
            "vehicle licence plate",
            "province + office letter + 5 characters, or 6 for new-energy plates",
        ),
        TypeInfo("ipv4", "IPv4 地址", "IPv4 address", "dotted quad"),
        TypeInfo("ipv6", "IPv6 地址", "IPv6 address", "RFC 4291 text form"),
        TypeInfo(
            "gps",
            "地理坐标",
            "GPS coordinates",
            "a 'lng,lat' pair, or a numeric latitude/longitude column with a name hint",
        ),
        TypeInfo(
            "birth_date",
            "出生日期",
            "date of birth",
            "a date from 1900 to today; confident only with a name hint",
        ),
        TypeInfo("person_name", "姓名", "person name", "surname + 1–2 characters"),
        TypeInfo("address", "地址", "address", "division and street/house markers"),
        TypeInfo(
            FREE_TEXT,
            "含敏感信息的文本",
            "free text with identifiers",
            "text whose values contain identifiers of the types above",
        ),
    )
}

# -- identifiers inside free text -------------------------------------------------------------

# Types searched inside text, in priority order: a token valid as an earlier type does not
# count as a later one (a resident ID is not also a bank card).
SEARCHED = (
    "resident_id",
    "uscc",
    "bank_card",
    "mobile",
    "landline",
    "email",
    "passport",
    "hk_macau_permit",
    "licence_plate",
    "ipv4",
)
MAX_TOKENS = 4  # candidate tokens tried per type and value
_PREFILTER = f"[0-9]{{4}}|[0-9]\\.[0-9]|@|[{lexicon.PLATE_PROVINCES}][A-Za-z]"
# Inside text, an 18-digit token shaped like a resident ID (province code, real birth date) is
# a resident ID or a mistyped one, never a USCC or a card; a valid USCC is not also a card.
_EXCLUDED_BY: dict[str, tuple[str, ...]] = {
    "uscc": ("resident_id_shape",),
    "bank_card": ("resident_id_shape", "uscc"),
}


def _excluded(other: str, token: str) -> bool:
    if other == "resident_id_shape":
        return RESIDENT_ID.shaped(token)
    return DETECTORS[other].is_valid(token)


def _excluded_mask(other: str, tokens: Any) -> Mask:
    if other == "resident_id_shape":
        return _per_chunk(tokens, RESIDENT_ID.shaped_array)
    return DETECTORS[other].valid_mask(tokens)


def _finder(code: str) -> str:
    pattern = DETECTORS[code].finder
    assert pattern is not None
    return pattern


def _token_ok(code: str, token: str) -> bool:
    if not DETECTORS[code].is_valid(token):
        return False
    return not any(_excluded(other, token) for other in _EXCLUDED_BY.get(code, ()))


def find_in_text(value: object, codes: Iterable[str] = SEARCHED) -> tuple[str, ...]:
    """The types found inside ``value``: for each type, up to ``MAX_TOKENS`` candidate tokens
    are tried left to right and the type counts when one of them validates."""
    if not isinstance(value, str):
        return ()
    text = clean(value)
    found = []
    for code in codes:
        pattern = re.compile(_finder(code))
        rest = text
        for _ in range(MAX_TOKENS):
            match = pattern.search(rest)
            if match is None:
                break
            if _token_ok(code, match["v"]):
                found.append(code)
                break
            rest = rest[: match.start()] + " " + rest[match.end() :]
    return tuple(found)


def _token_mask(code: str, tokens: Any) -> Mask:
    ok = DETECTORS[code].valid_mask(tokens)
    for other in _EXCLUDED_BY.get(code, ()):
        ok &= ~_excluded_mask(other, tokens)
    return ok


def contains_masks(values: Any, codes: Iterable[str] = SEARCHED) -> dict[str, Mask]:
    """Vectorized ``find_in_text``: for each type, which values contain a valid token of it."""
    codes = tuple(codes)
    parts: dict[str, list[Mask]] = {code: [] for code in codes}
    for chunk in text_chunks(values):
        text = clean_array(chunk)
        size = len(text)
        candidates = np.flatnonzero(_mask(pc.match_substring_regex(text, _PREFILTER)))
        subset = text.take(pa.array(candidates))
        for code in codes:
            found = np.zeros(size, dtype=bool)
            pattern = _finder(code)
            # a match (RE2's DFA) is cheaper than an extraction: extract only where one matches
            hit = np.flatnonzero(_mask(pc.match_substring_regex(subset, pattern)))
            rows, rest = candidates[hit], subset.take(pa.array(hit))
            for _ in range(MAX_TOKENS):
                if rows.size == 0:
                    break
                tokens = pc.struct_field(pc.extract_regex(rest, pattern), "v")
                has_token = _mask(pc.is_valid(tokens))
                ok = _token_mask(code, tokens) & has_token
                found[rows[ok]] = True
                again = np.flatnonzero(has_token & ~ok)
                rows = rows[again]
                rest = pc.replace_substring_regex(
                    rest.take(pa.array(again)), pattern, " ", max_replacements=1
                )
            parts[code].append(found)
    return {
        code: np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
        for code, masks in parts.items()
    }
