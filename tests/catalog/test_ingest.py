"""Ingest through the catalog: uploads (one-shot and chunked), pulls, jobs, versions, profiles,
and bad files that leave the resource and storage unchanged."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
import time
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import SYSTEM, bearer, create_org, create_user, login
from yaosu.catalog import schemas
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.config import get_settings, reset_settings
from yaosu.kit.errors import Conflict
from yaosu.kit.timeutil import utcnow
from yaosu.ledger.service import ledger_service


def gb18030_csv(rows: int = 50) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["sfzh", "xm", "nl", "zz"])
    for i in range(rows):
        w.writerow(
            [f"11010519491231{i:03d}X", f"张𠀀{i}", 20 + i % 50, f"示范市东城区滨海街道{i}号"]
        )
    return buf.getvalue().encode("gb18030")


def versions_on_disk() -> list[Path]:
    return list((Path(get_settings().storage_root) / "versions").rglob("*.parquet"))


@pytest.fixture
def officer(session: Any) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, create_org(session, "人社局"), "member.r")
    resource = create_resource(session, gaj)
    out = {
        "headers": bearer(login(session, "officer.g")),
        "other": bearer(login(session, "member.r")),
        "resource": resource,
    }
    session.commit()
    return out


def test_upload_gb18030_csv_makes_a_profiled_hashed_version(client: Any, officer: Any) -> None:
    rid = officer["resource"].id
    r = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=officer["headers"],
        files={"file": ("人口.csv", gb18030_csv(), "text/csv")},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "succeeded", job
    versions = client.get(f"/api/v1/resources/{rid}/versions", headers=officer["headers"]).json()
    assert len(versions) == 1 and versions[0]["rows"] == 50
    assert versions[0]["source"]["encoding"].lower().replace("-", "") in ("gb18030", "gbk")
    detail = client.get(
        f"/api/v1/dataset-versions/{versions[0]['id']}", headers=officer["headers"]
    ).json()
    types = {c["name"]: c["type"] for c in detail["columns"]}
    assert types["sfzh"] in ("string", "text") and types["nl"] in ("integer", "int64")
    assert detail["profile"]["rows"] == 50
    assert any("张𠀀" in str(row) for row in detail["profile"]["sample"])
    # The content hash is in the ledger as a subject of the version's entry.
    trail = client.get(
        f"/api/v1/ledger/trail/sha256:{detail['sha256']}", headers=officer["headers"]
    )
    assert trail.json()["items"][0]["type"] == "catalog.dataset_version_created"
    # Another unit sees neither versions nor profile.
    r = client.get(f"/api/v1/dataset-versions/{versions[0]['id']}", headers=officer["other"])
    assert r.status_code in (403, 404)


def test_bad_file_fails_the_job_and_changes_nothing(client: Any, officer: Any) -> None:
    rid = officer["resource"].id
    before = versions_on_disk()
    ragged = b"a,b,c\n1,2,3\n4,5\n"
    r = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=officer["headers"],
        files={"file": ("bad.csv", ragged, "text/csv")},
    )
    job = r.json()
    assert job["status"] == "failed" and job["error"]["code"] == "ragged_row"
    assert "3" in job["error"]["message"]  # names the line
    assert client.get(f"/api/v1/resources/{rid}/versions", headers=officer["headers"]).json() == []
    assert versions_on_disk() == before
    staging = Path(get_settings().storage_root) / "staging"
    assert not any(staging.iterdir()) if staging.exists() else True
    empty = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=officer["headers"],
        files={"file": ("empty.csv", b"", "text/csv")},
    ).json()
    assert empty["status"] == "failed" and empty["error"]["code"] == "empty_file"


def test_chunked_resumable_upload(client: Any, officer: Any) -> None:
    rid = officer["resource"].id
    data = gb18030_csv(200)
    up = client.post(
        f"/api/v1/resources/{rid}/uploads",
        headers=officer["headers"],
        json={"filename": "big.csv", "size": len(data)},
    ).json()
    half = len(data) // 2
    r = client.put(
        f"/api/v1/uploads/{up['id']}/chunks?offset=0",
        headers=officer["headers"],
        content=data[:half],
    )
    assert r.json()["received"] == half
    # A client that lost track sends the wrong offset: told where to resume.
    r = client.put(
        f"/api/v1/uploads/{up['id']}/chunks?offset=0", headers=officer["headers"], content=data[:10]
    )
    assert r.status_code == 409 and r.json()["error"]["details"]["expected"] == half
    r = client.post(f"/api/v1/uploads/{up['id']}/complete", headers=officer["headers"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "upload_incomplete"
    client.put(
        f"/api/v1/uploads/{up['id']}/chunks?offset={half}",
        headers=officer["headers"],
        content=data[half:],
    )
    job = client.post(
        f"/api/v1/uploads/{up['id']}/complete?wait=true", headers=officer["headers"]
    ).json()
    assert job["status"] == "succeeded"
    version = client.get(f"/api/v1/resources/{rid}/versions", headers=officer["headers"]).json()[0]
    assert version["rows"] == 200


def test_sql_pull_and_bad_query(session: Any, tmp_path: Path) -> None:
    db = tmp_path / "source.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE people (sfzh TEXT, name TEXT, age INTEGER)")
    con.executemany(
        "INSERT INTO people VALUES (?, ?, ?)",
        [(f"37060219900101{i:04d}", f"李{i}", 30 + i % 10) for i in range(300)],
    )
    con.commit()
    con.close()
    resource = create_resource(session, create_org(session, "公安局"))
    made = dataset_service.request_pull(
        session,
        SYSTEM,
        resource.id,
        schemas.PullCreate(kind="sql", url=f"sqlite:///{db}", table="people"),
    )
    job = run_in_session(session, made.id)
    assert job.status == "succeeded", job.error
    assert dataset_service.version(session, SYSTEM, job.version_id).rows == 300
    bad = dataset_service.request_pull(
        session,
        SYSTEM,
        resource.id,
        schemas.PullCreate(kind="sql", url=f"sqlite:///{db}", query="SELECT * FROM nowhere"),
    )
    failed = run_in_session(session, bad.id)
    assert failed.status == "failed" and failed.error["code"] == "pull_failed"
    assert "nowhere" in failed.error["message"]


def test_http_pull(session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server is on loopback: refused unless a loopback CIDR is listed explicitly.
    monkeypatch.setenv("YAOSU_PULL_ALLOW", "127.0.0.1/32")
    reset_settings()
    (tmp_path / "stops.csv").write_bytes("zdmc,xl\n滨海站,1路\n长安站,2路\n".encode())
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        resource = create_resource(session, create_org(session, "交通局"))
        url = f"http://127.0.0.1:{server.server_port}/stops.csv"
        made = dataset_service.request_pull(
            session, SYSTEM, resource.id, schemas.PullCreate(kind="http", url=url)
        )
        job = run_in_session(session, made.id)
        assert job.status == "succeeded", job.error
        missing = dataset_service.request_pull(
            session,
            SYSTEM,
            resource.id,
            schemas.PullCreate(kind="http", url=url.replace("stops", "missing")),
        )
        failed = run_in_session(session, missing.id)
        assert failed.status == "failed" and "404" in failed.error["message"]
    finally:
        server.shutdown()
        monkeypatch.delenv("YAOSU_PULL_ALLOW")
        reset_settings()


def test_scheduled_pulls_queue_jobs_when_due(session: Any) -> None:
    resource = create_resource(session, create_org(session, "交通局"))
    schedule = dataset_service.request_pull(
        session,
        SYSTEM,
        resource.id,
        schemas.PullCreate(kind="http", url="http://data.example/x.csv", cron="*/5 * * * *"),
    )
    assert schedule.cron == "*/5 * * * *"
    assert dataset_service.due_pulls(session, utcnow()) == []
    jobs = dataset_service.due_pulls(session, utcnow() + timedelta(minutes=6))
    assert len(jobs) == 1 and jobs[0].schedule_id == schedule.id and jobs[0].status == "queued"
    from yaosu.kit.errors import Invalid

    with pytest.raises(Invalid) as exc:
        dataset_service.request_pull(
            session,
            SYSTEM,
            resource.id,
            schemas.PullCreate(kind="http", url="http://data.example/x.csv", cron="every day"),
        )
    assert exc.value.code == "invalid_cron"


def test_interrupted_jobs_are_failed_on_recovery_and_can_be_retried(
    session: Any, tmp_path: Path
) -> None:
    resource = create_resource(session, create_org(session, "公安局"))
    path = tmp_path / "data.csv"
    path.write_bytes(gb18030_csv(5))
    job = dataset_service.create_job(
        session,
        SYSTEM,
        resource.id,
        "upload",
        {"path": str(path), "filename": "data.csv", "keep": True},
    )
    dataset_service.start_job(session, job.id)  # ...and the node died here
    assert dataset_service.recover(session) == 1
    assert job.status == "failed" and job.error["code"] == "interrupted"
    again = dataset_service.retry(session, SYSTEM, job.id)
    assert job.status == "retried"
    with pytest.raises(Conflict):  # the same job cannot be retried twice
        dataset_service.retry(session, SYSTEM, job.id)
    assert run_in_session(session, again.id).status == "succeeded"
    types = [e.type for e in ledger_service.trail(session, resource.id, 20, 0)[0]]
    # The failure, then the version (followed by its classification and grade).
    assert types.index("catalog.ingest_failed") < types.index("catalog.dataset_version_created")
    assert types[-2:] == ["classification.version_classified", "catalog.grade_set"]


def test_background_runner_after_commit(fresh_engine: Any, tmp_path: Path) -> None:
    """Without wait, the job runs on a worker once the request has committed."""
    from fastapi.testclient import TestClient

    from yaosu.app import create_app
    from yaosu.db import unit_of_work

    with unit_of_work(fresh_engine) as s:
        gaj = create_org(s, "公安局")
        create_user(s, gaj, "officer.bg", "data_officer")
        rid = create_resource(s, gaj).id
        headers = bearer(login(s, "officer.bg"))
    with TestClient(create_app(fresh_engine, background=True)) as client:
        r = client.post(
            f"/api/v1/resources/{rid}/versions",
            headers=headers,
            files={"file": ("p.csv", gb18030_csv(30), "text/csv")},
        )
        assert r.status_code == 202 and r.json()["status"] == "queued"
        deadline = time.monotonic() + 60
        status = "queued"
        while time.monotonic() < deadline and status in ("queued", "running"):
            time.sleep(0.1)
            status = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=headers).json()["status"]
        assert status == "succeeded"


def test_pulls_cannot_read_the_nodes_own_store(session: Any) -> None:
    from yaosu.kit.errors import Forbidden

    resource = create_resource(session, create_org(session, "公安局"))
    own = get_settings().data_dir / "yaosu.db"
    for url in (f"sqlite:///{own}", get_settings().resolved_database_url, "sqlite://"):
        with pytest.raises(Forbidden) as exc:
            dataset_service.request_pull(
                session, SYSTEM, resource.id, schemas.PullCreate(kind="sql", url=url, table="users")
            )
        assert exc.value.code == "pull_forbidden"
