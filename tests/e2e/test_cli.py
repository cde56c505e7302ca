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
        "token", "create", "--user", "officer.gaj", "--name", "etl", "--scope", "identity:read"
    )
    assert token.exit_code == 0 and "ys_" in token.output
    bad = run("token", "create", "--user", "officer.gaj", "--name", "x", "--scope", "root")
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
    result = run("resource", "ingest", code, str(data))
    assert result.exit_code == 0, result.output
    assert "version 1: 2 rows" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n1,2,3\n")
    failed = run("resource", "ingest", code, str(bad))
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
    assert run("resource", "ingest", code, str(data)).exit_code == 0

    shown = run("resource", "classification", code)
    assert shown.exit_code == 0, shown.output
    assert "general_4" in shown.output and "resident_id" in shown.output
    refused = run("resource", "review", code, "--column", "sfzh", "--type", "none")
    assert refused.exit_code == 1 and "reason_required" in refused.output
    fixed = run(
        "resource", "review", code, "--column", "sfzh", "--type", "none", "--reason", "测试数据"
    )
    assert fixed.exit_code == 0 and "general_2" in fixed.output
    graded = run("resource", "review", code, "--grade", "general_3", "--reason", "汇聚风险")
    assert graded.exit_code == 0 and "已更正" in graded.output

    out = tmp_path / "masked.csv"
    done = run("resource", "export", code, "--policy", "default", "--out", str(out))
    assert done.exit_code == 0, done.output
    text = out.read_text("utf-8")
    assert "sha256" in done.output and "*" in text
    rows = people_rows(50)
    assert str(rows[0]["sfzh"]) in text  # the reviewed "none" field is left as it is
    assert str(rows[0]["sjhm"]) not in text
    policy = tmp_path / "rules.json"
    policy.write_text('{"nope": {"op": "suppress"}}', encoding="utf-8")
    bad = tmp_path / "bad.csv"
    refused = run("resource", "export", code, "--policy", str(policy), "--out", str(bad))
    assert refused.exit_code == 1 and not bad.exists()

    added = run(
        "important-data", "add", "--sector", "政务", "--name", "人口", "--code-prefix", "10101"
    )
    assert added.exit_code == 0, added.output
    assert "人口" in run("important-data", "list").output
    rerun = run("resource", "classification", code, "--rerun")
    assert rerun.exit_code == 0 and "important" in rerun.output
