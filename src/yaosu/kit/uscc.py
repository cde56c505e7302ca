"""Unified social credit code 统一社会信用代码 (GB 32100-2015).

18 characters: registration authority (1), organization category (1), administrative division
code (6 digits), organization code (9, GB 11714), and a check character computed mod 31 over the
first 17 with fixed weights. Letters I, O, Z, S, V are never used.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def check_character(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_issue(code: str) -> tuple[str, str] | None:
    """Why ``code`` is not a valid USCC, in English and in Chinese, or None when it is."""
    if len(code) != 18:
        return (
            f"must be 18 characters, got {len(code)}",
            f"应为 18 位，实际为 {len(code)} 位",
        )
    if not _SHAPE.match(code):
        return (
            "contains characters outside GB 32100 (digits and A-Y without I, O, S, V, Z)",
            "含有 GB 32100 不允许的字符"
            "（第 3–8 位为数字，其余为数字或除 I、O、S、V、Z 外的大写字母）",
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"check character is {code[17]!r}, expected {expected!r}",
            f"校验位为 {code[17]}，按前 17 位计算应为 {expected}",
        )
    return None


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid USCC (in English), or None when it is."""
    issue = uscc_issue(code)
    return issue[0] if issue else None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None
