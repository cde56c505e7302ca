"""The demo city: every demo account signs in and sees what its role allows, nothing more."""

from __future__ import annotations

from typing import Any

from yaosu.config import get_settings
from yaosu.demo import city
from yaosu.identity import rules


def test_demo_city_accounts(client: Any, session: Any) -> None:
    orgs = city.load(session)
    session.commit()
    governments = [o for o in orgs.values() if o.kind == "government"]
    assert len([o for o in governments if o.gov_level == "city"]) >= 16
    assert {o.gov_level for o in governments} == set(rules.GOV_LEVELS)
    assert {o.kind for o in orgs.values()} == set(rules.ORG_KINDS)

    seen: dict[str, int] = {}
    for account in city.ACCOUNTS:
        r = client.post(
            "/api/v1/auth/token",
            data={"username": account.username, "password": get_settings().demo_password},
        )
        assert r.status_code == 200, (account.username, r.text)
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = client.get("/api/v1/auth/me", headers=headers).json()
        assert me["roles"] == [account.role] and me["org"]["name"] == account.org
        if me["org"]["status"] == "pending":  # an applicant for admission: signs in, no more
            refused = client.get("/api/v1/users", headers=headers)
            assert refused.status_code == 403 and account.org in {p[0] for p in city.PENDING}
            assert refused.json()["error"]["code"] == "org_pending"
            continue
        seen[account.username] = client.get("/api/v1/users?limit=200", headers=headers).json()[
            "total"
        ]
        admissions = client.get("/api/v1/admissions", headers=headers).json()["total"]
        can_review = account.role in ("platform_admin", "reviewer", "auditor")
        assert (admissions >= 4) == can_review, (account.username, admissions)
        create = client.post(
            "/api/v1/orgs", headers=headers, json={"name": "x", "kind": "regulator"}
        )
        assert (create.status_code == 201) == (account.role == "platform_admin"), account.username

    everyone = seen["admin"]
    assert seen["reviewer"] == seen["auditor"] == everyone
    assert seen["cdo.gaj"] == seen["officer.gaj"] == 2  # 公安局's own users
    assert seen["member.wjw"] == seen["fintech"] == 1  # only themselves


def test_demo_catalog_loads_with_data(client: Any, session: Any, tmp_path: Any) -> None:
    from yaosu.demo import catalog, rows

    orgs = city.load(session)
    resources = catalog.load(session, orgs, tmp_path)
    session.commit()
    assert len(resources) >= 30
    libraries = {r.base_library for r in resources} - {None}
    assert libraries == {
        "population",
        "legal_person",
        "natural_resources_geo",
        "social_credit",
        "e_license",
        "macro_economy",
    }
    assert {r.share_attribute for r in resources} == {"unconditional", "conditional", "none"}
    ingested = [r for r in resources if r.current_version_id]
    # Every dataset the portal lists has data, and so does the city's own catalog.
    expected = {
        spec.name
        for spec in catalog.RESOURCES
        if spec.data or spec.code in rows.GENERATORS or spec.code == catalog.CATALOG_CODE
    }
    assert {r.name for r in ingested} == expected
    assert expected >= {
        spec.name for spec in catalog.RESOURCES if spec.publish and spec.open_ != "none"
    }
    token = client.post(
        "/api/v1/auth/token",
        data={"username": "officer.gaj", "password": get_settings().demo_password},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    people = next(r for r in resources if r.name == "常住人口基本信息")
    version = client.get(f"/api/v1/resources/{people.id}/versions", headers=headers).json()[0]
    assert version["source"]["encoding"].lower().replace("-", "") == "gb18030"
    assert version["rows"] == 2000
    hits = client.get("/api/v1/resources", params={"q": "人口"}, headers=headers).json()
    assert "常住人口基本信息" in [h["name"] for h in hits["items"]]
    # Every ingested version is classified and graded; the population base data is in the
    # important-data catalog and so proposed as important data.
    classified = client.get(
        f"/api/v1/dataset-versions/{version['id']}/classification", headers=headers
    ).json()
    by = {f["column"]: f["type"] for f in classified["fields"]}
    assert by["sfzh"] == "resident_id" and by["xm"] == "person_name"
    assert classified["grade"] == "important" and classified["catalog_entries"]
    grades = {r.name: r.grade for r in ingested}
    assert all(grades.values()), grades
    assert "important" in grades.values() and len(set(grades.values())) >= 3
    # Every 无条件开放 demo resource with data passes the publication check and downloads:
    # the demo masks properly rather than the rule giving way.
    opened = [
        r for r in ingested if r.open_attribute == "unconditional" and r.status == "published"
    ]
    assert len(opened) >= 3
    for r in opened:
        got = client.get(f"/api/v1/open/datasets/{r.id}/download/csv")
        assert got.status_code == 200, (r.name, got.text)
