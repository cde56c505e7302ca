"""English plurals and the words catalog: every message in both languages, counts that agree
with their number, the same values named in zh and en."""

from __future__ import annotations

import re
import string

import pytest

from yaosu.kit import validation, wording
from yaosu.web import i18n


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 datasets"), (1, "1 dataset"), (2, "2 datasets"), ("1,000", "1,000 datasets")],
)
def test_a_count_chooses_its_english_form(n: object, expected: str) -> None:
    assert wording.fill("{n} {n|dataset|datasets}", n=n) == expected
    assert i18n.t("orgs.datasets", "en", n=n) == expected
    assert i18n.t("orgs.datasets", "zh", n=n) == f"{n} 个数据集"


@pytest.mark.parametrize(
    ("n", "datasets", "entries"),
    [(0, "0 datasets", "0 entries"), (1, "1 dataset", "1 entry"), (2, "2 datasets", "2 entries")],
)
def test_the_search_and_trail_counts(n: int, datasets: str, entries: str) -> None:
    assert i18n.t("search.results", "en", total=n) == datasets
    assert i18n.t("trl.count", "en", total=n) == entries


def test_several_counts_in_one_message() -> None:
    one = i18n.t("shr.usage.total", "en", calls=1, rows=1, refused=0)
    many = i18n.t("shr.usage.total", "en", calls=2, rows=0, refused=3)
    assert one == "1 call, 1 row, 0 refused"
    assert many == "2 calls, 0 rows, 3 refused"


def test_without_values_the_marker_is_left_for_the_scripts() -> None:
    # Words handed to the page's scripts keep their markers; the scripts fill them.
    assert "{n|entry|entries}" in i18n.t("trl.js.all_ok", "en")


def _names(text: str) -> set[str]:
    plain = wording.PLURAL.sub(lambda m: "{" + m.group(1) + "}", text)
    return {f for _, f, _, _ in string.Formatter().parse(plain) if f}


def test_every_message_has_both_languages_and_the_same_values() -> None:
    pairs = {
        **i18n.MESSAGES,
        **{f"reason.{k}": v for k, v in validation.REASONS.items()},
        **{f"field.{k}": v for k, v in validation.FIELD_LABELS.items()},
    }
    for key, (zh, en) in pairs.items():
        assert zh.strip() and en.strip(), key
        assert not wording.PLURAL.search(zh), f"{key}: Chinese has no plural forms"
        assert _names(zh) == _names(en), key


def test_english_counts_in_the_catalog_say_their_forms() -> None:
    # "{n} rows" with n = 1 reads "1 rows": a count followed by a plural noun names both forms.
    bare = re.compile(
        r"\{(n|total|rows|days|calls)\} (rows|days|datasets|entries|calls|resources)\b"
    )
    offenders = [k for k, (_, en) in i18n.MESSAGES.items() if bare.search(en)]
    assert not offenders, offenders
