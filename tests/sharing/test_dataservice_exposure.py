"""The data service reveals nothing outside the grant (issue 21, §2): sorting, filtering,
cursors, field selection and lookups may use only granted fields, never a masked one by its raw
value, whatever the spelling; lookup keys of every column type answer or refuse with a 4xx,
metered and ledgered; no refusal echoes a hidden value."""

from __future__ import annotations

import base64
import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.classification import name, resident_id
from tests.fixtures.committed import committed_client, committed_session  # noqa: F401
from tests.fixtures.identity import bearer, login
from tests.fixtures.sharing import grant_on, served_resource
from yaosu.policy.model import row

_rng = random.Random(21)
DISTRICTS = ["芝罘区", "莱山区", "福山区"]
ROWS: list[dict[str, Any]] = [
    {
        "sfzh": resident_id(_rng),
        "xm": name(_rng),
        "nl": 18 + i,
        "rq": (date(2020, 1, 1) + timedelta(days=3 * i)).isoformat(),
        "je": round(10 + i * 1.25, 2),
        "djsj": (datetime(2026, 1, 2, 3, 4, 5) + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S"),
        "hy": "true" if i % 2 else "false",
        "qx": DISTRICTS[i % 3],
        "mm": f"MIMA{i:04d}SECRET",
    }
    for i in range(60)
]
GRANTED = ["sfzh", "xm", "nl", "rq", "je", "djsj", "hy"]
VISIBLE = [r for r in ROWS if r["qx"] == "芝罘区"]
HIDDEN = [r for r in ROWS if r["qx"] != "芝罘区"]
# Values a refusal must never carry: ungranted columns, raw masked values, filtered-out rows.
SECRETS = (
    [str(r["mm"]) for r in ROWS]
    + [str(r["sfzh"]) for r in ROWS]
    + [str(r["xm"]) for r in HIDDEN if r["xm"] not in {v["xm"] for v in VISIBLE}]
)


@pytest.fixture
def world(client: Any, session: Session) -> dict[str, Any]:
    served = served_resource(session, ROWS)
    grant = grant_on(
        session,
        served,
        GRANTED,
        masking={"sfzh": {"op": "mask", "format": "resident_id"}},
        row_filter=[row("qx", "isAnyOf", ["芝罘区"])],
    )
    twin = grant_on(  # the same terms: the same version, order and filter as ``grant``
        session,
        served,
        GRANTED,
        masking={"sfzh": {"op": "mask", "format": "resident_id"}},
        row_filter=[row("qx", "isAnyOf", ["芝罘区"])],
    )
    session.commit()
    headers = bearer(login(session, served.username))
    session.commit()  # SQLite: release the write lock before the app writes
    return {"grant": grant.id, "twin": twin.id, "headers": headers, "served": served}


def get(client: Any, w: dict[str, Any], path: str, grant: str | None = None, **params: Any) -> Any:
    return client.get(
        f"/api/v1/services/{grant or w['grant']}/{path}", params=params, headers=w["headers"]
    )


def usage_today(client: Any, w: dict[str, Any], grant: str | None = None) -> dict[str, Any]:
    r = client.get(f"/api/v1/grants/{grant or w['grant']}/usage", headers=w["headers"])
    days: list[dict[str, Any]] = r.json()["days"]
    return days[-1] if days else {"calls": 0, "rows": 0, "refusals": {}}


def trail_types(client: Any, w: dict[str, Any]) -> list[str]:
    r = client.get(f"/api/v1/ledger/trail/{w['grant']}?limit=100", headers=w["headers"])
    return [e["type"] for e in r.json()["items"]]


def assert_refused(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == code and err["message"] and err["message_zh"], err
    text = r.text
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, leaked
    return err


def test_the_served_types(client: Any, world: Any) -> None:
    schema = get(client, world, "schema").json()
    types = {f["name"]: f["type"] for f in schema["fields"]}
    assert types == {
        "sfzh": "text",
        "xm": "text",
        "nl": "integer",
        "rq": "date",
        "je": "float",
        "djsj": "datetime",
        "hy": "boolean",
    }
    rows = get(client, world, "rows", limit=1000).json()["rows"]
    assert len(rows) == len(VISIBLE) and all(set(r) == set(GRANTED) for r in rows)


# -- sorting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order",
    [
        "mm",
        "mm.desc",
        "xm,mm.asc",
        "qx",  # the row filter's column, not granted
        "MM",
        '"mm"',
        "ｍｍ",  # full-width lookalike
        "nope",  # not even a column: refused the same way
        "XM",
    ],
)
def test_sorting_outside_the_grant_is_refused(client: Any, world: Any, order: str) -> None:
    r = get(client, world, "rows", order=order)
    err = assert_refused(r, 403, "field_not_granted")
    assert err["details"]["failed"]["left_operand"] == "yaosu:field"
    today = usage_today(client, world)
    assert today["refusals"] == {"field_not_granted": 1} and today["rows"] == 0


@pytest.mark.parametrize("order", ["sfzh", "sfzh.desc", "xm,sfzh"])
def test_sorting_on_a_masked_field_is_refused(client: Any, world: Any, order: str) -> None:
    err = assert_refused(get(client, world, "rows", order=order), 403, "sort_on_masked_field")
    assert err["details"]["failed"]["left_operand"] == "sfzh"


def test_sorting_on_granted_fields_still_works(client: Any, world: Any) -> None:
    r = get(client, world, "rows", order="nl.desc", fields="xm,nl", limit=1000)
    assert r.status_code == 200, r.text
    ages = [x["nl"] for x in r.json()["rows"]]
    assert ages == sorted((int(v["nl"]) for v in VISIBLE), reverse=True)


# -- filtering -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("mm", "eq.MIMA0001SECRET"),
        ("mm", "gte.MIMA"),
        ("mm", "in.(MIMA0001SECRET,MIMA0002SECRET)"),
        ("mm", "not.in.a,b"),
        ("mm", "like.MIMA*"),
        ("mm", "ilike.*secret*"),
        ("mm", "is.null"),
        ("mm", "abc"),  # no operator at all
        ("qx", "eq.莱山区"),  # the row filter's own column
        ("MM", "eq.x"),
        ('"mm"', "eq.x"),
        ("ｍｍ", "eq.x"),
        ("or", "(mm.eq.x,xm.eq.y)"),
        ("and", "(mm.like.M*)"),
        ("not.mm", "eq.x"),
        ("nope", "eq.1"),  # a column that does not exist: the same answer
        ("qx", "gte.not-a-date"),  # the type of a hidden column is not revealed either
    ],
)
def test_filtering_outside_the_grant_is_refused(
    client: Any, world: Any, param: str, value: str
) -> None:
    r = get(client, world, "rows", **{param: value})
    err = assert_refused(r, 403, "field_not_granted")
    assert err["details"]["failed"]["actual"] == [param]
    assert usage_today(client, world)["refusals"] == {"field_not_granted": 1}


@pytest.mark.parametrize(
    "value",
    [
        f"eq.{ROWS[0]['sfzh']}",
        "neq.x",
        "gte.370601",
        "in.(1,2)",
        "like.3706*",
        "is.null",
        "garbage",
    ],
)
def test_filtering_on_a_masked_field_is_refused_under_every_operator(
    client: Any, world: Any, value: str
) -> None:
    r = get(client, world, "rows", sfzh=value)
    err = assert_refused(r, 403, "filter_on_masked_field")
    assert err["details"]["failed"]["left_operand"] == "sfzh"


def test_a_filter_outside_the_grant_spoils_an_otherwise_fine_call(client: Any, world: Any) -> None:
    r = client.get(
        f"/api/v1/services/{world['grant']}/rows?xm=neq.x&nl=gte.1&mm=eq.x&order=nl",
        headers=world["headers"],
    )
    assert_refused(r, 403, "field_not_granted")


def test_filters_on_granted_fields_never_reach_filtered_out_rows(client: Any, world: Any) -> None:
    hidden = HIDDEN[0]
    for params in (
        {"xm": f"eq.{hidden['xm']}", "nl": f"eq.{hidden['nl']}"},
        {"nl": f"eq.{hidden['nl']}"},
        {"rq": f"eq.{hidden['rq']}"},
    ):
        r = get(client, world, "rows", **params)
        assert r.status_code == 200 and r.json()["rows"] == [], params


# -- selecting fields ----------------------------------------------------------------------------


@pytest.mark.parametrize("fields", ["mm", "xm,mm", "MM", "qx", '"mm"', "ｘｍ", "nope"])
def test_selecting_a_field_outside_the_grant_is_refused(
    client: Any, world: Any, fields: str
) -> None:
    assert_refused(get(client, world, "rows", fields=fields), 403, "field_not_granted")


def test_select_and_other_reserved_names_never_widen_the_answer(client: Any, world: Any) -> None:
    r = get(client, world, "rows", select="mm,qx", limit=5)
    assert r.status_code == 200, r.text
    assert all(set(x) == set(GRANTED) for x in r.json()["rows"])
    assert not [s for s in SECRETS if s in r.text]


# -- cursors -------------------------------------------------------------------------------------


def _cursor(client: Any, w: dict[str, Any], grant: str | None = None, **params: Any) -> str:
    r = get(client, w, "rows", grant, limit=3, **params)
    assert r.status_code == 200, r.text
    cursor: str = r.json()["next_cursor"]
    assert cursor
    return cursor


def test_a_cursor_is_bound_to_its_grant_and_order(client: Any, world: Any) -> None:
    cursor = _cursor(client, world)
    ok = get(client, world, "rows", limit=3, cursor=cursor)
    assert ok.status_code == 200
    # The twin grant has the very same version, order and filter: still refused.
    assert_refused(get(client, world, "rows", world["twin"], cursor=cursor), 422, "bad_cursor")
    assert_refused(get(client, world, "rows", cursor=cursor, order="nl"), 422, "bad_cursor")
    assert_refused(get(client, world, "rows", cursor=cursor, nl="gte.0"), 422, "bad_cursor")
    sorted_cursor = _cursor(client, world, order="nl.desc")
    assert_refused(
        get(client, world, "rows", cursor=sorted_cursor, order="nl.asc"), 422, "bad_cursor"
    )
    assert usage_today(client, world, world["twin"])["refusals"] == {"bad_cursor": 1}


@pytest.mark.parametrize(
    "forged",
    [
        "forged",
        "A" * 32,
        base64.urlsafe_b64encode(bytes([2]) + (0).to_bytes(7, "big") + bytes(16)).decode(),
        base64.urlsafe_b64encode(bytes([1]) + (5).to_bytes(7, "big") + bytes(16)).decode(),
        '"mm"',
        "x" * 500,
    ],
)
def test_forged_cursors_are_refused(client: Any, world: Any, forged: str) -> None:
    assert_refused(get(client, world, "rows", cursor=forged), 422, "bad_cursor")


def test_a_tampered_cursor_is_refused(client: Any, world: Any) -> None:
    cursor = _cursor(client, world, order="xm")
    raw = bytearray(base64.urlsafe_b64decode(cursor))
    for i in range(len(raw)):
        bent = bytearray(raw)
        bent[i] ^= 0x01
        token = base64.urlsafe_b64encode(bytes(bent)).decode()
        r = get(client, world, "rows", cursor=token, order="xm")
        assert_refused(r, 422, "bad_cursor")


def test_a_cursor_does_not_show_positions_in_the_file(client: Any, world: Any) -> None:
    """In file order under a row filter, the last row of a page of 3 is at file row 6 (rows
    0, 3, 6 are in the district): the cursor must not carry that number in the clear, which
    would count the filtered-out rows before it."""
    raw = base64.urlsafe_b64decode(_cursor(client, world))
    assert len(raw) == 24
    assert (6).to_bytes(7, "big") not in raw
    assert (7).to_bytes(7, "big") not in raw


# -- lookups -------------------------------------------------------------------------------------

FIRST = VISIBLE[1]


@pytest.mark.parametrize(
    ("by", "key"),
    [
        ("nl", str(FIRST["nl"])),
        ("nl", f" {FIRST['nl']} "),
        ("nl", f"+{FIRST['nl']}"),
        ("rq", str(FIRST["rq"])),
        ("je", str(FIRST["je"])),
        ("je", f"{FIRST['je']:.4f}"),
        ("djsj", str(FIRST["djsj"])),
        ("djsj", str(FIRST["djsj"]).replace(" ", "T")),
        ("xm", str(FIRST["xm"])),
    ],
)
def test_lookup_by_a_typed_key(client: Any, world: Any, by: str, key: str) -> None:
    r = get(client, world, "lookup", by=by, key=key)
    assert r.status_code == 200, r.text
    found = r.json()["row"]
    assert found["nl"] == FIRST["nl"] and set(found) == set(GRANTED)
    today = usage_today(client, world)
    assert (today["calls"], today["rows"], today["refusals"]) == (1, 1, {})


@pytest.mark.parametrize(
    ("by", "key"),
    [
        ("nl", "abc"),
        ("nl", "1.5"),
        ("nl", str(2**63)),
        ("rq", "2020-13-01"),
        ("rq", "2020-02-30"),
        ("je", "abc"),
        ("je", "nan"),
        ("je", "1e999"),
        ("djsj", "2026-01-02 25:00:00"),
        ("djsj", "2026-01-02T03:04:05+08:00"),
        ("hy", "maybe"),
    ],
)
def test_a_key_that_does_not_fit_its_field_is_refused(
    client: Any, world: Any, by: str, key: str
) -> None:
    r = get(client, world, "lookup", by=by, key=key)
    err = assert_refused(r, 422, "invalid_key")
    assert err["details"]["field"] == by
    today = usage_today(client, world)
    assert today["refusals"] == {"invalid_key": 1} and today["calls"] == 0
    assert trail_types(client, world).count("sharing.call_refused") == 1


@pytest.mark.parametrize(
    ("by", "status", "code"),
    [
        ("mm", 403, "field_not_granted"),
        ("MM", 403, "field_not_granted"),
        ("qx", 403, "field_not_granted"),
        ('"mm"', 403, "field_not_granted"),
        ("nope", 403, "field_not_granted"),
        ("sfzh", 403, "filter_on_masked_field"),
    ],
)
def test_lookup_by_a_field_outside_the_grant_or_masked_is_refused(
    client: Any, world: Any, by: str, status: int, code: str
) -> None:
    for key in (str(ROWS[0]["mm"]), "abc", "1", str(ROWS[0]["sfzh"])):
        assert_refused(get(client, world, "lookup", by=by, key=key), status, code)
    assert usage_today(client, world)["refusals"] == {code: 4}


def test_lookup_of_a_filtered_out_row_is_a_plain_miss(client: Any, world: Any) -> None:
    hidden = HIDDEN[0]
    r = get(client, world, "lookup", by="nl", key=str(hidden["nl"]))
    missing = get(client, world, "lookup", by="nl", key="100000")
    assert r.status_code == missing.status_code == 404
    assert r.json() == missing.json()
    today = usage_today(client, world)
    assert (today["calls"], today["rows"]) == (2, 0)


def test_no_refusal_is_a_server_error(client: Any, world: Any) -> None:
    """A sweep of odd inputs over every parameter: always an answer or a 4xx."""
    odd = ["", " ", "'", '"', "\\", "%00", "\x00", "a" * 300, "(", ")", ",", ".", "eq.", "in.()"]
    for value in odd:
        for params in (
            {"order": value},
            {"fields": value},
            {"cursor": value},
            {"xm": value},
            {"nl": value},
            {value or "x": "eq.1"},
        ):
            r = get(client, world, "rows", **params)
            assert r.status_code < 500, (params, r.text)
        for by in ("nl", "rq", "je", "djsj", "hy", "xm", value):
            r = get(client, world, "lookup", by=by, key=value or "k")
            assert r.status_code < 500, (by, value, r.text)
