"""Staged versions in the workspace over HTTP, on both databases: the versions tab shows each
version's state and why a staged one waits, reviewers accept or reject it there, the reviewers'
queue lists it, a rollback form (reviewers and the provider's chief data officer) with its
required reason, and the upload form offers the encodings a mojibake refusal asks for."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import create_org, create_user
from tests.fixtures.web import sign_in

ROWS = [{"xm": r["xm"], "ddh": r["ddh"], "je": r["je"]} for r in people_rows(50)]


def csrf(client: Any) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies["yaosu_csrf"], "HX-Request": "true"}


def post(client: Any, url: str, data: Any = None) -> Any:
    return client.post(f"{url}?lang=en", data=data or {}, headers=csrf(client))


def upload(client: Any, rid: str, rows: list[dict[str, Any]], **form: str) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers={"X-CSRF-Token": client.cookies["yaosu_csrf"]},
        files={"file": ("p.csv", csv_bytes(rows), "text/csv")},
        data=form,
    )
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job


@pytest.fixture
def world(session: Session, app: Any) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    other = create_org(session, "交通局")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, gaj, "cdo.g", "cdo")
    create_user(session, other, "cdo.t", "cdo")
    res = create_resource(session, gaj, publish=True)
    session.commit()
    officer = sign_in(app, "officer.g")
    v1 = upload(officer, res.id, ROWS)["version_id"]
    staged = upload(officer, res.id, [{**r, "extra": "x"} for r in ROWS])["version_id"]
    return {"res": res.id, "v1": v1, "staged": staged, "officer": officer}


def current(client: Any, rid: str) -> str | None:
    found: str | None = client.get(f"/api/v1/resources/{rid}").json()["current_version_id"]
    return found


def test_versions_tab_shows_states_and_decisions_by_role(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    rid = world["res"]
    url = f"/workspace/resources/{rid}?tab=versions&lang=en"
    officer = world["officer"].get(url).text
    assert 'data-state="staged"' in officer and 'data-state="accepted"' in officer
    assert 'data-why="schema_changed"' in officer and "extra" in officer
    assert f'id="res-accept-{world["staged"]}"' not in officer  # not a reviewer
    assert 'id="res-rollback-form"' not in officer  # nothing to roll back to, and not allowed
    reviewer = sign_in(app, "reviewer")
    page = reviewer.get(url).text
    assert f'id="res-accept-{world["staged"]}"' in page
    assert f'id="res-reject-{world["staged"]}"' in page
    queue = reviewer.get("/workspace/reviews?tab=versions&lang=en")
    assert queue.status_code == 200
    assert f'id="rev-ver-{world["staged"]}"' in queue.text
    assert re.search(r'id="rev-count-versions" data-count="1"', queue.text)


def test_reviewer_rejects_then_accepts_from_the_page(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    rid, staged = world["res"], world["staged"]
    reviewer = sign_in(app, "reviewer")
    base = f"/workspace/resources/{rid}/versions"
    for reason in ("", "   "):
        r = post(reviewer, f"{base}/{staged}/reject", {"reason": reason})
        assert r.status_code == 422 and 'role="alert"' in r.text
    # A version id of no version of this resource.
    r = post(reviewer, f"{base}/01nothing0000000000000000/accept")
    assert r.status_code == 422 and "not a version of this resource" in r.text
    r = post(reviewer, f"{base}/{staged}/accept", {"reason": "已核对"})
    assert r.status_code == 204 and "tab=versions" in r.headers["HX-Redirect"]
    assert current(reviewer, rid) == staged
    again = post(reviewer, f"{base}/{staged}/reject", {"reason": "晚了"})
    assert again.status_code == 409 and 'role="alert"' in again.text
    officer = world["officer"]
    r = post(officer, f"{base}/{staged}/accept")
    assert r.status_code == 403


def test_rollback_form_needs_the_right_role_and_a_reason(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    rid, v1, staged = world["res"], world["v1"], world["staged"]
    reviewer = sign_in(app, "reviewer")
    post(reviewer, f"/workspace/resources/{rid}/versions/{staged}/accept")
    cdo = sign_in(app, "cdo.g")
    page = cdo.get(f"/workspace/resources/{rid}?tab=versions&lang=en").text
    assert 'id="res-rollback-form"' in page and f'value="{v1}"' in page
    url = f"/workspace/resources/{rid}/rollback"
    assert post(world["officer"], url, {"version_id": v1, "reason": "x"}).status_code == 403
    outsider = post(sign_in(app, "cdo.t"), url, {"version_id": v1, "reason": "x"})
    assert outsider.status_code == 403 and 'role="alert"' in outsider.text
    for reason in ("", " \n "):
        r = post(cdo, url, {"version_id": v1, "reason": reason})
        assert r.status_code == 422 and "reason" in r.text.lower()
    assert current(reviewer, rid) == staged
    r = post(cdo, url, {"version_id": v1, "reason": "新版本字段有误"})
    assert r.status_code == 204, r.text
    assert current(reviewer, rid) == v1


def test_upload_form_offers_the_override_encodings(app: Any, world: dict[str, Any]) -> None:
    page = world["officer"].get(f"/workspace/resources/{world['res']}?tab=upload").text
    for enc in ("big5", "shift_jis", "utf-16"):
        assert f'<option value="{enc}">' in page
