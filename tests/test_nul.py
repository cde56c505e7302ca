"""A NUL character (0x00) anywhere in a request is a 400 ``nul_character``, never a server error:
PostgreSQL cannot store it and file-system calls refuse it. Runs on both databases."""

from __future__ import annotations

from typing import Any

import pytest

PUBLIC_GETS = [
    "/api/3/action/package_show?id=%00",
    "/api/3/action/package_search?q=a%00b",
    "/datasets/%00",
    "/datasets/x%00y",
    "/api/v1/resources?q=%00",
    "/api/v1/open/demands?status=%00",
    "/login?next=/x%00",
    "/%00",
]


@pytest.mark.parametrize("url", PUBLIC_GETS)
def test_a_nul_in_the_path_or_query_is_a_400(client: Any, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 400, (url, r.status_code, r.text[:200])
    if r.headers["content-type"].startswith("application/json"):
        assert r.json()["error"]["code"] == "nul_character"


@pytest.mark.parametrize("field", ["title", "description", "requester_name", "contact"])
def test_a_nul_inside_a_json_field_is_refused_and_nothing_is_stored(
    client: Any, engine: Any, field: str
) -> None:
    body = {
        "title": "养老机构床位实时数据",
        "description": "希望开放床位空余情况",
        "contact": "13800001111",
        "requester_name": "市民",
    }
    body[field] = body[field][:2] + "\x00" + body[field][2:]
    before = client.get("/api/v1/open/demands").json()["total"]
    r = client.post("/api/v1/open/demands", json=body)
    # SQLite stores NUL, PostgreSQL refuses it: either way a 4xx or a clean 201, never a 500.
    assert r.status_code in (201, 400, 422), r.text
    if engine.dialect.name == "postgresql":
        assert r.status_code == 400, r.text
    if r.status_code == 400:
        assert r.json()["error"]["code"] == "nul_character"
        assert client.get("/api/v1/open/demands").json()["total"] == before


def test_a_plain_request_passes() -> None:
    from yaosu.api.errors import _has_nul

    assert _has_nul(b"/a%00") and _has_nul(b"q=%00") and _has_nul(b"\x00")
    assert not _has_nul(b"/datasets/a%2000") and not _has_nul(b"q=100")
