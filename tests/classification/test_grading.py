"""The grading rule table: the shipped table parses, rules decide in order, broken tables are
refused with the place of the problem, and a node file replaces sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from yaosu.classification import grading, rules
from yaosu.classification.columns import TYPES
from yaosu.kit.errors import Invalid


@pytest.fixture(scope="module")
def table() -> grading.RuleTable:
    return grading.load(TYPES)


def shipped() -> dict[str, Any]:
    data = yaml.safe_load(grading.default_text())
    assert isinstance(data, dict)
    return data


def facts(table: grading.RuleTable, types: list[str], rows: int = 100, **kw: Any) -> Any:
    return grading.facts_for(
        table, [(t, [], None) for t in types], rows, kw.pop("domains", []), **kw
    )


def test_shipped_table_covers_every_detector_type(table: grading.RuleTable) -> None:
    assert set(table.types) == set(TYPES)
    assert table.rules[-1].when == {}
    assert len(table.digest) == 64


@pytest.mark.parametrize(
    ("types", "rows", "catalog", "domains", "grade", "rule"),
    [
        ([], 10, [], [], "general_1", "default"),
        (["uscc"], 10, [], [], "general_1", "default"),
        (["person_name"], 10, [], [], "general_2", "personal"),
        (["mobile", "address"], 200_000, [], [], "general_3", "personal_at_volume"),
        (["resident_id", "person_name"], 10, [], [], "general_4", "sensitive_personal"),
        (["resident_id"], 1_000_000, [], [], "important", "sensitive_personal_at_scale"),
        (["mobile"], 10_000_000, [], [], "important", "personal_at_scale"),
        (["gps"], 100_000, [], ["natural_resources_geo"], "important", "precise_geography"),
        (["gps"], 100_000, [], ["population"], "general_4", "sensitive_personal"),
        ([], 10, ["important"], [], "important", "important_catalog"),
        (["resident_id"], 10, ["important", "core"], [], "core", "core_catalog"),
    ],
)
def test_first_matching_rule_decides(
    table: grading.RuleTable,
    types: list[str],
    rows: int,
    catalog: list[str],
    domains: list[str],
    grade: str,
    rule: str,
) -> None:
    p = grading.propose(table, facts(table, types, rows, domains=domains, catalog=catalog))
    assert (p.grade, p.rule_id) == (grade, rule)
    assert p.matched[0] == rule and "default" in p.matched
    assert p.reason_zh and p.reason_en


def test_free_text_takes_the_class_of_what_it_contains(table: grading.RuleTable) -> None:
    assert table.pi_class("free_text", []) == "none"
    assert table.pi_class("free_text", ["mobile"]) == "general"
    assert table.pi_class("free_text", ["mobile", "resident_id"]) == "sensitive"
    f = grading.facts_for(table, [("free_text", ["bank_card"], None)], 5, [])
    assert "bank_card" in f.types and "sensitive" in f.pi_classes
    assert grading.propose(table, f).grade == "general_4"


def test_a_reviewed_class_overrides_the_types_class(table: grading.RuleTable) -> None:
    f = grading.facts_for(table, [("resident_id", [], "none")], 5, [])
    assert grading.propose(table, f).grade == "general_1"


def test_group_cycle_is_refused_with_its_path() -> None:
    data = shipped()
    data["groups"] = {"a": ["mobile", "group:b"], "b": ["group:a"]}
    with pytest.raises(Invalid) as exc:
        grading.parse(data, TYPES, "node.yaml")
    assert exc.value.code == "invalid_rule_table"
    assert "cycle" in exc.value.message and "a → b → a" in exc.value.message
    assert "循环" in exc.value.message_zh


@pytest.mark.parametrize(
    ("mutate", "where", "words"),
    [
        (lambda d: d["groups"].update(x=["fingerprint"]), "groups.x", "unknown type"),
        (lambda d: d["types"].update(fingerprint={"pi_class": "sensitive"}), "types", "unknown"),
        (lambda d: d["types"].pop("mobile"), "types", "no class for mobile"),
        (lambda d: d["types"]["mobile"].update(pi_class="secret"), "types.mobile", "pi_class"),
        (lambda d: d["rules"][0].update(grade="top"), "rules[0]", "grade must be"),
        (lambda d: d["rules"][0].update(when={"colour": "red"}), "rules[0]", "unknown condition"),
        (lambda d: d["rules"][2]["when"].update(min_rows="many"), "rules[2]", "min_rows"),
        (lambda d: d["rules"][3]["when"].update(any_type=["group:nope"]), "rules[3]", "group"),
        (lambda d: d["rules"].append(dict(d["rules"][0])), "rules", "duplicate id"),
        (lambda d: d["rules"].pop(), "rules", "last rule must have no conditions"),
        (lambda d: d.update(rules=[]), "rules", "missing or empty"),
    ],
)
def test_broken_tables_are_refused(mutate: Any, where: str, words: str) -> None:
    data = shipped()
    mutate(data)
    with pytest.raises(Invalid) as exc:
        grading.parse(data, TYPES, "node.yaml")
    assert exc.value.details["where"].startswith(where)
    assert words in exc.value.message


def test_yaml_syntax_error_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "grading.yaml"
    bad.write_text("rules: [unclosed\n", encoding="utf-8")
    with pytest.raises(Invalid) as exc:
        grading.load(TYPES, bad)
    assert exc.value.code == "invalid_rule_table" and "YAML" in exc.value.message


def test_node_file_replaces_whole_sections(tmp_path: Path) -> None:
    node = tmp_path / "grading.yaml"
    node.write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {"id": "phones", "grade": "general_3", "when": {"any_type": ["mobile"]}},
                    {"id": "rest", "grade": "general_1", "when": {}},
                ]
            }
        ),
        encoding="utf-8",
    )
    table = grading.load(TYPES, node)
    assert [r.id for r in table.rules] == ["phones", "rest"]
    assert table.types["resident_id"]["pi_class"] == "sensitive"  # kept from the shipped file
    assert grading.propose(table, facts(table, ["mobile"])).grade == "general_3"
    assert grading.propose(table, facts(table, ["resident_id"])).grade == "general_1"
    assert table.digest != grading.load(TYPES).digest


def test_grade_rules_and_sharing_flows() -> None:
    assert rules.higher("general_2", "important") == "important"
    assert rules.higher("core", "general_1") == "core"
    assert rules.sharing_flow("core") == "refuse"
    assert rules.sharing_flow("important") == "computation_only"
    assert rules.sharing_flow("general_4") == "policy"
    with pytest.raises(Invalid):
        rules.check_grade("secret")
    with pytest.raises(Invalid):
        rules.require_reason("  ", changed=True)
    assert rules.require_reason(None, changed=False) is None
    assert rules.review_state("general_2", "general_2") == "accepted"
    assert rules.review_state("general_2", "general_4") == "changed"
