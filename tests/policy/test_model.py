"""The policy document: the documented example parses, the builder round-trips, every problem of
a bad document is listed at once with its path, windows and terms are computed, and the
plain-language description reads as documented."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yaosu.classification.masking import Generalize, Mask
from yaosu.kit.errors import Invalid
from yaosu.policy.describe import describe, describe_parts
from yaosu.policy.model import (
    ODRL_CONTEXT,
    PURPOSES,
    Constraint,
    Policy,
    Window,
    build_policy,
    day_of,
    includes,
    parse_policy,
    row,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
# Date-only bounds are days of the node's zone: the suite runs in Asia/Shanghai (UTC+8, no DST).
CST = dt.timezone(dt.timedelta(hours=8))
LABELS = {
    "name": "姓名",
    "id_no": "身份证号",
    "birth_date": "出生日期",
    "district_code": "区划代码",
    "street": "街道",
}
DISTRICTS = {"district_code": {"370602": "芝罘区", "370613": "莱山区"}}


def documented_example() -> dict[str, Any]:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"```json\n(.*?)```", text, re.S)
    assert match
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def base() -> dict[str, Any]:
    return {
        "@context": ODRL_CONTEXT,
        "@type": "Agreement",
        "uid": "grant:1",
        "assigner": "org:provider",
        "assignee": "org:consumer",
        "target": "resource:1",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {
                        "leftOperand": "yaosu:field",
                        "operator": "isAnyOf",
                        "rightOperand": ["name", "id_no", "district_code"],
                    }
                ],
                "duty": [],
            }
        ],
    }


def with_constraint(*constraints: dict[str, Any]) -> dict[str, Any]:
    doc = base()
    doc["permission"][0]["constraint"] += list(constraints)
    return doc


def c(left: str, op: str, right: Any, **extra: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": op, "rightOperand": right, **extra}


def problems_of(data: Any) -> list[dict[str, Any]]:
    with pytest.raises(Invalid) as exc:
        parse_policy(data)
    assert exc.value.code == "invalid_policy"
    problems: list[dict[str, Any]] = exc.value.details["problems"]
    return problems


# -- the documented example ------------------------------------------------------------------------


def test_documented_example_parses_into_its_terms() -> None:
    policy = parse_policy(documented_example())
    t = policy.terms
    assert t.actions == ("read", "yaosu:export")
    assert t.fields == ("name", "id_no", "birth_date", "district_code", "street")
    assert t.masking is not None and t.masking.name == "grant:2026-0042"
    assert t.masking.rules == {
        "id_no": Mask(format="resident_id"),
        "birth_date": Generalize(kind="birth_year"),
    }
    assert t.masked == {"id_no": "mask", "birth_date": "generalize"}
    assert [(r.column, r.operator, r.value) for r in t.row_filter] == [
        ("district_code", "isAnyOf", ("370602", "370613"))
    ]
    assert t.purposes == {"grassroots_governance", "government_service"}
    assert t.delivery_modes == {"api", "file"}
    assert t.window == Window(
        dt.datetime(2026, 7, 1, tzinfo=CST), dt.datetime(2027, 7, 1, tzinfo=CST)
    )
    assert (t.quota.calls_per_day, t.quota.rows_per_day, t.quota.rate_per_minute) == (
        1000,
        10000,
        60,
    )
    assert t.log is True
    assert [p.actions for p in policy.prohibition] == [("distribute",), ("use",)]


def test_documented_description_is_what_describe_says() -> None:
    policy = parse_policy(documented_example())
    zh = describe(policy, "zh", labels=LABELS, value_labels=DISTRICTS)
    assert f"“{zh}”" in DOCS.read_text(encoding="utf-8").replace("\n", "")


def test_document_round_trips() -> None:
    policy = parse_policy(documented_example())
    again = parse_policy(json.loads(json.dumps(policy.document())))
    assert again == policy
    assert again.document() == policy.document()


# -- the builder -----------------------------------------------------------------------------------


def test_builder_makes_the_issue_example() -> None:
    policy = build_policy(
        "grant:7",
        "org:a",
        "org:b",
        "resource:9",
        fields=["name", "id_no"],
        masking={"id_no": Mask(format="resident_id")},
        row_filter=[row("district_code", "isAnyOf", ["370602", "370613"])],
        not_after=dt.date(2027, 6, 30),
        rows_per_day=10_000,
        log=False,
    )
    assert (
        describe(policy, labels=LABELS, value_labels=DISTRICTS)
        == "字段 姓名、身份证号；身份证号 掩码；仅限 芝罘区、莱山区；至 2027-06-30；每日 10,000 行"
    )
    names = {"name": "姓名", "id_no": "身份证号"}
    assert describe(policy, "en", labels=names) == (
        "fields 姓名, 身份证号; 身份证号 masked; only district_code in 370602, 370613; "
        "until 2027-06-30; 10,000 rows a day"
    )
    doc = policy.document()
    assert doc["@context"] == ODRL_CONTEXT and doc["@type"] == "Agreement"
    assert doc["permission"][0]["duty"] == [
        {
            "action": "anonymize",
            "target": "id_no",
            "yaosu:masking": {
                "op": "mask",
                "keep_first": 0,
                "keep_last": 0,
                "char": "*",
                "format": "resident_id",
                "normalize": True,
            },
        }
    ]


def test_builder_takes_every_argument() -> None:
    policy = build_policy(
        "g",
        "a",
        "b",
        "t",
        fields=["x", "when"],
        actions=["read", "yaosu:export"],
        masking={"when": {"op": "date_shift", "days": 3}},
        row_filter=[
            {"leftOperand": "yaosu:row.x", "operator": "gt", "rightOperand": 3},
            row("when", "gteq", dt.date(2020, 1, 1)),
        ],
        purposes=["statistics"],
        delivery_modes=["file"],
        not_before=dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        not_after=dt.date(2026, 12, 31),
        calls_per_day=5,
        rows_per_day=6,
        rate_per_minute=7,
        prohibited_actions=["distribute", "yaosu:compute"],
    )
    t = policy.terms
    assert t.actions == ("read", "yaosu:export")
    assert [r.value for r in t.row_filter] == [3, "2020-01-01"]
    assert t.window.start == dt.datetime(2026, 1, 1, 0, tzinfo=dt.UTC)
    assert t.window.end == dt.datetime(2027, 1, 1, tzinfo=CST)
    assert (t.quota.calls_per_day, t.quota.rows_per_day, t.quota.rate_per_minute) == (5, 6, 7)
    assert t.purposes == {"statistics"} and t.delivery_modes == {"file"} and t.log
    assert [p.action for p in policy.prohibition] == ["distribute", "yaosu:compute"]


def test_builder_refuses_a_naive_datetime() -> None:
    with pytest.raises(Invalid) as exc:
        build_policy("g", "a", "b", "t", fields=["x"], not_after=dt.datetime(2027, 1, 1))
    assert [p["problem"] for p in exc.value.details["problems"]] == ["bad_right_operand"]


# -- problems --------------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc[path] = value

    return apply


def _perm(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc["permission"][0][key] = value

    return apply


def _add(*constraints: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc["permission"][0]["constraint"] += list(constraints)

    return apply


def _duty(*duties: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc["permission"][0]["duty"] += list(duties)

    return apply


def _prohibit(rule: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc.setdefault("prohibition", []).append(rule)

    return apply


def _no_fields(doc: dict[str, Any]) -> None:
    doc["permission"][0]["constraint"] = []


def _two_permissions(doc: dict[str, Any]) -> None:
    doc["permission"].append(copy.deepcopy(doc["permission"][0]))


BAD: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("context", _set("@context", "http://example.com"), "@context", "bad_context"),
    ("type", _set("@type", "Offer"), "@type", "bad_type"),
    ("empty uid", _set("uid", " "), "uid", "empty"),
    ("no permission", _set("permission", []), "permission", "one_permission"),
    ("two permissions", _two_permissions, "permission", "one_permission"),
    ("unknown action", _perm("action", "sell"), "permission[0]", "unknown_action"),
    ("no action", _perm("action", []), "permission[0]", "no_action"),
    ("other target", _perm("target", "resource:2"), "permission[0].target", "target_mismatch"),
    ("no fields", _no_fields, "permission[0]", "missing_fields"),
    (
        "unknown operand",
        _add(c("spatial", "eq", "x")),
        "permission[0].constraint[1]",
        "unknown_left_operand",
    ),
    (
        "row without column",
        _add(c("yaosu:row.", "eq", "x")),
        "permission[0].constraint[1]",
        "bad_left_operand",
    ),
    (
        "unknown operator",
        _add(c("purpose", "in", ["statistics"])),
        "permission[0].constraint[1]",
        "unknown_operator",
    ),
    (
        "operator of another operand",
        _add(c("dateTime", "eq", "2027-01-01")),
        "permission[0].constraint[1]",
        "operator_not_supported",
    ),
    (
        "unit",
        _add(c("yaosu:callsPerDay", "lteq", 5, unit="hour")),
        "permission[0].constraint[1]",
        "unit_not_supported",
    ),
    (
        "quota as text",
        _add(c("yaosu:callsPerDay", "lteq", "5")),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "quota as boolean",
        _add(c("yaosu:rowsPerDay", "lteq", True)),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "quota zero",
        _add(c("yaosu:ratePerMinute", "lteq", 0)),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "naive date-time",
        _add(c("dateTime", "lt", "2027-01-01T00:00:00")),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "not a date",
        _add(c("dateTime", "lt", "2027-02-30")),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "date out of range",
        _add(c("dateTime", "lteq", "9999-12-31")),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "fields not a list",
        _perm("constraint", [c("yaosu:field", "isAnyOf", "name")]),
        "permission[0].constraint[0]",
        "bad_right_operand",
    ),
    (
        "row list of mixed types",
        _add(c("yaosu:row.d", "isAnyOf", ["1", 2])),
        "permission[0].constraint[1]",
        "mixed_types",
    ),
    (
        "row empty list",
        _add(c("yaosu:row.d", "isNoneOf", [])),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "row scalar for a set operator",
        _add(c("yaosu:row.d", "isAnyOf", "370602")),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "row list for a scalar operator",
        _add(c("yaosu:row.d", "eq", ["370602"])),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "row ordered boolean",
        _add(c("yaosu:row.flag", "lt", True)),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "row NaN",
        _add(c("yaosu:row.x", "gt", float("nan"))),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "unknown purpose",
        _add(c("purpose", "eq", "curiosity")),
        "permission[0].constraint[1]",
        "unknown_purpose",
    ),
    (
        "purposes not a list",
        _add(c("purpose", "isAnyOf", "statistics")),
        "permission[0].constraint[1]",
        "bad_right_operand",
    ),
    (
        "unknown delivery mode",
        _add(c("yaosu:deliveryMode", "isAnyOf", ["api", "fax"])),
        "permission[0].constraint[1]",
        "unknown_delivery_mode",
    ),
    (
        "purpose twice",
        _add(c("purpose", "eq", "statistics"), c("purpose", "eq", "statistics")),
        "permission[0].constraint[2]",
        "duplicate_constraint",
    ),
    (
        "contradictory window",
        _add(c("dateTime", "gteq", "2027-01-01"), c("dateTime", "lt", "2027-01-01")),
        "permission[0].constraint[2]",
        "empty_window",
    ),
    (
        "contradictory window across zones",
        _add(
            c("dateTime", "gt", "2027-01-01T08:00:00+08:00"),
            c("dateTime", "lteq", "2027-01-01T00:00:00Z"),
        ),
        "permission[0].constraint[2]",
        "empty_window",
    ),
    (
        "unknown duty",
        _duty({"action": "compensate"}),
        "permission[0].duty[0]",
        "unknown_duty",
    ),
    (
        "anonymize without rule",
        _duty({"action": "anonymize", "target": "id_no"}),
        "permission[0].duty[0]",
        "bad_duty",
    ),
    (
        "log with target",
        _duty({"action": "log", "target": "id_no"}),
        "permission[0].duty[0]",
        "bad_duty",
    ),
    (
        "masking a field not granted",
        _duty({"action": "anonymize", "target": "mobile", "yaosu:masking": {"op": "hash"}}),
        "permission[0].duty[0]",
        "masked_field_not_granted",
    ),
    (
        "masking a field twice",
        _duty(
            {"action": "anonymize", "target": "id_no", "yaosu:masking": {"op": "hash"}},
            {"action": "anonymize", "target": "id_no", "yaosu:masking": {"op": "suppress"}},
        ),
        "permission[0].duty[1]",
        "duplicate_masking",
    ),
    (
        "invalid masking rule",
        _duty({"action": "anonymize", "target": "id_no", "yaosu:masking": {"op": "blur"}}),
        "permission[0].duty[0]",
        "masking_union_tag_invalid",
    ),
    (
        "masking rule with a bad parameter",
        _duty(
            {
                "action": "anonymize",
                "target": "id_no",
                "yaosu:masking": {"op": "mask", "keep_first": -1},
            }
        ),
        "permission[0].duty[0]",
        "masking_greater_than_equal",
    ),
    (
        "prohibition on rows",
        _prohibit({"action": "use", "constraint": [c("yaosu:row.d", "eq", "1")]}),
        "prohibition[0].constraint[0]",
        "operand_not_in_prohibition",
    ),
    (
        "prohibition with duty",
        _prohibit({"action": "distribute", "duty": [{"action": "log"}]}),
        "prohibition[0]",
        "duty_in_prohibition",
    ),
    (
        "prohibition of an unknown action",
        _prohibit({"action": "sell"}),
        "prohibition[0]",
        "unknown_action",
    ),
    ("shape: missing uid", lambda d: d.pop("uid"), "uid", "missing"),
    ("shape: unknown key", _perm("remedy", []), "permission[0].remedy", "extra_forbidden"),
    (
        "shape: constraint without operator",
        _perm("constraint", [{"leftOperand": "purpose", "rightOperand": "x"}]),
        "permission[0].constraint[0].operator",
        "missing",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "problem"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_each_problem_is_named_with_its_path(
    mutate: Callable[[dict[str, Any]], None], path: str, problem: str
) -> None:
    doc = base()
    mutate(doc)
    found = [(p["path"], p["problem"]) for p in problems_of(doc)]
    assert (path, problem) in found
    for p in problems_of(doc):
        assert p["message"].startswith(p["path"]) and p["message_zh"].startswith(p["path"])


def test_every_problem_is_listed_at_once() -> None:
    doc = base()
    doc["@type"] = "Set"
    doc["permission"][0]["action"] = ["read", "sell"]
    doc["permission"][0]["constraint"] += [
        c("purpose", "eq", "curiosity"),
        c("yaosu:callsPerDay", "lt", 5),
        c("yaosu:bogus", "eq", 1),
    ]
    doc["permission"][0]["duty"] = [
        {"action": "anonymize", "target": "phone", "yaosu:masking": {"op": "hash"}}
    ]
    with pytest.raises(Invalid) as exc:
        parse_policy(doc)
    problems = [p["problem"] for p in exc.value.details["problems"]]
    assert problems == [
        "bad_type",
        "unknown_action",
        "unknown_purpose",
        "operator_not_supported",
        "unknown_left_operand",
        "masked_field_not_granted",
    ]
    assert exc.value.message.endswith("(and 5 more)")
    assert exc.value.message_zh.endswith("（另有 5 个问题）")
    assert exc.value.details["policy"] == "grant:1"


def test_constructing_a_policy_directly_is_checked_too() -> None:
    doc = with_constraint(c("purpose", "eq", "curiosity"))
    with pytest.raises(Invalid):
        Policy.model_validate(doc)


def test_not_a_document_at_all() -> None:
    assert problems_of([1, 2])[0]["path"] == "policy"


# -- reading ---------------------------------------------------------------------------------------


def test_json_ld_value_objects_are_read_as_values() -> None:
    policy = parse_policy(
        with_constraint(
            c("dateTime", "lteq", {"@value": "2027-06-30", "@type": "xsd:date"}),
            c("yaosu:row.d", "isAnyOf", [{"@value": "1"}, {"@value": "2"}]),
        )
    )
    assert policy.terms.window.end == dt.datetime(2027, 7, 1, tzinfo=CST)
    assert policy.terms.row_filter[0].value == ("1", "2")


def test_context_may_be_a_list_with_odrl() -> None:
    doc = base()
    doc["@context"] = [ODRL_CONTEXT, {"yaosu": "https://yaosu.example/ns#"}]
    assert parse_policy(doc).context == doc["@context"]


@pytest.mark.parametrize(
    ("constraints", "start", "end"),
    [
        ([("gteq", "2026-01-01")], dt.datetime(2026, 1, 1, tzinfo=CST), None),
        ([("gt", "2026-01-01")], dt.datetime(2026, 1, 2, tzinfo=CST), None),
        ([("lteq", "2026-01-01")], None, dt.datetime(2026, 1, 2, tzinfo=CST)),
        ([("lt", "2026-01-01")], None, dt.datetime(2026, 1, 1, tzinfo=CST)),
        (
            [("lt", "2026-01-01T08:00:00+08:00")],
            None,
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ),
        (
            [("lteq", "2026-01-01T00:00:00Z")],
            None,
            dt.datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        ),
        (
            [("gteq", "2026-01-01"), ("gteq", "2026-03-01"), ("lt", "2027-01-01")],
            dt.datetime(2026, 3, 1, tzinfo=CST),
            dt.datetime(2027, 1, 1, tzinfo=CST),
        ),
    ],
)
def test_window_bounds(
    constraints: list[tuple[str, str]], start: dt.datetime | None, end: dt.datetime | None
) -> None:
    policy = parse_policy(with_constraint(*(c("dateTime", op, v) for op, v in constraints)))
    assert policy.terms.window == Window(start, end)


def test_a_single_instant_window_is_not_empty() -> None:
    at = "2026-01-01T00:00:00Z"
    policy = parse_policy(with_constraint(c("dateTime", "gteq", at), c("dateTime", "lteq", at)))
    assert policy.terms.window.contains(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_negative_choices_are_complemented() -> None:
    policy = parse_policy(
        with_constraint(
            c("purpose", "isNoneOf", ["marketing", "commercial_use"]),
            c("yaosu:deliveryMode", "neq", "file"),
        )
    )
    assert policy.terms.purposes == set(PURPOSES) - {"marketing", "commercial_use"}
    assert policy.terms.delivery_modes == {"api", "subscription"}


def test_no_masking_and_no_log() -> None:
    t = parse_policy(base()).terms
    assert t.masking is None and t.masked == {} and not t.log
    assert t.purposes is None and t.delivery_modes is None and t.window == Window()


def test_action_inclusion() -> None:
    assert includes("use", "yaosu:export") and includes("read", "read")
    assert not includes("read", "yaosu:export") and not includes("read", "use")


def test_row_helper() -> None:
    assert row("d", "isAnyOf", {"1"}) == Constraint(
        left_operand="yaosu:row.d", operator="isAnyOf", right_operand=["1"]
    )
    assert row("d", "eq", dt.date(2026, 1, 2)).right_operand == "2026-01-02"
    assert row("名 字", "eq", "x").column == "名 字"


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_day_of_is_the_date_in_the_node_zone(at: dt.datetime) -> None:
    assert day_of(at) == at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert day_of(at.astimezone(dt.timezone(dt.timedelta(hours=-5)))) == day_of(at)


# -- describing ------------------------------------------------------------------------------------


def test_describe_negative_and_ordered_rows_without_labels() -> None:
    policy = build_policy(
        "g",
        "a",
        "b",
        "t",
        fields=["age", "district_code"],
        row_filter=[
            row("district_code", "isNoneOf", ["370602"]),
            row("age", "gteq", 18),
            row("district_code", "neq", "370699"),
        ],
        purposes=["statistics"],
        delivery_modes=["api"],
        not_before=dt.date(2026, 1, 1),
        calls_per_day=1000,
        rate_per_minute=60,
        log=False,
    )
    assert describe_parts(policy) == [
        "字段 age、district_code",
        "不含 district_code 为 370602",
        "仅限 age ≥ 18",
        "不含 district_code 为 370699",
        "用途 统计分析",
        "方式 接口",
        "自 2026-01-01",
        "每日 1,000 次调用",
        "每分钟 60 次",
    ]
    assert describe(policy, "en", value_labels=DISTRICTS) == (
        "fields age, district_code; except 芝罘区; only age ≥ 18; except district_code = 370699; "
        "for statistics; by API; from 2026-01-01; 1,000 calls a day; 60 calls a minute"
    )


def test_describe_dropped_field_and_prohibition_with_window() -> None:
    doc = base()
    doc["permission"][0]["duty"] = [
        {
            "action": "anonymize",
            "target": "id_no",
            "yaosu:masking": {"op": "suppress", "drop": True},
        }
    ]
    doc["prohibition"] = [
        {
            "action": ["yaosu:export", "distribute"],
            "constraint": [
                c("dateTime", "lt", "2026-01-01"),
                c("yaosu:deliveryMode", "isNoneOf", ["api"]),
            ],
        }
    ]
    policy = parse_policy(doc)
    assert describe_parts(policy, labels=LABELS)[1:] == [
        "身份证号 删除",
        "禁止导出、分发（2026-01-01 之前，方式非 接口）",
    ]
    assert describe_parts(policy, "en", labels=LABELS)[1:] == [
        "身份证号 dropped",
        "no export, distribute (before 2026-01-01, by other than API)",
    ]


# -- robustness ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["2026-01-01", "2026-01-01T00:00:00Z", "isAnyOf", "yaosu:row.x", "mask"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.sampled_from(["leftOperand", "operator", "rightOperand", "unit"]),
    json_values,
    st.sampled_from(["action", "target", "duty", "constraint"]),
    json_values,
)
def test_any_json_either_parses_or_is_refused_as_invalid(
    constraint_key: str, constraint_value: Any, rule_key: str, rule_value: Any
) -> None:
    doc = base()
    doc["permission"][0]["constraint"].append(c("yaosu:row.x", "eq", 1))
    doc["permission"][0]["constraint"][-1][constraint_key] = constraint_value
    for _ in range(2):
        try:
            parse_policy(doc)
        except Invalid as exc:
            assert exc.details["problems"]
        doc["permission"][0][rule_key] = rule_value


@given(json_values)
def test_any_json_document_is_refused_as_invalid(data: Any) -> None:
    with pytest.raises(Invalid):
        parse_policy(data)
