"""The demo city keeps its promises (issue 15, item 5), checked without a browser: every unit
that provides data has a data officer, every dataset the portal lists has data (and the open
ones preview and download), the README's demo accounts are exactly the demo's users and each
signs in, and every workspace queue has work waiting that a demo account can take."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from yaosu.config import get_settings
from yaosu.demo import catalog, city, sharing, work
from yaosu.identity.rules import ALL_SCOPES
from yaosu.identity.service import token_service
from yaosu.models.catalog import DatasetVersion, Resource
from yaosu.models.identity import User

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_demo_city_keeps_its_promises(client: Any, session: Any, tmp_path: Path) -> None:
    """One load of the demo city as `yaosu demo load` builds it (without the metered calls),
    then each promise in turn (loading takes seconds; the checks are quick)."""
    demo = city.load(session)
    catalog.load(session, demo, tmp_path)
    sharing.load(session, demo)
    work.load(session, demo, tmp_path)
    session.flush()
    every_providing_unit_has_a_data_officer(session, demo)
    every_listed_open_dataset_has_data(client, session)
    readme_lists_every_demo_account_and_each_signs_in(client, session)
    every_workspace_queue_has_work_a_demo_account_can_take(session, demo)


def _readme_accounts() -> dict[str, str]:
    """username → organization, from the table of the README's "Demo accounts" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Demo accounts", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([^|]+?) *\|$", section, flags=re.M)
    return {username: org.split(" (")[0].strip() for username, org in rows}


def _subject(session: Any, username: str) -> Any:
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    return token_service.subject_of(user, ALL_SCOPES, None, "test")


def every_providing_unit_has_a_data_officer(session: Any, demo: Any) -> None:
    providers = set(session.execute(select(Resource.provider_id)).scalars())
    officers = {
        u.org_id
        for u in session.execute(select(User).where(User.is_active.is_(True))).scalars()
        if "data_officer" in {r.role for r in u.roles}
    }
    names = {o.id: name for name, o in demo.items()}
    assert len(providers) >= 16
    assert not providers - officers, sorted(names[p] for p in providers - officers)


def every_listed_open_dataset_has_data(client: Any, session: Any) -> None:
    listed = client.get("/api/v1/open/datasets", params={"limit": 100}).json()
    assert listed["total"] == len(listed["items"]) >= 15
    for item in listed["items"]:
        resource = session.get(Resource, item["id"])
        version = session.get(DatasetVersion, resource.current_version_id or "")
        assert version is not None and version.rows > 0, item["name"]
        assert item["rows"] == version.rows, item["name"]
        if item["open_attribute"] != "unconditional":
            continue  # 有条件开放: used through an application's grant, not downloaded
        assert item["downloadable"], item["name"]
        preview = client.get(f"/api/v1/open/datasets/{item['id']}/preview")
        assert preview.status_code == 200 and preview.json()["rows"], (item["name"], preview.text)
        got = client.get(f"/api/v1/open/datasets/{item['id']}/download/csv")
        assert got.status_code == 200 and got.content.count(b"\n") > 1, item["name"]
    # The home page recommends only datasets that open.
    home = client.get("/")
    assert home.status_code == 200
    shown = set(re.findall(r'href="/datasets/([0-9A-Za-z]{26})"', home.text))
    by_id = {i["id"]: i for i in listed["items"]}
    assert shown and all(by_id[i]["rows"] for i in shown if i in by_id)


def readme_lists_every_demo_account_and_each_signs_in(client: Any, session: Any) -> None:
    documented = _readme_accounts()
    users = {u.username: u for u in session.execute(select(User)).scalars()}
    assert set(documented) == set(users) == {a.username for a in city.ACCOUNTS}
    for username, org in documented.items():
        r = client.post(
            "/api/v1/auth/token",
            data={"username": username, "password": get_settings().demo_password},
        )
        assert r.status_code == 200, (username, r.text)
        me = client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        ).json()
        assert me["org"]["name"] == org, username
    wrong = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401


def every_workspace_queue_has_work_a_demo_account_can_take(session: Any, demo: Any) -> None:
    from yaosu.opendata.service import demand_service, reuse_service
    from yaosu.sharing.service import responsibility_service
    from yaosu.web.workspace import dashboard_for
    from yaosu.web.ws_reviews import queue, tabs_for

    reviewer = _subject(session, "reviewer")
    waiting = {
        tab: queue(session, reviewer, tab, 5, 0)[1]
        for tab in tabs_for(reviewer)
        if tab != "catalog"  # filled when officer.dsj submits the draft catalog
    }
    assert all(waiting.values()), waiting
    assert queue(session, _subject(session, "officer.rsj"), "provider", 5, 0)[1] >= 1

    def counts(username: str) -> dict[str, int]:
        return {
            w.key: w.count for w in dashboard_for(session, _subject(session, username))["waiting"]
        }

    assert counts("officer.dsj")["ws.dash.count_drafts"] == 1
    # Every unit whose data was ingested reviews its proposed classifications itself.
    for org, (username, _) in city.OFFICERS.items():
        has_data = session.execute(
            select(Resource.id).where(
                Resource.provider_id == demo[org].id, Resource.current_version_id.is_not(None)
            )
        ).first()
        assert bool(counts(username)["ws.dash.count_classification"]) == bool(has_data), username
    assert counts("officer.mzj")["ws.dash.count_my_requests"] == 1

    gaj = _subject(session, "officer.gaj")
    from yaosu.catalog.service import demand_service as unit_demands

    open_demands, _ = unit_demands.list(session, gaj, "open", 10, 0)
    assert [d.provider_id for d in open_demands] == [demo["示范市公安局"].id]
    assert demand_service.list(session, "open", 10, 0)[1] == 1
    assert reuse_service.list(session, reviewer, "pending", 10, 0)[1] == 1
    duties = responsibility_service.listing(session, _subject(session, "officer.rsj"), None)
    assert any(i.resource_id is None for i in duties.items), duties
