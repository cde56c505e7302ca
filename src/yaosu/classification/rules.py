"""Pure classification rules: grades, personal-information classes and the review states.
No I/O."""

from __future__ import annotations

from yaosu.kit.errors import Conflict, Invalid

# Data grades 数据分级 of GB/T 43697-2024, highest first. General data 一般数据 is split into
# four levels (4 = most harmful if leaked).
GRADES: dict[str, tuple[str, str]] = {
    "core": ("核心数据", "Core data"),
    "important": ("重要数据", "Important data"),
    "general_4": ("一般数据（4级）", "General data, level 4"),
    "general_3": ("一般数据（3级）", "General data, level 3"),
    "general_2": ("一般数据（2级）", "General data, level 2"),
    "general_1": ("一般数据（1级）", "General data, level 1"),
}
GRADE_ORDER = tuple(GRADES)  # index 0 is the highest grade

# Personal-information classes: sensitive per PIPL art. 28 (敏感个人信息), general personal
# information (一般个人信息), and not personal (enterprise codes, business figures).
PI_CLASSES: dict[str, tuple[str, str]] = {
    "sensitive": ("敏感个人信息", "Sensitive personal information"),
    "general": ("一般个人信息", "General personal information"),
    "none": ("非个人信息", "Not personal information"),
}

# A field or dataset proposal is reviewed by the provider's data officer.
REVIEW_STATES: dict[str, str] = {
    "proposed": "待确认",
    "accepted": "已确认",
    "changed": "已更正",
}

IMPORTANT_KINDS = ("important", "core")


def check_grade(grade: str) -> str:
    if grade not in GRADES:
        raise Invalid(
            f"Unknown grade {grade!r}; use one of {', '.join(GRADES)}.",
            f"未知的数据级别 {grade!r}，可选：{'、'.join(GRADES)}。",
            code="unknown_grade",
            allowed=list(GRADES),
        )
    return grade


def check_pi_class(pi_class: str) -> str:
    if pi_class not in PI_CLASSES:
        raise Invalid(
            f"Unknown personal-information class {pi_class!r}; use one of {', '.join(PI_CLASSES)}.",
            f"未知的个人信息类别 {pi_class!r}，可选：{'、'.join(PI_CLASSES)}。",
            code="unknown_pi_class",
            allowed=list(PI_CLASSES),
        )
    return pi_class


def higher(a: str, b: str) -> str:
    """The higher of two grades."""
    return a if GRADE_ORDER.index(a) <= GRADE_ORDER.index(b) else b


def require_reason(reason: str | None, *, changed: bool) -> str | None:
    """Any correction of a proposal needs a reason; accepting it does not."""
    text = (reason or "").strip()
    if changed and not text:
        raise Invalid(
            "Give the reason for the correction; it goes into the ledger.",
            "请填写更正理由，理由将记入存证账本。",
            code="reason_required",
        )
    return text or None


def review_state(proposed: str | None, chosen: str | None) -> str:
    return "accepted" if chosen == proposed else "changed"


def check_entry_status(status: str, action: str) -> None:
    """Important-data catalog entries: active ⇄ retired; a retired entry cannot be edited."""
    if status == "retired":
        raise Conflict(
            f"The entry is retired; it cannot be {action}.",
            f"该目录条目已废止，不能{'修改' if action == 'edited' else '再次废止'}。",
            code="entry_retired",
        )


def sharing_flow(grade: str | None) -> str:
    """What a grade lets sharing do (SEC-4): core data is not shared, important data only
    reaches computation (its raw rows never leave), general data flows under a grant's policy.
    An ungraded dataset is treated as general until reviewed."""
    if grade == "core":
        return "refuse"
    if grade == "important":
        return "computation_only"
    return "policy"
