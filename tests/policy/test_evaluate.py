"""The evaluator: every refusal code with its constraint, actual value, status and retry time; the
decision order; obligations of an allowed call; fitting a version; and the properties that a
call is refused exactly when one of its constraints is false and that operators and quotas
follow Python's semantics."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fixtures.timezone import set_node_zone  # noqa: F401 (the fixture)
from yaosu.classification.masking import Mask
from yaosu.kit.errors import Forbidden, Invalid, TooManyRequests
from yaosu.policy.evaluate import (
    REFUSAL_CODES,
    Call,
    Decision,
    Usage,
    check_columns,
    compare,
    decide,
    rows_remaining,
)
from yaosu.policy.filters import Filter, parse_filters
from yaosu.policy.model import PURPOSES, Policy, build_policy, parse_policy, row

# 20:00 in Beijing: the suite's node zone is Asia/Shanghai (UTC+8), so the day ends in 4 hours.
AT = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
TO_LOCAL_MIDNIGHT = 4 * 3600
TYPES = {
    "name": "text",
    "id_no": "text",
    "birth_date": "date",
    "district_code": "text",
    "age": "integer",
    "secret": "text",
}
COLUMNS = ["district_code", "name", "id_no", "birth_date", "age", "secret"]


def grant(**changes: Any) -> Policy:
    args: dict[str, Any] = {
        "fields": ["name", "id_no", "birth_date", "district_code", "age"],
        "actions": ["read", "yaosu:export"],
        "masking": {
            "id_no": Mask(format="resident_id"),
            "birth_date": {"op": "generalize", "kind": "birth_year"},
        },
        "row_filter": [row("district_code", "isAnyOf", ["370602", "370613"])],
        "purposes": ["grassroots_governance", "government_service"],
        "delivery_modes": ["api", "file"],
        "not_before": dt.date(2026, 7, 1),
        "not_after": dt.date(2027, 6, 30),
        "calls_per_day": 1000,
        "rows_per_day": 10_000,
        "rate_per_minute": 60,
        "prohibited_actions": ["distribute"],
    }
    args.update(changes)
    return build_policy("grant:42", "org:provider", "org:consumer", "resource:1", **args)


POLICY = grant()


def call(**changes: Any) -> Call:
    data: dict[str, Any] = {"action": "read", "purpose": "government_service", "at": AT}
    data.update(changes)
    return Call(**data)


def refused(decision: Decision, code: str) -> dict[str, Any]:
    assert not decision.allowed, decision
    assert decision.failed is not None and decision.obligations is None
    assert decision.failed.code == code, decision.failed
    assert decision.status == REFUSAL_CODES[code]
    failed: dict[str, Any] = decision.failed.model_dump(mode="json")
    assert failed["message"] and failed["message_zh"]
    return failed


def filters(**query: str) -> tuple[Filter, ...]:
    return tuple(parse_filters({k: [v] for k, v in query.items()}, COLUMNS, TYPES))


# -- allowed ---------------------------------------------------------------------------------------


def test_an_allowed_call_carries_its_obligations() -> None:
    d = decide(POLICY, call(), columns=COLUMNS)
    assert d.allowed and d.status == 200 and d.failed is None and d.retry_after is None
    ob = d.obliged()
    assert ob.fields == ("district_code", "name", "id_no", "birth_date", "age")
    assert ob.masking is not None and set(ob.masking.rules) == {"id_no", "birth_date"}
    assert ob.row_filter == POLICY.terms.row_filter
    assert ob.max_rows == 10_000 and ob.log


def test_fields_asked_are_returned_in_resource_order_with_their_masking_only() -> None:
    d = decide(POLICY, call(fields=("age", "id_no", "age")), columns=COLUMNS)
    ob = d.obliged()
    assert ob.fields == ("id_no", "age")
    assert ob.masking is not None and list(ob.masking.rules) == ["id_no"]
    assert ob.masking.name == "grant:42"
    unmasked = decide(POLICY, call(fields=("age", "name"))).obliged()
    assert unmasked.fields == ("age", "name") and unmasked.masking is None


def test_granted_fields_missing_from_the_version_are_dropped_unless_asked_for() -> None:
    d = decide(POLICY, call(), columns=["name", "district_code"])
    assert d.obliged().fields == ("name", "district_code")
    failed = refused(decide(POLICY, call(fields=("age",)), columns=["name"]), "unknown_field")
    assert failed["rule"] == "request" and failed["actual"] == ["age"]


def test_rows_remaining_caps_the_call() -> None:
    usage = Usage(calls_today=3, rows_today=9_990)
    assert rows_remaining(POLICY, usage) == 10
    assert decide(POLICY, call(usage=usage)).obliged().max_rows == 10
    assert rows_remaining(POLICY, Usage(rows_today=20_000)) == 0
    assert rows_remaining(grant(rows_per_day=None), Usage(rows_today=10**9)) is None


def test_filters_on_unmasked_granted_fields_pass() -> None:
    d = decide(POLICY, call(filters=filters(age="gte.18", district_code="eq.370602")))
    assert d.allowed


# -- each refusal ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["suspended", "revoked", "expired"])
def test_grant_status(status: str) -> None:
    failed = refused(decide(POLICY, call(grant_status=status)), f"grant_{status}")
    assert failed["rule"] == "grant" and failed["actual"] == status
    assert "grant:42" in failed["message"] and "grant:42" in failed["message_zh"]


def test_suspension_and_resumption_act_on_the_next_call() -> None:
    assert not decide(POLICY, call(grant_status="suspended")).allowed
    assert decide(POLICY, call(grant_status="active")).allowed


def test_prohibited_action() -> None:
    policy = grant(actions="use")
    failed = refused(decide(policy, call(action="distribute")), "action_prohibited")
    assert failed == {
        "rule": "prohibition",
        "left_operand": "action",
        "operator": None,
        "right_operand": ["distribute"],
        "actual": "distribute",
        "code": "action_prohibited",
        "message": "The grant prohibits distribute.",
        "message_zh": "授权禁止分发。",
    }


def test_prohibition_with_a_condition() -> None:
    doc = POLICY.document()
    doc["prohibition"] = [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "yaosu:deliveryMode", "operator": "eq", "rightOperand": "file"}
            ],
        }
    ]
    policy = parse_policy(doc)
    failed = refused(decide(policy, call(delivery_mode="file")), "action_prohibited")
    assert failed["left_operand"] == "yaosu:deliveryMode"
    assert failed["operator"] == "eq" and failed["actual"] == "file"
    assert "when yaosu:deliveryMode eq file" in failed["message"]
    assert decide(policy, call(delivery_mode="api")).allowed


def test_action_not_permitted() -> None:
    failed = refused(decide(POLICY, call(action="yaosu:compute")), "action_not_permitted")
    assert failed["right_operand"] == ["read", "yaosu:export"]
    assert failed["actual"] == "yaosu:compute"
    assert failed["message"] == "The grant permits read, export, not compute."


@pytest.mark.parametrize(
    ("at", "operator", "bound", "actual"),
    [
        # Date bounds are days of the node's zone: 15:59:59Z is 23:59:59 on 06-30 in Beijing
        (dt.datetime(2026, 6, 30, 15, 59, 59, tzinfo=dt.UTC), "gteq", "2026-07-01", "2026-06-30"),
        # ... and 2027-06-30T16:00Z is already 2027-07-01 there
        (dt.datetime(2027, 6, 30, 16, tzinfo=dt.UTC), "lteq", "2027-06-30", "2027-07-01"),
        # 2027-06-30 23:59 in Beijing is the last minute of the grant: allowed
        (None, None, None, None),
    ],
)
def test_outside_window(
    at: dt.datetime | None, operator: str | None, bound: str | None, actual: str | None
) -> None:
    if at is None:
        beijing = dt.timezone(dt.timedelta(hours=8))
        assert decide(POLICY, call(at=dt.datetime(2027, 6, 30, 23, 59, tzinfo=beijing))).allowed
        assert decide(POLICY, call(at=dt.datetime(2026, 7, 1, 0, 0, tzinfo=beijing))).allowed
        return
    failed = refused(decide(POLICY, call(at=at)), "outside_window")
    assert (failed["left_operand"], failed["operator"]) == ("dateTime", operator)
    assert (failed["right_operand"], failed["actual"]) == (bound, actual)


def test_outside_a_datetime_window() -> None:
    policy = grant(not_after=dt.datetime(2026, 9, 1, 11, 59, 59, tzinfo=dt.UTC))
    failed = refused(decide(policy, call()), "outside_window")
    assert failed["actual"] == "2026-09-01T12:00:00Z"
    assert failed["message"] == (
        "The grant was valid until 2026-09-01T11:59:59+00:00; this call is at 2026-09-01T12:00:00Z."
    )


def test_purpose() -> None:
    failed = refused(decide(POLICY, call(purpose="marketing")), "purpose_not_allowed")
    assert failed["left_operand"] == "purpose" and failed["operator"] == "isAnyOf"
    assert failed["actual"] == "marketing"
    assert failed["message_zh"] == "授权不允许用途“营销推广”；允许的用途：政务服务、基层治理。"
    missing = refused(decide(POLICY, call(purpose=None)), "purpose_not_allowed")
    assert missing["actual"] is None and missing["message"].startswith("Declare the purpose")
    unknown = refused(decide(POLICY, call(purpose="whatever")), "purpose_not_allowed")
    assert unknown["actual"] == "whatever"
    assert decide(grant(purposes=None), call(purpose=None)).allowed


def test_delivery_mode() -> None:
    failed = refused(
        decide(POLICY, call(delivery_mode="subscription")), "delivery_mode_not_allowed"
    )
    assert (failed["left_operand"], failed["right_operand"]) == (
        "yaosu:deliveryMode",
        ["api", "file"],
    )
    assert failed["actual"] == "subscription"


def test_field_not_granted() -> None:
    failed = refused(decide(POLICY, call(fields=("name", "secret", "mobile"))), "field_not_granted")
    assert failed["left_operand"] == "yaosu:field" and failed["operator"] == "isAnyOf"
    assert failed["actual"] == ["secret", "mobile"]
    assert failed["message"].startswith("Not granted: secret, mobile.")


def test_filter_on_a_field_not_granted() -> None:
    failed = refused(decide(POLICY, call(filters=filters(secret="eq.x"))), "field_not_granted")
    assert failed["actual"] == ["secret"]
    assert failed["message"].startswith("Cannot filter on secret: not granted.")


@pytest.mark.parametrize(
    "order",
    [
        ("secret",),
        ("name", "secret"),
        ("SECRET",),
        ("Name",),
        ('"name"',),
        ("ｎａｍｅ",),
        ("nope",),
    ],
)
def test_sort_on_a_field_not_granted(order: tuple[str, ...]) -> None:
    """A sort reveals the order of the values it sorts by: only granted fields, spelled exactly
    (no case, quoting or full-width variant), whether or not the column exists."""
    failed = refused(decide(POLICY, call(order=order), columns=COLUMNS), "field_not_granted")
    assert failed["actual"] == [order[-1]]
    assert failed["message"].startswith(f"Cannot sort on {order[-1]}: not granted.")
    assert failed["left_operand"] == "yaosu:field"


@pytest.mark.parametrize("field", ["id_no", "birth_date"])
def test_sort_on_a_masked_field(field: str) -> None:
    failed = refused(decide(POLICY, call(order=("name", field))), "sort_on_masked_field")
    assert failed["left_operand"] == field and failed["actual"] == field
    err = decide(POLICY, call(order=(field,))).error()
    assert err is not None and err.status == 403


def test_sort_on_a_granted_field_missing_from_the_version() -> None:
    failed = refused(decide(POLICY, call(order=("age",)), columns=["name"]), "unknown_field")
    assert failed["actual"] == ["age"]
    assert decide(POLICY, call(order=("age", "name")), columns=COLUMNS).allowed


def test_no_fields() -> None:
    failed = refused(decide(POLICY, call(fields=())), "no_fields")
    assert failed["rule"] == "request"
    err = decide(POLICY, call(fields=())).error()
    assert isinstance(err, Invalid) and err.code == "no_fields"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"id_no": "eq.370602199001011234"}, "id_no"),
        ({"id_no": "not.in.x"}, "id_no"),
        ({"birth_date": "gte.1990-01-01"}, "birth_date"),
    ],
)
def test_filter_on_masked_field(query: dict[str, str], field: str) -> None:
    failed = refused(decide(POLICY, call(filters=filters(**query))), "filter_on_masked_field")
    assert failed["left_operand"] == field
    assert (
        failed["right_operand"]
        == POLICY.document()["permission"][0]["duty"][["id_no", "birth_date"].index(field)][
            "yaosu:masking"
        ]
    )
    assert failed["actual"] == f"{field}={next(iter(query.values()))}"
    assert "would reveal it" in failed["message"]


def test_quota_calls() -> None:
    d = decide(POLICY, call(usage=Usage(calls_today=1000)))
    failed = refused(d, "quota_calls_exceeded")
    assert (failed["left_operand"], failed["operator"], failed["right_operand"]) == (
        "yaosu:callsPerDay",
        "lteq",
        1000,
    )
    assert failed["actual"] == 1001
    assert d.retry_after == TO_LOCAL_MIDNIGHT
    assert "local midnight (Asia/Shanghai), in 14400 s" in failed["message"]
    assert "本地零时（Asia/Shanghai，14400 秒后）" in failed["message_zh"]
    assert decide(POLICY, call(usage=Usage(calls_today=999))).allowed


@pytest.mark.parametrize(
    ("at", "retry_after"),
    [
        # 23:59:59.5 in Beijing: half a second to go, rounded up
        (dt.datetime(2026, 9, 1, 15, 59, 59, 500_000, tzinfo=dt.UTC), 1),
        # 00:00:00.5 in Beijing, but still 16:00 of the day before in UTC: a whole day to go
        (dt.datetime(2026, 9, 1, 16, 0, 0, 500_000, tzinfo=dt.UTC), 24 * 3600),
        # 23:59:59.5 UTC is 07:59:59.5 in Beijing: midnight UTC means nothing to the quota
        (dt.datetime(2026, 9, 1, 23, 59, 59, 500_000, tzinfo=dt.UTC), 16 * 3600 + 1),
    ],
)
def test_retry_after_a_daily_quota_is_until_local_midnight(
    at: dt.datetime, retry_after: int
) -> None:
    d = decide(POLICY, call(at=at, usage=Usage(calls_today=5000)))
    assert d.retry_after == retry_after


@pytest.mark.parametrize(
    ("zone", "at", "retry_after", "day_of_call"),
    [
        ("UTC", dt.datetime(2026, 12, 7, 23, 59, 59, 500_000, tzinfo=dt.UTC), 1, "2026-12-07"),
        ("UTC", dt.datetime(2026, 12, 7, 15, 59, 59, tzinfo=dt.UTC), 8 * 3600 + 1, "2026-12-07"),
        # New York is UTC-5 in December: its day ends at 05:00Z
        ("America/New_York", dt.datetime(2026, 12, 8, 4, 59, 59, tzinfo=dt.UTC), 1, "2026-12-07"),
        # Kolkata is UTC+5:30: its day ends at 18:30Z
        ("Asia/Kolkata", dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC), 1800, "2026-12-07"),
    ],
)
def test_quota_and_window_follow_the_node_zone_setting(
    node_zone: Any, zone: str, at: dt.datetime, retry_after: int, day_of_call: str
) -> None:
    node_zone(zone)
    policy = grant(not_after=dt.date.fromisoformat(day_of_call))  # parsed in the new zone
    d = decide(policy, call(at=at, usage=Usage(calls_today=1000)))
    failed = refused(d, "quota_calls_exceeded")
    assert d.retry_after == retry_after
    assert f"local midnight ({zone})" in failed["message"]
    # The last day of the grant is a day of the zone: its last second still counts as in it.
    assert decide(policy, call(at=at)).allowed
    past = at + dt.timedelta(seconds=retry_after)
    outside = refused(decide(policy, call(at=past)), "outside_window")
    assert outside["actual"] == (dt.date.fromisoformat(day_of_call) + dt.timedelta(1)).isoformat()


def test_quota_rows() -> None:
    d = decide(POLICY, call(usage=Usage(rows_today=10_000)))
    failed = refused(d, "quota_rows_exceeded")
    assert failed["left_operand"] == "yaosu:rowsPerDay" and failed["actual"] == 10_001
    assert d.retry_after == TO_LOCAL_MIDNIGHT


def test_rate() -> None:
    d = decide(POLICY, call(usage=Usage(calls_last_minute=60)))
    failed = refused(d, "rate_exceeded")
    assert failed["left_operand"] == "yaosu:ratePerMinute" and failed["actual"] == 61
    assert d.retry_after == 60
    oldest = AT - dt.timedelta(seconds=45.5)
    exact = decide(POLICY, call(usage=Usage(calls_last_minute=60, oldest_call_last_minute=oldest)))
    assert exact.retry_after == 15
    assert decide(POLICY, call(usage=Usage(calls_last_minute=59))).allowed


def test_errors_of_refusals() -> None:
    rate = decide(POLICY, call(usage=Usage(calls_last_minute=60))).error()
    assert isinstance(rate, TooManyRequests) and rate.status == 429
    assert rate.code == "rate_exceeded" and rate.details["retry_after"] == 60
    assert rate.envelope()["error"]["details"]["failed"]["left_operand"] == "yaosu:ratePerMinute"
    revoked = decide(POLICY, call(grant_status="revoked"))
    err = revoked.error()
    assert isinstance(err, Forbidden) and err.code == "grant_revoked"
    with pytest.raises(Forbidden):
        revoked.obliged()
    assert decide(POLICY, call()).error() is None


# -- the order -------------------------------------------------------------------------------------


def test_decision_order() -> None:
    """A call that breaks every rule; mending one at a time gives the next code in order."""
    state: dict[str, Any] = {
        "grant_status": "revoked",
        "action": "distribute",  # permitted below, but prohibited
        "at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        "purpose": "marketing",
        "delivery_mode": "subscription",
        "fields": ("secret",),
        "filters": filters(id_no="eq.1"),
        "order": ("id_no",),
        "usage": Usage(calls_today=1000, rows_today=10_000, calls_last_minute=60),
    }
    policy = grant(actions=["read", "distribute"])
    mends: list[tuple[str, dict[str, Any]]] = [
        ("grant_revoked", {"grant_status": "active"}),
        ("action_prohibited", {"action": "yaosu:compute"}),
        ("action_not_permitted", {"action": "read"}),
        ("outside_window", {"at": AT}),
        ("purpose_not_allowed", {"purpose": "government_service"}),
        ("delivery_mode_not_allowed", {"delivery_mode": "api"}),
        ("field_not_granted", {"fields": ("name",)}),
        ("filter_on_masked_field", {"filters": ()}),
        ("sort_on_masked_field", {"order": ("name",)}),
        ("quota_calls_exceeded", {"usage": Usage(rows_today=10_000, calls_last_minute=60)}),
        ("quota_rows_exceeded", {"usage": Usage(calls_last_minute=60)}),
        ("rate_exceeded", {"usage": Usage()}),
    ]
    for code, mend in mends:
        refused(decide(policy, call(**state)), code)
        state.update(mend)
    assert decide(policy, call(**state)).allowed
    grant_codes = {"grant_suspended", "grant_expired"}  # the same step as grant_revoked
    assert [code for code, _ in mends] == [
        c for c, s in REFUSAL_CODES.items() if s != 422 and c not in grant_codes
    ]


# -- fitting a version -----------------------------------------------------------------------------


def test_check_columns() -> None:
    columns = [{"name": n, "type": t} for n, t in TYPES.items()]
    check_columns(POLICY, columns)
    bad = [
        {"name": "name", "type": "text"},
        {"name": "id_no", "type": "boolean"},
        {"name": "birth_date", "type": "date"},
        {"name": "district_code", "type": "integer"},
    ]
    with pytest.raises(Invalid) as exc:
        check_columns(POLICY, bad)
    assert exc.value.code == "policy_does_not_fit"
    found = [(p.get("column"), p["problem"]) for p in exc.value.details["problems"]]
    assert found == [
        ("age", "unknown_field"),
        ("id_no", "not_applicable"),
        ("district_code", "does_not_fit"),
    ]


# -- properties ------------------------------------------------------------------------------------

numbers = st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False)


@given(numbers, numbers)
def test_compare_agrees_with_python_numbers(a: float, b: float) -> None:
    assert compare("eq", a, b) is (a == b)
    assert compare("neq", a, b) is (a != b)
    assert compare("lt", a, b) is (a < b)
    assert compare("lteq", a, b) is (a <= b)
    assert compare("gt", a, b) is (a > b)
    assert compare("gteq", a, b) is (a >= b)


@given(st.sampled_from(list(PURPOSES)), st.sets(st.sampled_from(list(PURPOSES)), min_size=1))
def test_compare_agrees_with_python_sets(a: str, values: set[str]) -> None:
    assert compare("isAnyOf", a, tuple(values)) is (a in values)
    assert compare("isNoneOf", a, tuple(values)) is (a not in values)


@given(st.integers(1, 50), st.integers(0, 60), st.integers(1, 50), st.integers(0, 60))
def test_quota_and_rate_refuse_exactly_past_their_limit(
    limit: int, used: int, rate: int, last_minute: int
) -> None:
    policy = grant(calls_per_day=limit, rate_per_minute=rate, rows_per_day=None)
    d = decide(policy, call(usage=Usage(calls_today=used, calls_last_minute=last_minute)))
    assert d.allowed is (used + 1 <= limit and last_minute + 1 <= rate)
    if used + 1 > limit:
        assert d.failed is not None and d.failed.code == "quota_calls_exceeded"
    elif last_minute + 1 > rate:
        assert d.failed is not None and d.failed.code == "rate_exceeded"


DELIVERY = ["api", "file", "subscription"]
days = st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 10))


@st.composite
def policies_and_calls(draw: st.DrawFn) -> tuple[Policy, Call, bool]:
    """A random policy over the call-level constraints, a random call, and whether every
    constraint holds, computed here with plain Python."""
    purposes = draw(st.none() | st.sets(st.sampled_from(list(PURPOSES)[:4]), min_size=1))
    modes = draw(st.none() | st.sets(st.sampled_from(DELIVERY), min_size=1))
    start = draw(st.none() | days)
    end = draw(st.none() | days)
    if start and end and start > end:
        start, end = end, start
    calls = draw(st.none() | st.integers(1, 5))
    rows = draw(st.none() | st.integers(1, 5))
    rate = draw(st.none() | st.integers(1, 5))
    policy = grant(
        purposes=sorted(purposes) if purposes else None,
        delivery_modes=sorted(modes) if modes else None,
        not_before=start,
        not_after=end,
        calls_per_day=calls,
        rows_per_day=rows,
        rate_per_minute=rate,
        masking={},
        prohibited_actions=[],
    )
    at = draw(
        st.datetimes(dt.datetime(2025, 12, 31), dt.datetime(2026, 1, 11), timezones=st.just(dt.UTC))
    )
    c = Call(
        action="read",
        purpose=draw(st.none() | st.sampled_from(list(PURPOSES)[:5])),
        at=at,
        delivery_mode=draw(st.sampled_from(DELIVERY)),
        usage=Usage(
            calls_today=draw(st.integers(0, 6)),
            rows_today=draw(st.integers(0, 6)),
            calls_last_minute=draw(st.integers(0, 6)),
        ),
    )
    day = at.astimezone(ZoneInfo("Asia/Shanghai")).date()  # the suite's node zone
    holds = [
        purposes is None or c.purpose in purposes,
        modes is None or c.delivery_mode in modes,
        start is None or day >= start,
        end is None or day <= end,
        calls is None or c.usage.calls_today + 1 <= calls,
        rows is None or c.usage.rows_today < rows,
        rate is None or c.usage.calls_last_minute + 1 <= rate,
    ]
    return policy, c, all(holds)


@settings(max_examples=300, deadline=None)
@given(policies_and_calls())
def test_refused_exactly_when_some_constraint_is_false(case: tuple[Policy, Call, bool]) -> None:
    policy, c, all_hold = case
    d = decide(policy, c)
    assert d.allowed is all_hold
    if not d.allowed:
        assert d.failed is not None and d.failed.left_operand is not None
        constraint = next(
            k
            for k in policy.permission[0].constraint
            if (k.left_operand, k.operator, k.right_operand)
            == (d.failed.left_operand, d.failed.operator, d.failed.right_operand)
        )
        assert constraint.left_operand != "yaosu:field"
    else:
        assert policy.terms.window.contains(c.at)
