"""A policy in plain words, zh-CN or en, for grant pages, approvals and notices:

    字段 姓名、身份证号；身份证号 掩码；仅限 芝罘区、莱山区；至 2027-06-30；每日 10,000 行
    fields 姓名, 身份证号; 身份证号 masked; only district_code in 370602, 370613; until
    2027-06-30; 10,000 rows a day

``labels`` maps a field name to its label (usually the Chinese one of the catalog), used in
both languages; ``value_labels`` maps a column to labels of its values (``{"district_code":
{"370602": "芝罘区"}}``), so a row filter reads as the places it keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from yaosu.kit.wording import fill
from yaosu.policy.model import (
    ACTIONS,
    DELIVERY_MODES,
    MASKING_OPS,
    PURPOSES,
    SET_OPERATORS,
    Constraint,
    Policy,
)

__all__ = ["describe", "describe_parts"]

Lang = Literal["zh", "en"]

_SYMBOLS = {"eq": "=", "neq": "≠", "lt": "<", "lteq": "≤", "gt": ">", "gteq": "≥"}


def describe(
    policy: Policy,
    lang: Lang = "zh",
    *,
    labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The policy as one line of clauses (``；`` between them in zh, ``; `` in en)."""
    sep = "；" if lang == "zh" else "; "
    return sep.join(describe_parts(policy, lang, labels=labels, value_labels=value_labels))


def describe_parts(
    policy: Policy,
    lang: Lang = "zh",
    *,
    labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """The clauses of ``describe``: actions (unless "use"), fields, masking, row filter,
    purposes, delivery modes, window, quotas, prohibitions."""
    zh = lang == "zh"
    i = 0 if zh else 1
    sep = "、" if zh else ", "
    terms = policy.terms
    names = labels or {}

    def label(field: str) -> str:
        return names.get(field, field)

    parts: list[str] = []
    if terms.actions != ("use",):
        acts = sep.join(ACTIONS[a][i] for a in terms.actions)
        parts.append(f"可{acts}" if zh else f"may {acts}")
    fields = sep.join(label(f) for f in terms.fields)
    parts.append(f"字段 {fields}" if zh else f"fields {fields}")
    if terms.masking is not None:
        masked = []
        for field, rule in terms.masking.rules.items():
            dropped = rule.op == "suppress" and getattr(rule, "drop", False)
            how = ("删除" if zh else "dropped") if dropped else MASKING_OPS[rule.op][i]
            masked.append(f"{label(field)} {how}")
        parts.append(("，" if zh else ", ").join(masked))
    parts += [_row(c, lang, label, value_labels or {}) for c in terms.row_filter]
    if terms.purposes is not None:
        codes = sorted(terms.purposes, key=list(PURPOSES).index)
        text = sep.join(PURPOSES[c][i] for c in codes)
        parts.append(f"用途 {text}" if zh else f"for {text}")
    if terms.delivery_modes is not None:
        codes = sorted(terms.delivery_modes, key=list(DELIVERY_MODES).index)
        text = sep.join(DELIVERY_MODES[c][i] for c in codes)
        parts.append(f"方式 {text}" if zh else f"by {text}")
    window = _window(
        [c for c in policy.permission[0].constraint if c.left_operand == "dateTime"], lang
    )
    if window:
        parts.append(window)
    q = terms.quota
    if q.calls_per_day is not None:
        n = q.calls_per_day
        parts.append(f"每日 {n:,} 次调用" if zh else fill("{n} {n|call|calls} a day", n=f"{n:,}"))
    if q.rows_per_day is not None:
        n = q.rows_per_day
        parts.append(f"每日 {n:,} 行" if zh else fill("{n} {n|row|rows} a day", n=f"{n:,}"))
    if q.rate_per_minute is not None:
        n = q.rate_per_minute
        parts.append(f"每分钟 {n:,} 次" if zh else fill("{n} {n|call|calls} a minute", n=f"{n:,}"))
    for prohibition in policy.prohibition:
        acts = sep.join(ACTIONS[a][i] for a in prohibition.actions)
        conditions = _conditions(prohibition.constraint, lang)
        if zh:
            parts.append(f"禁止{acts}" + (f"（{conditions}）" if conditions else ""))
        else:
            parts.append(f"no {acts}" + (f" ({conditions})" if conditions else ""))
    return parts


def _value(v: Any, labels: Mapping[str, str]) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return labels.get(str(v), str(v))


def _row(
    c: Constraint,
    lang: Lang,
    label: Callable[[str], str],
    value_labels: Mapping[str, Mapping[str, str]],
) -> str:
    zh = lang == "zh"
    column = c.column or ""
    known = value_labels.get(column, {})
    values = list(c.value) if c.operator in SET_OPERATORS else [c.value]
    text = ("、" if zh else ", ").join(_value(v, known) for v in values)
    all_labelled = bool(known) and all(str(v) in known for v in values)
    keep = c.operator in {"eq", "isAnyOf"}
    if c.operator not in SET_OPERATORS and c.operator not in {"eq", "neq"}:
        cond = f"{label(column)} {_SYMBOLS[c.operator]} {text}"
        return f"仅限 {cond}" if zh else f"only {cond}"
    if zh:
        head = "仅限" if keep else "不含"
        return f"{head} {text}" if all_labelled else f"{head} {label(column)} 为 {text}"
    head = "only" if keep else "except"
    if all_labelled:
        return f"{head} {text}"
    word = "=" if c.operator in {"eq", "neq"} else "in"
    return f"{head} {label(column)} {word} {text}"


def _window(constraints: Sequence[Constraint], lang: Lang) -> str:
    zh = lang == "zh"
    words = {
        "gteq": ("自 {}", "from {}"),
        "gt": ("{} 之后", "after {}"),
        "lteq": ("至 {}", "until {}"),
        "lt": ("{} 之前", "before {}"),
    }
    starts = [c for c in constraints if c.operator in {"gt", "gteq"}]
    ends = [c for c in constraints if c.operator in {"lt", "lteq"}]
    return " ".join(
        words[c.operator][0 if zh else 1].format(c.right_operand) for c in [*starts, *ends]
    )


def _conditions(constraints: Sequence[Constraint], lang: Lang) -> str:
    zh = lang == "zh"
    i = 0 if zh else 1
    out: list[str] = []
    for c in constraints:
        if c.left_operand == "dateTime":
            out.append(_window([c], lang))
            continue
        vocab, word = (
            (PURPOSES, ("用途", "purpose"))
            if c.left_operand == "purpose"
            else (DELIVERY_MODES, ("方式", "by"))
        )
        values = list(c.value) if c.operator in SET_OPERATORS else [c.value]
        text = ("、" if zh else ", ").join(vocab[v][i] if v in vocab else str(v) for v in values)
        negated = c.operator in {"neq", "isNoneOf"}
        if zh:
            out.append(f"{word[0]}{'非' if negated else '为'} {text}")
        else:
            out.append(f"{word[1]} {'other than ' if negated else ''}{text}")
    return ("，" if zh else ", ").join(out)
