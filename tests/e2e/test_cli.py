"""The `yaosu` CLI on a real data directory: migrate, demo city, tokens, ledger prove and verify,
and a hand-edited ledger row caught by `yaosu ledger verify`."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from yaosu.cli import app
from yaosu.config import reset_settings
from yaosu.db import reset_engines


@pytest.fixture
def datadir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("YAOSU_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.delenv("YAOSU_DATABASE_URL", raising=False)
    reset_settings()
    reset_engines()
    yield tmp_path / "node"
    reset_engines()
    reset_settings()


def run(*args: str) -> Any:
    # As on a wide terminal: tables never fold a word the assertions look for, whatever
    # width the machine running the tests reports.
    from yaosu.cli.common import console, err_console

    console.width = err_console.width = 250
    result = CliRunner().invoke(app, list(args))
    return result


def test_cli_journey_and_tamper_detection(datadir: Path, tmp_path: Path) -> None:
    assert run("db", "upgrade").exit_code == 0
    loaded = run("demo", "load")
    assert loaded.exit_code == 0, loaded.output
    assert "reviewer" in loaded.output and "yaosu-demo" in loaded.output
    again = run("demo", "load")
    assert again.exit_code == 1 and "already has organizations" in again.output
    # The demo's sharing: requests in every state, and metered calls on its grants.
    for state in ("approved", "provider_review", "authority_review", "rejected", "withdrawn"):
        shares = run("share", "list", "--status", state)
        assert shares.exit_code == 0 and "share requests 1-" in shares.output, shares.output
    grants = run("grant", "list", "--status", "active")
    assert grants.exit_code == 0 and "grants: 3" in grants.output, grants.output

    orgs = run("org", "list", "--kind", "government", "--limit", "200")
    assert "示范市公安局" in orgs.output
    token = run(
        "--as",
        "officer.gaj",
        "token",
        "create",
        "--user",
        "officer.gaj",
        "--name",
        "etl",
        "--scope",
        "identity:read",
    )
    assert token.exit_code == 0 and "ys_" in token.output
    bad = run(
        "--as",
        "admin",
        "token",
        "create",
        "--user",
        "officer.gaj",
        "--name",
        "x",
        "--scope",
        "root",
    )
    assert bad.exit_code == 1 and "Unknown scopes" in bad.output

    assert run("ledger", "checkpoint").exit_code == 0
    ok = run("ledger", "verify")
    assert ok.exit_code == 0 and "verified" in ok.output

    bundle = tmp_path / "bundle"
    assert run("ledger", "prove", "3", "--out", str(bundle)).exit_code == 0
    offline = subprocess.run(
        [
            sys.executable,
            "-m",
            "yaosu.ledger.verify",
            "inclusion",
            "--key",
            str(bundle / "key.txt"),
            "--checkpoint",
            str(bundle / "checkpoint.txt"),
            "--entry",
            str(bundle / "entry.json"),
            "--proof",
            str(bundle / "proof.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert offline.returncode == 0, offline.stderr

    db = sqlite3.connect(datadir / "yaosu.db")
    entry = db.execute("SELECT entry FROM ledger_entries WHERE idx = 12").fetchone()[0]
    db.execute(
        "UPDATE ledger_entries SET entry = ? WHERE idx = 12",
        (entry.replace(b"identity", b"identitx"),),
    )
    db.commit()
    db.close()
    tampered = run("ledger", "verify")
    assert tampered.exit_code == 1
    assert "first bad index 12" in tampered.output


def test_help_is_helpful() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("up", "db", "org", "user", "token", "ledger", "demo"):
        assert command in result.output


def test_up_loads_the_demo_only_on_the_embedded_database_unless_asked() -> None:
    from yaosu.cli.main import demo_wanted

    assert demo_wanted(None, embedded=True) is True  # `make up`: SQLite + local files
    assert demo_wanted(None, embedded=False) is False  # PostgreSQL: no known passwords
    assert demo_wanted(True, embedded=False) is True
    assert demo_wanted(False, embedded=True) is False
    out = CliRunner().invoke(app, ["up", "--help"], env={"COLUMNS": "200"}).output
    assert "--no-demo" in out and "PostgreSQL" in out


def test_cli_resource_ingest_with_progress(datadir: Path, tmp_path: Path) -> None:
    assert run("db", "upgrade").exit_code == 0
    from yaosu.db import unit_of_work
    from yaosu.demo import city

    with unit_of_work() as s:
        orgs = city.load(s)
        from tests.fixtures.catalog import create_resource

        code = create_resource(s, orgs["示范市公安局"]).code
    data = tmp_path / "人口.csv"
    data.write_bytes(
        "sfzh,xm\n110105194912310021,张三\n110105194912310048,李四\n".encode("gb18030")
    )
    result = run("--as", "officer.gaj", "resource", "ingest", code, str(data))
    assert result.exit_code == 0, result.output
    assert "version 1: 2 rows" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n1,2,3\n")
    failed = run("--as", "officer.gaj", "resource", "ingest", code, str(bad))
    assert failed.exit_code == 1 and "ragged_row" in failed.output
    listed = run("resource", "list", "--q", "人口")
    assert "resources 1-1 of 1" in listed.output
    out = tmp_path / "ledger.csv"
    assert run("census", "export", "--out", str(out)).exit_code == 0
    assert "资源代码" in out.read_bytes().decode("utf-8-sig")


def test_cli_classification_review_and_masked_export(datadir: Path, tmp_path: Path) -> None:
    assert run("db", "upgrade").exit_code == 0
    from tests.fixtures.catalog import create_resource
    from tests.fixtures.classification import csv_bytes, people_rows
    from yaosu.db import unit_of_work
    from yaosu.demo import city

    with unit_of_work() as s:
        code = create_resource(s, city.load(s)["示范市公安局"]).code
    data = tmp_path / "people.csv"
    data.write_bytes(csv_bytes(people_rows(50), "gb18030"))
    assert run("--as", "officer.gaj", "resource", "ingest", code, str(data)).exit_code == 0

    shown = run("resource", "classification", code)
    assert shown.exit_code == 0, shown.output
    assert "general_4" in shown.output and "resident_id" in shown.output
    refused = run(
        "--as", "officer.gaj", "resource", "review", code, "--column", "sfzh", "--type", "none"
    )
    assert refused.exit_code == 1 and "reason_required" in refused.output
    fixed = run(
        "--as",
        "officer.gaj",
        "resource",
        "review",
        code,
        "--column",
        "sfzh",
        "--type",
        "none",
        "--reason",
        "测试数据",
    )
    assert fixed.exit_code == 0 and "general_2" in fixed.output
    graded = run(
        "--as",
        "officer.gaj",
        "resource",
        "review",
        code,
        "--grade",
        "general_3",
        "--reason",
        "汇聚风险",
    )
    assert graded.exit_code == 0 and "已更正" in graded.output

    out = tmp_path / "masked.csv"
    done = run(
        "--as", "officer.gaj", "resource", "export", code, "--policy", "default", "--out", str(out)
    )
    assert done.exit_code == 0, done.output
    text = out.read_text("utf-8")
    assert "sha256" in done.output and "*" in text
    rows = people_rows(50)
    assert str(rows[0]["sfzh"]) in text  # the reviewed "none" field is left as it is
    assert str(rows[0]["sjhm"]) not in text
    policy = tmp_path / "rules.json"
    policy.write_text('{"nope": {"op": "suppress"}}', encoding="utf-8")
    bad = tmp_path / "bad.csv"
    refused = run(
        "--as",
        "officer.gaj",
        "resource",
        "export",
        code,
        "--policy",
        str(policy),
        "--out",
        str(bad),
    )
    assert refused.exit_code == 1 and not bad.exists()

    added = run(
        "--as",
        "reviewer",
        "important-data",
        "add",
        "--sector",
        "政务",
        "--name",
        "人口",
        "--code-prefix",
        "10101",
    )
    assert added.exit_code == 0, added.output
    assert "人口" in run("important-data", "list").output
    rerun = run("--as", "officer.gaj", "resource", "classification", code, "--rerun")
    assert rerun.exit_code == 0 and "important" in rerun.output


# --- who a command acts as (issue 21): on SQLite and PostgreSQL ---------------------------------
LONG_RESOURCE = "示范市公安局常住人口基础信息（含户籍、迁入迁出与居住证登记，按街道汇总）"
LONG_UNIT = "示范市民政局社会救助与养老服务综合管理中心（市最低生活保障事务中心）"


def invoke(*args: str, width: int = 250, **env: str) -> Any:
    """One `yaosu` invocation in this process, with ``env`` set for it (settings re-read)."""
    from yaosu.cli.common import console, err_console

    console.width = err_console.width = width
    reset_settings()
    try:
        return CliRunner().invoke(app, list(args), env=env or None)
    finally:
        reset_settings()


@pytest.fixture
def node(fresh_engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A committed node on a fresh database of either backend: two units with officers, a
    member, an admin and a reviewer, a disabled user, a suspended unit's user, a resource of the
    police bureau with data and a grant of it to the civil-affairs bureau."""
    from tests.fixtures.catalog import create_resource
    from tests.fixtures.classification import csv_bytes, people_rows
    from tests.fixtures.identity import SYSTEM, create_org, create_user
    from yaosu.catalog.service import dataset_service
    from yaosu.catalog.tasks import run_in_session
    from yaosu.db import unit_of_work
    from yaosu.identity.rules import ALL_SCOPES
    from yaosu.identity.service import org_service, token_service, user_service
    from yaosu.sharing import schemas as share_schemas
    from yaosu.sharing.service import request_service

    monkeypatch.setenv("YAOSU_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.setenv("YAOSU_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("YAOSU_CLI_USER", raising=False)
    reset_settings()
    reset_engines()
    with unit_of_work() as s:
        gaj = create_org(s, "示范市公安局")
        mzj = create_org(s, LONG_UNIT)
        dsj = create_org(s, "示范市大数据局")
        closed = create_org(s, "示范市停用局")
        users = {
            "officer": create_user(s, gaj, "officer.gaj", "data_officer"),
            "member": create_user(s, gaj, "member.gaj", "member"),
            "consumer": create_user(s, mzj, "officer.mzj", "data_officer"),
            "admin": create_user(s, dsj, "admin", "platform_admin"),
            "reviewer": create_user(s, dsj, "reviewer", "reviewer"),
            "gone": create_user(s, gaj, "gone.gaj", "data_officer"),
            "frozen": create_user(s, closed, "officer.closed", "data_officer"),
        }
        user_service.deactivate(s, SYSTEM, users["gone"].id)
        org_service.change_status(s, SYSTEM, closed.id, "suspended", "测试")
        res = create_resource(
            s, gaj, publish=True, name=LONG_RESOURCE, share_attribute="unconditional"
        )
        job = dataset_service.stage_upload(
            s,
            SYSTEM,
            res.id,
            "p.csv",
            lambda p: p.write_bytes(csv_bytes(people_rows(30))),
            {},
        )
        assert run_in_session(s, job.id).status == "succeeded"
        consumer = token_service.subject_of(users["consumer"], ALL_SCOPES, None, "test")
        req = request_service.submit(
            s,
            consumer,
            share_schemas.ShareRequestCreate(
                resource_id=res.id,
                fields=["xm"],
                purpose="one_thing",
                purpose_text="新生儿出生一件事",
                legal_basis="《政务数据共享条例》",
                term_days=180,
            ),
        )
        assert req.grant_id
        ids = {k: u.id for k, u in users.items()}
        world = dict(
            users=ids,
            code=res.code,
            resource=res.id,
            grant=req.grant_id,
            request=req.id,
            gaj=gaj.id,
            closed=closed.id,
        )
    yield world
    from yaosu.cli.common import acting

    acting.set(None)
    reset_engines()
    reset_settings()


def ledger_size() -> int:
    from yaosu.db import unit_of_work
    from yaosu.ledger.service import ledger_service

    with unit_of_work(write=False) as s:
        return ledger_service.size(s)


def entries_since(start: int) -> list[dict[str, Any]]:
    import json

    from yaosu.db import unit_of_work
    from yaosu.ledger.service import ledger_service

    with unit_of_work(write=False) as s:
        return [
            json.loads(bytes(ledger_service.entry(s, i).entry))
            for i in range(start, ledger_service.size(s))
        ]


def write_commands(node: dict[str, Any], tmp_path: Path) -> list[list[str]]:
    """State-changing commands, each well-formed, so only the missing user stops them."""
    data = tmp_path / "more.csv"
    data.write_bytes(b"xm,zz\n1,2\n")
    return [
        ["resource", "ingest", node["code"], str(data)],
        ["resource", "classification", node["code"], "--rerun"],
        ["resource", "review", node["code"], "--grade", "general_3", "--reason", "r"],
        ["resource", "export", node["code"], "--out", str(tmp_path / "m.csv")],
        ["important-data", "add", "--sector", "政务", "--name", "人口", "--keyword", "人口"],
        ["org", "create", "某局", "--kind", "government", "--gov-level", "city"],
        ["org", "suspend", node["gaj"], "--reason", "r"],
        ["user", "create", "x.y", "--org", node["gaj"], "--password", "p4ssword-long"],
        ["user", "deactivate", node["users"]["member"]],
        ["token", "create", "--user", "officer.gaj", "--name", "t", "--scope", "catalog:read"],
        ["token", "revoke", "NO-SUCH-TOKEN"],
        ["share", "decide", node["request"], "--approve"],
        ["grant", "suspend", node["grant"], "--reason", "r"],
        ["grant", "revoke", node["grant"], "--reason", "r"],
        # Commands added later are covered by the same mechanism, with no code of their own.
        ["demo", "load", "--force"],  # the demo city into a node that has units
        ["resource", "accept-version", "SOME-VERSION"],
        ["resource", "reject-version", "SOME-VERSION", "--reason", "r"],
        ["resource", "rollback", node["code"], "1", "--reason", "r"],
    ]


def test_cli_writes_without_a_user_are_refused_with_how_to_name_one(
    node: dict[str, Any], tmp_path: Path
) -> None:
    before = ledger_size()
    for args in write_commands(node, tmp_path):
        for env in ({}, {"YAOSU_CLI_USER": ""}, {"YAOSU_CLI_USER": "   "}):
            result = invoke(*args, **env)
            assert result.exit_code == 1, (args, result.output)
            out = result.output
            assert "cli_user_required" in out and "401" in out, (args, out)
            assert "--as USERNAME" in out and "YAOSU_CLI_USER" in out, out
            assert "具名用户" in out, out  # the zh-CN half
    assert ledger_size() == before  # nothing happened
    assert not (tmp_path / "m.csv").exists()


def test_cli_user_lacking_the_role_gets_a_403(node: dict[str, Any], tmp_path: Path) -> None:
    before = ledger_size()
    data = tmp_path / "more.csv"
    data.write_bytes(b"xm,zz\n1,2\n")
    refusals = [
        (["--as", "member.gaj", "org", "create", "某局", "--kind", "government",
          "--gov-level", "city"], "role_required"),
        (["--as", "officer.gaj", "org", "suspend", node["closed"], "--reason", "r"],
         "role_required"),
        (["--as", "member.gaj", "user", "create", "x.y", "--org", node["gaj"],
          "--password", "p4ssword-long"], "role_required"),
        (["--as", "officer.gaj", "user", "deactivate", node["users"]["member"]],
         "role_required"),
        (["--as", "officer.gaj", "important-data", "add", "--sector", "政务", "--name", "n",
          "--keyword", "人口"], "role_required"),
        (["--as", "member.gaj", "resource", "review", node["code"], "--grade", "general_3",
          "--reason", "r"], "role_required"),
        (["--as", "member.gaj", "resource", "classification", node["code"], "--rerun"],
         "role_required"),
        # The services' own checks, as for an API call: another unit's resource or grant.
        (["--as", "officer.mzj", "resource", "ingest", node["code"], str(data)], "not_provider"),
        (["--as", "member.gaj", "resource", "ingest", node["code"], str(data)], "not_provider"),
        (["--as", "officer.gaj", "token", "create", "--user", "admin", "--name", "t",
          "--scope", "identity:write"], "not_token_owner"),
        (["--as", "officer.mzj", "grant", "revoke", node["grant"], "--reason", "r"], "403"),
        (["--as", "officer.gaj", "demo", "load", "--force"], "role_required"),
    ]  # fmt: skip
    for args, code in refusals:
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert code in result.output and "403" in result.output, (args, result.output)
    assert ledger_size() == before


def test_cli_names_that_are_not_usable_users_are_refused(node: dict[str, Any]) -> None:
    before = ledger_size()
    cases = [
        ("ghost", "cli_user_unknown", "401"),
        ("gone.gaj", "account_disabled", "401"),
        ("officer.closed", "org_suspended", "403"),
    ]
    for name, code, status in cases:
        for args in (["grant", "suspend", node["grant"], "--reason", "r"], ["org", "list"]):
            by_option = invoke("--as", name, *args)
            by_env = invoke(*args, YAOSU_CLI_USER=name)
            for result in (by_option, by_env):
                assert result.exit_code == 1, result.output
                assert code in result.output and status in result.output, result.output
    assert ledger_size() == before


def test_cli_write_as_a_user_is_checked_and_recorded_with_via_cli(
    node: dict[str, Any], tmp_path: Path
) -> None:
    data = tmp_path / "more.csv"
    data.write_bytes(b"xm,zz\n\xe5\xbc\xa0\xe4\xb8\x89,1\n")
    start = ledger_size()
    done = invoke("--as", "officer.gaj", "resource", "ingest", node["code"], str(data))
    assert done.exit_code == 0, done.output
    queued = [e for e in entries_since(start) if e["type"] == "catalog.ingest_queued"]
    assert len(queued) == 1
    assert queued[0]["actor"] == {
        "user": node["users"]["officer"],
        "org": node["gaj"],
        "via": "cli",
    }
    # The environment variable names the user too; --as wins over it.
    start = ledger_size()
    env_run = invoke("grant", "suspend", node["grant"], "--reason", "检查", YAOSU_CLI_USER="admin")
    assert env_run.exit_code == 0, env_run.output
    both = invoke(
        "--as", "officer.gaj", "grant", "resume", node["grant"], "--reason", "好了",
        YAOSU_CLI_USER="admin",
    )  # fmt: skip
    assert both.exit_code == 0, both.output
    actors = [(e["type"], e["actor"]) for e in entries_since(start)]
    assert ("sharing.grant_suspended", {"user": node["users"]["admin"], "org": actors[0][1]["org"],
            "via": "cli"}) in actors  # fmt: skip
    resumed = [a for t, a in actors if t == "sharing.grant_resumed"]
    assert resumed and resumed[0]["user"] == node["users"]["officer"]
    assert all(a["via"] == "cli" and a["user"] for _, a in actors)
    # A token for oneself.
    own = invoke(
        "--as", "officer.gaj", "token", "create", "--user", "officer.gaj", "--name", "etl",
        "--scope", "catalog:read",
    )  # fmt: skip
    assert own.exit_code == 0 and "ys_" in own.output, own.output


def test_cli_reads_run_unattributed_and_cannot_write(node: dict[str, Any], tmp_path: Path) -> None:
    reads = [
        ["org", "list"],
        ["user", "list"],
        ["token", "list"],
        ["resource", "list"],
        ["resource", "classification", node["code"]],
        ["important-data", "list"],
        ["share", "list"],
        ["grant", "list"],
        ["grant", "usage", node["grant"]],
        ["census", "export", "--out", str(tmp_path / "ledger.csv")],
        ["ledger", "verify"],
    ]
    before = ledger_size()
    for args in reads:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
    assert ledger_size() == before
    # A read as a user sees what that user may see: a member sees only themself.
    mine = invoke("--as", "member.gaj", "user", "list")
    assert "users 1-1 of 1" in mine.output and "member.gaj" in mine.output


def test_a_read_unit_without_a_user_refuses_any_write(node: dict[str, Any]) -> None:
    """The class, not the commands: whatever a read-only command's code does, the node itself
    cannot change state through it (ORM flush, a service with its ledger entry, raw SQL)."""
    import typer
    from sqlalchemy import func, select, text

    from yaosu.cli.common import acting, command_unit
    from yaosu.identity import schemas
    from yaosu.identity.service import org_service
    from yaosu.models.identity import Organization

    acting.set(None)

    def count() -> int:
        from yaosu.db import unit_of_work

        with unit_of_work(write=False) as s:
            return int(s.execute(select(func.count()).select_from(Organization)).scalar_one())

    orgs, entries = count(), ledger_size()
    attempts = [
        lambda s, subj: org_service.create(
            s, subj, schemas.OrgCreate(name="偷建的局", kind="government", gov_level="city")
        ),
        lambda s, subj: s.execute(text("UPDATE organizations SET name = 'x'")),
        lambda s, subj: (
            s.add(s.get(Organization, node["gaj"]))
            or setattr(s.get(Organization, node["gaj"]), "name", "改名")
        ),
        lambda s, subj: s.execute(
            text("WITH x AS (SELECT 1) DELETE FROM user_roles WHERE role = 'member'")
        ),
    ]
    for attempt in attempts:
        with pytest.raises(typer.Exit), command_unit(write=False) as (session, subject):
            assert subject.is_system
            attempt(session, subject)
    assert count() == orgs and ledger_size() == entries
    from yaosu.db import unit_of_work

    with unit_of_work(write=False) as s:
        assert s.get(Organization, node["gaj"]).name == "示范市公安局"  # type: ignore[union-attr]


def test_the_node_sets_itself_up_then_needs_a_user(
    fresh_engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YAOSU_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.setenv("YAOSU_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("YAOSU_CLI_USER", raising=False)
    reset_settings()
    reset_engines()
    try:
        made = invoke(
            "org", "create", "示范市大数据局", "--kind", "government", "--gov-level", "city"
        )
        assert made.exit_code == 0, made.output
        org_id = made.output.split()[1]
        # Not yet an admin: the node may still create users and units.
        short = invoke("user", "create", "m", "--org", org_id, "--password", "p4ssword-long")
        assert short.exit_code == 1 and "422 (invalid_input)" in short.output, short.output
        assert "Username (at least 3 characters)" in short.output
        assert "Traceback" not in short.output
        assert "用户名（至少 3 个字符）" in short.output  # not pydantic's English
        member = invoke("user", "create", "mmm", "--org", org_id, "--password", "p4ssword-long")
        assert member.exit_code == 0, member.output
        admin = invoke(
            "user", "create", "root", "--org", org_id, "--role", "platform_admin",
            "--password", "p4ssword-long",
        )  # fmt: skip
        assert admin.exit_code == 0, admin.output
        # Set up: from now on the node itself changes nothing.
        again = invoke("org", "create", "某局", "--kind", "government", "--gov-level", "city")
        assert again.exit_code == 1 and "cli_user_required" in again.output
        more = invoke("user", "create", "n", "--org", org_id, "--password", "p4ssword-long")
        assert more.exit_code == 1 and "cli_user_required" in more.output
        token = invoke("token", "create", "--user", "root", "--name", "t", "--scope", "ledger:read")
        assert token.exit_code == 1 and "cli_user_required" in token.output
        as_admin = invoke(
            "--as", "root", "org", "create", "某局", "--kind", "government", "--gov-level", "city"
        )
        assert as_admin.exit_code == 0, as_admin.output
        actors = [e["actor"] for e in entries_since(0) if e["type"] == "identity.org_created"]
        assert actors[0] == {"user": None, "org": None, "via": "cli"}  # the node, setting up
        assert actors[-1]["user"] and actors[-1]["via"] == "cli"
        # The node's own ledger work needs no user.
        assert invoke("ledger", "checkpoint").exit_code == 0
        assert invoke("ledger", "key").exit_code == 0
    finally:
        reset_engines()
        reset_settings()


# --- lists a person reads on an 80-column terminal (issue 15) -----------------------------------
def test_lists_show_names_and_fit_80_columns(node: dict[str, Any], tmp_path: Path) -> None:
    from rich.cells import cell_len

    lists = [
        ["org", "list"],
        ["user", "list"],
        ["token", "list"],
        ["resource", "list"],
        ["important-data", "list"],
        ["share", "list"],
        ["grant", "list"],
        ["grant", "usage", node["grant"]],
        ["resource", "classification", node["code"]],
    ]
    for args in lists:
        result = invoke(*args, width=80)
        assert result.exit_code == 0, (args, result.output)
        too_wide = [line for line in result.output.splitlines() if cell_len(line) > 80]
        assert not too_wide, (args, too_wide)
    for args, own_id in ((["grant", "list"], "grant"), (["share", "list"], "request")):
        narrow = invoke(*args, width=80).output
        assert node[own_id] in narrow  # the id whole on its line, to copy into a command
        assert "示范市公安局" in narrow and "示范市民政局" in narrow  # names, folded
        wide = invoke(*args, width=400).output
        assert LONG_RESOURCE in wide and LONG_UNIT in wide, wide
        assert node["resource"] not in wide + narrow and node["gaj"] not in wide + narrow


def test_ledger_prove_prints_the_verify_command_on_one_line(
    node: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "a bundle"
    result = invoke("ledger", "prove", "2", "--out", str(out), width=80)
    assert result.exit_code == 0, result.output
    command = [line for line in result.output.splitlines() if "yaosu.ledger.verify" in line]
    assert len(command) == 1 and command[0].startswith("python -m yaosu.ledger.verify inclusion")
    assert command[0].endswith("proof.json'") and "--entry" in command[0]
    import shlex

    argv = shlex.split(command[0])
    offline = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True)
    assert offline.returncode == 0, offline.stderr


def test_help_and_group_registry_agree() -> None:
    """`yaosu --help` lists the lazy groups by their help without importing them; each
    group's registry help is its own."""
    import importlib

    from yaosu.cli.main import LAZY_GROUPS, load_group

    for name, (help_text, _, _) in LAZY_GROUPS.items():
        assert load_group(name).help == help_text, name
    result = run("--help")
    assert all(name in result.output for name in LAZY_GROUPS)
    assert "--as" in result.output and "YAOSU_CLI_USER" in result.output
    importlib.import_module("yaosu.cli.main")


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from yaosu.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "heavy = [m for m in ('sqlalchemy', 'duckdb', 'pyarrow', 'fastapi', 'uvicorn', 'faker', "
        "'rdflib', 'pydantic_settings', 'yaosu.models', 'numpy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout
