from hypothesis import given
from hypothesis import strategies as st

from yaosu.kit.uscc import ALPHABET, check_character, is_valid_uscc, uscc_issue, uscc_problem

# Published codes of real, well-known organizations (public registration data).
KNOWN_VALID = [
    "91350100M000100Y43",  # example used across GB 32100 literature
    "911100001000079554",  # Sinopec Group
    "91440300708461136T",  # Huawei Investment & Holding
]

body = st.tuples(
    st.sampled_from("1234569ANY"),
    st.sampled_from("1239"),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(ALPHABET, min_size=9, max_size=9),
).map(lambda t: "".join(t))


def test_known_codes_validate() -> None:
    for code in KNOWN_VALID:
        assert uscc_problem(code) is None, code


@given(body)
def test_generated_codes_validate_and_any_single_change_fails(first17: str) -> None:
    code = first17 + check_character(first17)
    assert is_valid_uscc(code)
    for pos in range(18):
        for ch in "0A":
            if code[pos] != ch:
                mutated = code[:pos] + ch + code[pos + 1 :]
                # A change may land on another valid code only if it changed nothing mod 31.
                if is_valid_uscc(mutated):
                    assert mutated[:17] != code[:17] or mutated == code


def test_problems_are_precise() -> None:
    assert "18 characters" in (uscc_problem("9135") or "")
    assert "outside GB 32100" in (uscc_problem("91350100M000100YI3") or "")
    problem = uscc_problem("91350100M000100Y44")
    assert problem is not None and "expected '3'" in problem


def test_problems_are_told_in_chinese_too() -> None:
    assert uscc_issue("91350100M000100Y43") is None
    assert uscc_issue("9135") == ("must be 18 characters, got 4", "应为 18 位，实际为 4 位")
    issue = uscc_issue("91350100M000100Y44")
    assert issue is not None and issue[1] == "校验位为 4，按前 17 位计算应为 3"
    outside = uscc_issue("91350100M000100YI3")
    assert outside is not None and "不允许的字符" in outside[1]
