"""The column decision 列识别: which identifier type a column of a dataset holds.

For each column:

1. **sample** up to ``sample_size`` non-null values, spread over the file (the head of up to
   16 evenly spaced row groups; an in-memory table is sampled evenly over all rows);
2. **score** every detector on the sample; types valid for at least 30% of it, or suggested by
   the column name and valid at least once, become candidates (at most 3);
3. **validate** the candidates against the *whole* column, streamed in record batches with the
   vectorized checks (a Parquet file is never loaded whole);
4. **decide**: confidence is the share of valid non-null values, capped for types whose values
   are ambiguous by themselves (a date column is only probably a birth date) and moved by the
   name hint: a matching hint removes a quarter of the remaining doubt and lifts the cap, a
   contrary one (another type, or an order number, an amount, a time…) multiplies it by 0.75.
   A type is assigned at confidence ≥ 0.5 with at least 20% of the values valid, so a name alone
   never decides.
5. A text column (Chinese characters or spaces in most values) that is not one type as a whole
   is scanned for identifiers inside its text; when any are found it is ``free_text`` and
   ``contains`` lists their types.

Columns that cannot hold identifiers (binary, boolean, nested, all null) and columns that fail
to read get an unclassified finding with the reason, in English and Chinese; nothing raises
except a source that is not a readable Parquet file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yaosu.classification.detectors import (
    CJK,
    DETECTORS,
    FREE_TEXT,
    SEARCHED,
    TYPES,
    Mask,
    TypeInfo,
    clean_array,
    contains_masks,
)
from yaosu.classification.hints import Hint, hint_for
from yaosu.classification.lexicon import PLACEHOLDERS
from yaosu.kit.errors import Invalid

__all__ = [
    "TYPES",
    "ColumnFinding",
    "TypeInfo",
    "as_text",
    "classify_parquet",
    "classify_table",
    "finding_mask",
    "temporal_birth_mask",
]

SAMPLE_SHARE = 0.3  # share of the sample that makes a type a candidate
MAX_CANDIDATES = 3
DECIDE = 0.5  # confidence needed to assign a type
MIN_SHARE = 0.2  # below this share of valid values no hint helps
HINT_LIFT = 0.25  # a matching hint removes this part of the remaining doubt
HINT_DROP = 0.75  # a contrary hint multiplies confidence by this
TEXT_LIKE = 0.5  # share of sampled values with Chinese characters or spaces
SAMPLE_GROUPS = 16  # row groups the Parquet sample is spread over
# Text: Chinese characters, or two words of Latin letters ("2015-01-01 12:00:00" is no text).
_TEXT_MARK = f"[{CJK}]|[A-Za-z]{{2,}} +[A-Za-z]{{2,}}"


@dataclass(frozen=True)
class ColumnFinding:
    """What one column holds, with the evidence."""

    column: str
    type: str | None  # a code of TYPES, or None = unclassified
    confidence: float  # 0..1
    non_null: int
    valid: int  # values of the whole column that validated as `type`
    contains: tuple[str, ...]  # for free_text: the types found inside the text
    hint: str | None  # type suggested by the column name, if any
    reason: str
    reason_zh: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "type": self.type,
            "confidence": round(self.confidence, 4),
            "non_null": self.non_null,
            "valid": self.valid,
            "contains": list(self.contains),
            "hint": self.hint,
            "reason": self.reason,
            "reason_zh": self.reason_zh,
        }


# -- values as text ---------------------------------------------------------------------------


class _Unsupported(Exception):
    def __init__(self, reason: str, reason_zh: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_zh = reason_zh


def _unsupported(kind: Any) -> _Unsupported | None:
    """Why a column of Arrow type ``kind`` cannot hold identifiers, or None when it can."""
    if pa.types.is_dictionary(kind):
        return _unsupported(kind.value_type)
    if pa.types.is_boolean(kind):
        return _Unsupported(
            "boolean column: no identifier is true/false", "布尔列：标识符不会是真假值"
        )
    if (
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
        or pa.types.is_binary_view(kind)
    ):
        return _Unsupported(
            "binary column: bytes are not text; cast it to a string column to classify it",
            "二进制列：字节不是文本，需先转为字符串列再识别",
        )
    if pa.types.is_nested(kind):
        return _Unsupported(
            f"nested column ({kind}): only flat columns are classified",
            f"嵌套列（{kind}）：只识别平铺的列",
        )
    if pa.types.is_null(kind):
        return None
    flat = (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_date(kind)
        or pa.types.is_timestamp(kind)
    )
    if flat:
        return None
    return _Unsupported(
        f"{kind} column: this type holds no identifiers", f"{kind} 列：此类型不含标识符"
    )


def as_text(values: Any) -> Any:
    """A column's values as strings, the way the detectors read them.

    Integers as digits; floats with an integral value as integers (13812345678.0 → 13812345678),
    others in shortest form; dates ``YYYY-MM-DD``; timestamps ``YYYY-MM-DD`` at midnight (local
    wall time when zoned), else ``YYYY-MM-DD HH:MM:SS[.ffffff]``. Returns a (large_)string array,
    or a chunked array for a chunked input.
    """
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([as_text(c) for c in values.chunks], type=pa.large_string())
    kind = values.type
    if pa.types.is_dictionary(kind):
        return as_text(values.dictionary_decode())
    problem = _unsupported(kind)
    if problem is not None:
        raise problem
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = values
    elif pa.types.is_string_view(kind) or pa.types.is_null(kind):
        text = values.cast(pa.large_string())
    elif pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        text = pc.cast(values, pa.string())
    elif pa.types.is_floating(kind):
        text = _float_text(values)
    elif pa.types.is_date(kind):
        text = pc.cast(pc.cast(values, pa.date32()), pa.string())
    else:
        text = _timestamp_text(values)
    return text.cast(pa.large_string())


def _float_text(values: Any) -> Any:
    floats = pc.cast(values, pa.float64())
    integral = pc.and_(pc.equal(pc.floor(floats), floats), pc.less(pc.abs(floats), pa.scalar(1e15)))
    integral = pc.fill_null(integral, False)
    whole = pc.cast(pc.cast(pc.if_else(integral, floats, 0.0), pa.int64()), pa.string())
    return pc.if_else(integral, whole, pc.cast(floats, pa.string()))


def _timestamp_text(values: Any) -> Any:
    wall = pc.local_timestamp(values) if values.type.tz else values
    days = pc.cast(wall, pa.date32(), safe=False)
    midnight = pc.fill_null(pc.equal(pc.cast(days, wall.type), wall), False)
    full = pc.strftime(wall, format="%Y-%m-%d %H:%M:%S")
    return pc.if_else(midnight, pc.cast(days, pa.string()), full)


# -- reading columns --------------------------------------------------------------------------


class _Column(Protocol):
    rows: int

    def sample(self, size: int) -> Any: ...

    def batches(self) -> Iterator[Any]: ...

    def non_null(self) -> int: ...


def _spread(values: Any, size: int) -> Any:
    """Up to ``size`` values picked evenly from ``values``."""
    if len(values) <= size:
        return values
    return values.take(pa.array(np.linspace(0, len(values) - 1, size).round().astype(np.int64)))


class _ParquetColumn:
    def __init__(self, file: Any, name: str, batch_rows: int) -> None:
        self.file = file
        self.name = name
        self.batch_rows = batch_rows
        self.rows = int(file.metadata.num_rows)

    def _iter(self, batch_size: int, groups: list[int] | None = None) -> Iterator[Any]:
        kwargs: dict[str, Any] = {"batch_size": batch_size, "columns": [self.name]}
        if groups is not None:
            kwargs["row_groups"] = groups
        for batch in self.file.iter_batches(**kwargs):
            yield batch.column(0)

    def sample(self, size: int) -> Any:
        groups = self.file.metadata.num_row_groups
        if groups == 0 or size <= 0:
            return pa.array([], type=pa.null())
        picks = sorted({int(g) for g in np.linspace(0, groups - 1, min(groups, SAMPLE_GROUPS))})
        quota = math.ceil(size / len(picks))
        batch = min(self.batch_rows, max(quota * 16, 8192))
        parts = []
        for group in picks:
            got = scanned = 0
            for values in self._iter(batch, [group]):
                present = _spread(values.drop_null(), quota - got)
                parts.append(present)
                got += len(present)
                scanned += len(values)
                if got >= quota or scanned >= 8 * batch:
                    break
        sample = pa.concat_arrays(parts) if parts else pa.array([], type=pa.null())
        if len(sample) == 0:  # null near every sampled head: look further, from the start
            parts = []
            for values in self._iter(self.batch_rows):
                parts.append(values.drop_null())
                if sum(len(p) for p in parts) >= size:
                    break
            sample = pa.concat_arrays(parts) if parts else sample
        return _spread(sample, size)

    def batches(self) -> Iterator[Any]:
        return self._iter(self.batch_rows)

    def non_null(self) -> int:
        """From the row groups' statistics when every one has a null count, else by reading."""
        meta = self.file.metadata
        leaves = [i for i in range(meta.num_columns) if meta.schema.column(i).path == self.name]
        if len(leaves) == 1:
            total = 0
            for group in range(meta.num_row_groups):
                chunk = meta.row_group(group)
                stats = chunk.column(leaves[0]).statistics
                if stats is None or not stats.has_null_count:
                    break
                total += chunk.num_rows - stats.null_count
            else:
                return total
        return sum(len(v) - v.null_count for v in self.batches())


class _TableColumn:
    def __init__(self, values: Any, batch_rows: int) -> None:
        if pa.types.is_string_view(values.type):  # Arrow has no take() for views yet
            values = values.cast(pa.large_string())
        self.values = values
        self.batch_rows = batch_rows
        self.rows = len(values)

    def sample(self, size: int) -> Any:
        present = np.flatnonzero(self.values.is_valid().to_numpy(zero_copy_only=False))
        if present.size > size:
            present = present[np.linspace(0, present.size - 1, size).round().astype(np.int64)]
        taken = self.values.take(pa.array(present))
        return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken

    def batches(self) -> Iterator[Any]:
        for chunk in self.values.chunks:
            for start in range(0, len(chunk), self.batch_rows):
                yield chunk.slice(start, self.batch_rows)

    def non_null(self) -> int:
        return len(self.values) - self.values.null_count


# -- the decision -----------------------------------------------------------------------------


def _confidence(code: str, share: float, hint: Hint) -> float:
    if code in hint.types:
        return share + (1.0 - share) * HINT_LIFT
    confidence = share * (DETECTORS[code].ceiling if code in DETECTORS else 1.0)
    if hint.counter or hint.types:
        confidence *= HINT_DROP
    return confidence


def _check(code: str, cleaned: Any, hint: Hint) -> Mask:
    detector = DETECTORS[code]
    mask = detector.check_array(cleaned)
    if code in hint.types:  # the weak and noisy forms, tried only where the strict rule failed
        rest = np.flatnonzero(~mask)
        if rest.size:
            mask = mask.copy()
            mask[rest] = detector.check_weak_array(cleaned.take(pa.array(rest)))
    return mask


_PLACEHOLDERS = pa.array(PLACEHOLDERS, pa.string())


def _text_type(kind: Any) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_dictionary(kind)
    )


def _temporal(kind: Any) -> bool:
    return bool(pa.types.is_date(kind) or pa.types.is_timestamp(kind))


_EPOCH = date(1970, 1, 1)
_TICKS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def temporal_birth_mask(values: Any, hinted: bool) -> Mask:
    """``birth_date`` validity of a DATE or TIMESTAMP array computed on its numbers, without
    formatting it: the same answer as the detector on ``as_text(values)`` (a test checks it).
    A date from 1900-01-01 to today; a timestamp not at midnight only when ``hinted``."""
    kind = values.type
    present = values.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(kind):
        wall = pc.local_timestamp(values) if kind.tz else values
        ticks = pc.fill_null(wall.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        days, rest = np.divmod(ticks, _TICKS_PER_DAY[kind.unit])
        timeless = rest == 0
    else:
        as_days = pc.fill_null(pc.cast(values, pa.date32()).cast(pa.int32()), 0)
        days = as_days.to_numpy(zero_copy_only=False).astype(np.int64)
        timeless = np.ones(len(values), dtype=bool)
    earliest = (date(1900, 1, 1) - _EPOCH).days
    latest = (date.today() - _EPOCH).days
    in_range: Mask = present & (days >= earliest) & (days <= latest)
    return in_range if hinted else in_range & timeless


class _Batch:
    """A batch of a column, converted to cleaned text only when a check needs text."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self._cleaned: Any = None

    @property
    def cleaned(self) -> Any:
        if self._cleaned is None:
            self._cleaned = clean_array(as_text(self.raw))
        return self._cleaned

    def valid(self, code: str, hint: Hint) -> Mask:
        if _temporal(self.raw.type):
            if code != "birth_date":
                return np.zeros(len(self.raw), dtype=bool)
            return temporal_birth_mask(self.raw, code in hint.types)
        return _check(code, self.cleaned, hint)

    def placeholders(self) -> int:
        """How many values stand for "no value" (无, N/A, -…); only text columns have them."""
        if not _text_type(self.raw.type):
            return 0
        return int(pc.sum(pc.is_in(self.cleaned, value_set=_PLACEHOLDERS)).as_py() or 0)


def _label(code: str) -> tuple[str, str]:
    info = TYPES[code]
    return info.label_en, info.label_zh


def _hint_text(code: str | None, hint: Hint) -> tuple[str, str]:
    if code is not None and code in hint.types:
        return "; the column name agrees", "；列名与之相符"
    if hint.types:
        en, zh = _label(hint.types[0])
        return (
            f"; the column name suggests {en}, which lowers confidence",
            f"；列名提示为{zh}，置信度下调",
        )
    if hint.counter:
        return (
            f"; the column name ({hint.word}) suggests a non-personal value, "
            "which lowers confidence",
            f"；列名（{hint.word}）提示为非个人信息，置信度下调",
        )
    return "", ""


def _hint_code(code: str | None, hint: Hint) -> str | None:
    if code is not None and code in hint.types:
        return code
    return hint.type


def _unclassified(
    name: str, hint: Hint, reason: str, reason_zh: str, non_null: int = 0
) -> ColumnFinding:
    return ColumnFinding(name, None, 0.0, non_null, 0, (), hint.type, reason, reason_zh)


def _count_non_null(column: _Column) -> int:
    try:
        return column.non_null()
    except Exception:  # a column we cannot even count is reported with 0
        return 0


def _classify(name: str, kind: Any, column: _Column, sample_size: int) -> ColumnFinding:
    hint = hint_for(name)
    problem = _unsupported(kind)
    if problem is not None:
        return _unclassified(
            name, hint, problem.reason, problem.reason_zh, non_null=_count_non_null(column)
        )
    try:
        return _decide(name, column, sample_size, hint)
    except _Unsupported as exc:
        return _unclassified(name, hint, exc.reason, exc.reason_zh)
    except Exception as exc:  # bad data must give a finding, never an exception
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        return _unclassified(name, hint, f"could not be read ({detail})", f"无法读取（{detail}）")


def _decide(name: str, column: _Column, sample_size: int, hint: Hint) -> ColumnFinding:
    raw = column.sample(sample_size)
    if len(raw) == 0:
        if column.rows == 0:
            return _unclassified(name, hint, "the table has no rows", "表中没有数据行")
        return _unclassified(
            name,
            hint,
            f"all {column.rows:,} values are null",
            f"全部 {column.rows:,} 个值为空",
        )
    batch = _Batch(raw)
    size = max(len(raw) - batch.placeholders(), 1)  # placeholders say nothing
    shares = {code: float(batch.valid(code, hint).sum()) / size for code in DETECTORS}
    weak_only = {
        code: float(DETECTORS[code].check_weak_array(batch.cleaned).sum()) / size
        for code in ("gps", "taiwan_permit")
        if code not in hint.types and not _temporal(raw.type)
    }
    text_like = (
        pa.types.is_string(raw.type)
        or pa.types.is_large_string(raw.type)
        or pa.types.is_string_view(raw.type)
        or pa.types.is_dictionary(raw.type)
    ) and (
        float(pc.sum(pc.match_substring_regex(batch.cleaned, _TEXT_MARK)).as_py() or 0) / len(raw)
        >= TEXT_LIKE
        or FREE_TEXT in hint.types
    )
    ranked = sorted(
        (
            code
            for code, share in shares.items()
            if share >= SAMPLE_SHARE or (code in hint.types and share > 0)
        ),
        key=lambda code: -_confidence(code, shares[code], hint),
    )[:MAX_CANDIDATES]
    scan = text_like and not any(shares[c] >= 0.5 for c in ranked)

    non_null, blank, valid, found, any_found = _validate(column, ranked, hint, scan)
    if non_null == 0:  # the sample saw values the stream did not: treat as empty
        return _unclassified(name, hint, "no non-null values", "没有非空值")
    counted = max(non_null - blank, 1)  # placeholders say nothing about the column

    best: tuple[float, int, str] | None = None
    for order, code in enumerate(ranked):
        share = valid[code] / counted
        confidence = _confidence(code, share, hint)
        if share >= MIN_SHARE and (best is None or confidence > best[0]):
            best = (confidence, order, code)
    if best is not None and best[0] >= DECIDE:
        return _typed(name, best[2], best[0], non_null, blank, valid[best[2]], hint)

    if text_like:
        if not scan:
            _, _, _, found, any_found = _validate(column, [], hint, True)
        if any_found:
            return _free_text(name, non_null, found, any_found, hint)

    return _not_found(name, hint, non_null, counted, ranked, valid, shares, weak_only, text_like)


def _validate(
    column: _Column, codes: list[str], hint: Hint, scan: bool
) -> tuple[int, int, dict[str, int], dict[str, int], int]:
    """One pass over the whole column: non-null count, placeholder count (when there are
    ``codes``), valid count per candidate, and (when ``scan``) how many values contain each
    searched type and any of them."""
    non_null = 0
    blank = 0
    valid = dict.fromkeys(codes, 0)
    found = dict.fromkeys(SEARCHED, 0)
    any_found = 0
    if not codes and not scan:
        return column.non_null(), blank, valid, found, any_found
    for values in column.batches():
        present = len(values) - values.null_count
        if present == 0:
            continue
        non_null += present
        batch = _Batch(values)
        if codes:
            blank += batch.placeholders()
        for code in codes:
            valid[code] += int(batch.valid(code, hint).sum())
        if scan:
            masks = contains_masks(batch.cleaned)
            union = np.zeros(len(values), dtype=bool)
            for code, mask in masks.items():
                found[code] += int(mask.sum())
                union |= mask
            any_found += int(union.sum())
    return non_null, blank, valid, found, any_found


def _typed(
    name: str, code: str, confidence: float, non_null: int, blank: int, valid: int, hint: Hint
) -> ColumnFinding:
    en, zh = _label(code)
    share = valid / max(non_null - blank, 1)
    counted_en = f"{valid:,} of {non_null:,} non-null values"
    counted_zh = f"{non_null:,} 个非空值中 {valid:,} 个"
    if blank:
        counted_en = (
            f"{valid:,} of {non_null - blank:,} non-null values (and {blank:,} placeholders "
            "such as 无 or N/A, not counted)"
        )
        counted_zh = (
            f"{non_null - blank:,} 个非空值（另有 {blank:,} 个“无”“N/A”等占位值不计）"
            f"中 {valid:,} 个"
        )
    hint_en, hint_zh = _hint_text(code, hint)
    moderate_en = moderate_zh = ""
    if code not in hint.types and DETECTORS[code].ceiling < 1.0:
        moderate_en = f"; values alone give at most {DETECTORS[code].ceiling:.0%} confidence"
        moderate_zh = f"；仅凭取值置信度至多 {DETECTORS[code].ceiling:.0%}"
    return ColumnFinding(
        column=name,
        type=code,
        confidence=min(1.0, max(0.0, confidence)),
        non_null=non_null,
        valid=valid,
        contains=(),
        hint=_hint_code(code, hint),
        reason=f"{counted_en} ({share:.1%}) validate as {en}{moderate_en}{hint_en}",
        reason_zh=f"{counted_zh}（{share:.1%}）是有效的{zh}{moderate_zh}{hint_zh}",
    )


def _free_text(
    name: str, non_null: int, found: dict[str, int], any_found: int, hint: Hint
) -> ColumnFinding:
    contains = tuple(code for code in SEARCHED if found[code])
    share = any_found / non_null
    confidence = min(1.0, 0.6 + 2 * share)
    if FREE_TEXT in hint.types:
        confidence = confidence + (1.0 - confidence) * HINT_LIFT
    listed_en = ", ".join(f"{_label(c)[0]} ({found[c]:,})" for c in contains)
    listed_zh = "、".join(f"{_label(c)[1]}（{found[c]:,}）" for c in contains)
    return ColumnFinding(
        column=name,
        type=FREE_TEXT,
        confidence=confidence,
        non_null=non_null,
        valid=any_found,
        contains=contains,
        hint=_hint_code(FREE_TEXT, hint),
        reason=f"text; {any_found:,} of {non_null:,} values ({share:.1%}) contain identifiers: "
        f"{listed_en}",
        reason_zh=f"文本列：{non_null:,} 个值中 {any_found:,} 个（{share:.1%}）含有标识符："
        f"{listed_zh}",
    )


def _not_found(
    name: str,
    hint: Hint,
    non_null: int,
    counted: int,
    ranked: list[str],
    valid: dict[str, int],
    shares: dict[str, float],
    weak_only: dict[str, float],
    text_like: bool,
) -> ColumnFinding:
    hinted = [c for c in hint.types if c in DETECTORS]
    if ranked:
        code = max(ranked, key=lambda c: valid[c])
        en, zh = _label(code)
        share = valid[code] / counted
        reason = f"no type is clear: at best {share:.1%} of {non_null:,} values validate as {en}"
        reason_zh = f"未能确定类型：{non_null:,} 个值中至多 {share:.1%} 是有效的{zh}"
        if code in hint.types:
            reason += " although the column name suggests it (a name alone never decides)"
            reason_zh += "，尽管列名如此提示（仅凭列名不做判定）"
    elif hinted:
        en, zh = _label(hinted[0])
        reason = f"the column name suggests {en}, but none of the sampled values is valid"
        reason_zh = f"列名提示为{zh}，但抽样值中没有有效值"
    elif text_like:
        reason = f"text; no identifier found in {non_null:,} values"
        reason_zh = f"文本列：{non_null:,} 个值中未发现标识符"
    else:
        reason = f"no identifier type matches the values ({non_null:,} non-null)"
        reason_zh = f"取值不符合任何标识符类型（{non_null:,} 个非空值）"
    for code, share in weak_only.items():
        if share >= 0.5:
            en, zh = _label(code)
            reason += f"; the values look like {en} but a bare number needs a name hint"
            reason_zh += f"；取值形似{zh}，但纯数字需有列名提示"
            break
    return _unclassified(name, hint, reason, reason_zh, non_null=non_null)


# -- entry points -----------------------------------------------------------------------------


def _missing(name: str, names: list[str]) -> ColumnFinding:
    missing = name not in names
    return _unclassified(
        name,
        hint_for(name),
        "no such column" if missing else "the column name is not unique",
        "没有这一列" if missing else "列名不唯一",
    )


def classify_parquet(
    source: Any,
    *,
    columns: list[str] | None = None,
    sample_size: int = 1000,
    batch_rows: int = 131072,
) -> list[ColumnFinding]:
    """Classify the columns of a Parquet file (a path or a binary file object), in column
    order, streaming each column in record batches of ``batch_rows``.

    Raises ``Invalid`` (classification_unreadable) only when ``source`` is not a readable
    Parquet file; a column that fails to read gets an unclassified finding.
    """
    try:
        file = pq.ParquetFile(source)
        schema = file.schema_arrow
    except Exception as exc:
        raise Invalid(
            f"Cannot read the dataset as Parquet: {exc}",
            f"无法以 Parquet 格式读取数据集：{exc}",
            code="classification_unreadable",
        ) from exc
    names = schema.names
    findings = []
    for name in _selected(names, columns):
        if schema.get_field_index(name) < 0:
            findings.append(_missing(name, names))
            continue
        column = _ParquetColumn(file, name, batch_rows)
        findings.append(_classify(name, schema.field(name).type, column, sample_size))
    return findings


def classify_table(
    table: Any,
    *,
    columns: list[str] | None = None,
    sample_size: int = 1000,
    batch_rows: int = 131072,
) -> list[ColumnFinding]:
    """The same decision on an in-memory ``pyarrow.Table``, in column order."""
    names = table.schema.names
    findings = []
    for name in _selected(names, columns):
        index = table.schema.get_field_index(name)
        if index < 0:
            findings.append(_missing(name, names))
            continue
        values = table.column(index)
        findings.append(_classify(name, values.type, _TableColumn(values, batch_rows), sample_size))
    return findings


def _selected(names: list[str], columns: list[str] | None) -> list[str]:
    if columns is None:
        return list(names)
    return list(columns)


def finding_mask(values: Any, finding: ColumnFinding) -> Mask:
    """Which values of a column are instances of ``finding``: valid as its type (including the
    weak forms when the name agreed), or for ``free_text`` containing one of ``contains``.
    All False for an unclassified finding."""
    if finding.type is None:
        return np.zeros(len(values), dtype=bool)
    text = as_text(values)
    if finding.type == FREE_TEXT:
        union = np.zeros(len(values), dtype=bool)
        for mask in contains_masks(text, finding.contains).values():
            union |= mask
        return union
    detector = DETECTORS[finding.type]
    mask = detector.valid_mask(text)
    if finding.hint == finding.type:
        mask |= detector.weak_mask(text)
    return mask
