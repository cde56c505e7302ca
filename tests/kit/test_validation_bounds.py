"""A validation error report is bounded whatever the payload: a body with 10,000 unknown keys, or
one key of 200,000 characters, gets a report of at most ``MAX_ENTRIES`` entries with names
clipped, and the messages count the rest. Names the client chose come back as text (the JSON
envelope), never as markup. Pure, and over HTTP on both databases."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tests.fixtures.identity import bearer, create_org, create_user, login
from yaosu.kit.validation import MAX_ENTRIES, MAX_NAME, explain


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "x"


def errors_of(body: dict[str, Any]) -> list[Any]:
    try:
        Strict.model_validate(body)
    except ValidationError as exc:
        return list(exc.errors())
    raise AssertionError("valid")


def test_many_errors_are_counted_not_listed() -> None:
    body = {f"k{i}": 1 for i in range(10_000)}
    en, zh, entries = explain(errors_of(body), Strict)
    assert len(entries) == MAX_ENTRIES
    assert "9995 more problems" in en and "另有 9995 处问题" in zh
    assert len(en) < 1_000 and len(zh) < 1_000


def test_a_long_key_is_clipped_everywhere() -> None:
    en, zh, entries = explain(errors_of({"y" * 200_000: 1}), Strict)
    (entry,) = entries
    for text in (entry["field"], entry["label"], entry["label_zh"], *entry["loc"], en, zh):
        assert "y" * (MAX_NAME + 1) not in str(text)
    assert entry["field"].endswith("…")


def test_positions_stay_numbers() -> None:
    class Items(BaseModel):
        items: list[int]

    try:
        Items.model_validate({"items": ["a", "b"]})
    except ValidationError as exc:
        _, _, entries = explain(exc.errors(), Items)
    assert [e["loc"] for e in entries] == [["items", 0], ["items", 1]]


def test_a_huge_payload_gets_a_bounded_report_over_http(client: Any, session: Any) -> None:
    org = create_org(session, "大数据局")
    create_user(session, org, "reviewer.v", "reviewer")
    headers = bearer(login(session, "reviewer.v"))
    body: dict[str, Any] = {f"k{i}<script>alert(1)</script>": 1 for i in range(10_000)}
    body["z" * 200_000] = 1
    sent = len(str(body))
    r = client.post("/api/v1/resources/nope/publish", json=body, headers=headers)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert len(error["details"]["fields"]) == MAX_ENTRIES
    assert len(r.content) < 40_000 < sent
    assert "z" * (MAX_NAME + 1) not in r.text
    assert r.headers["content-type"].startswith("application/json")
