import pytest

from yaosu.catalog import rules, search
from yaosu.kit.errors import Conflict, Invalid


def test_workflow_transitions() -> None:
    for current, target in [
        ("draft", "submitted"),
        ("submitted", "published"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("published", "submitted"),
        ("published", "retired"),
    ]:
        rules.check_transition(current, target)
    for current, target in [
        ("draft", "published"),
        ("retired", "submitted"),
        ("returned", "published"),
    ]:
        with pytest.raises(Conflict, match="cannot become"):
            rules.check_transition(current, target)


def test_share_attribute_conditions_and_legal_basis() -> None:
    with pytest.raises(Invalid) as exc:
        rules.check_metadata({"share_attribute": "conditional"})
    assert exc.value.code == "share_conditions_required"
    with pytest.raises(Invalid) as exc:
        rules.check_metadata({"share_attribute": "none"})
    assert exc.value.code == "legal_basis_required"
    with pytest.raises(Invalid) as exc:
        rules.check_metadata(
            {
                "share_attribute": "none",
                "share_legal_basis": "《保密法》",
                "open_attribute": "unconditional",
            }
        )
    assert exc.value.code == "open_exceeds_share"
    with pytest.raises(Invalid, match="Unknown open attribute"):
        rules.check_metadata({"open_attribute": "sometimes"})


def test_classification_code_structure() -> None:
    for good in ("1", "101", "10102", "10102003"):
        rules.check_metadata({"classification_code": good})
    for bad in ("4", "1010", "A0102", "101020031"):
        with pytest.raises(Invalid):
            rules.check_metadata({"classification_code": bad})
    assert rules.resource_code("10102003", 7) == "10102003/000007"
    assert rules.registration_code("370600", 2026, 12) == "GZ370600-2026-00000012"


def test_fields_must_be_named_uniquely_and_typed() -> None:
    with pytest.raises(Invalid) as exc:
        rules.check_fields([{"name": "a", "type": "string"}, {"name": "a", "type": "string"}])
    assert exc.value.details["positions"] == [1, 2]
    with pytest.raises(Invalid, match="no name"):
        rules.check_fields([{"name": " ", "type": "string"}])
    with pytest.raises(Invalid, match="unknown type"):
        rules.check_fields([{"name": "a", "type": "blob"}])


def test_incomplete_entries_cannot_be_submitted() -> None:
    with pytest.raises(Invalid) as exc:
        rules.check_publishable({"classification_code": "1", "fields": []})
    assert "summary" in exc.value.details["missing"] and "fields" in exc.value.details["missing"]


def test_diff_is_readable_per_field() -> None:
    before = {
        "name": "甲",
        "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "date"}],
    }
    after = {"name": "乙", "fields": [{"name": "a", "type": "text"}, {"name": "c", "type": "date"}]}
    d = rules.diff(before, after)
    assert {"key": "name", "change": "changed", "before": "甲", "after": "乙"} in d
    assert [x["change"] for x in d if x["key"].startswith("fields.")] == [
        "changed",
        "removed",
        "added",
    ]


def test_chinese_bigrams_and_english_words() -> None:
    assert search.terms("常住人口 Population-Register") == [
        "常住",
        "住人",
        "人口",
        "population",
        "register",
    ]
    assert search.terms("市") == ["市"]
    assert search.terms("ＡＢＣ１２３") == ["abc123"]  # full-width folded by NFKC
    weights = search.weighted_terms([("人口", 3), ("人口信息", 1)])
    assert weights["人口"] == 3 and weights["信息"] == 1
