"""Killing the process mid-ingest leaves no version and no rows; a retry succeeds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from yaosu.dataplane.storage import Storage


def test_sigkill_mid_ingest_leaves_nothing_and_retry_succeeds(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    env = {**os.environ, "YAOSU_DATA_DIR": str(data_dir)}
    env.pop("YAOSU_DATABASE_URL", None)

    def yaosu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "yaosu", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert yaosu("db", "upgrade").returncode == 0
    script = (
        "from yaosu.db import unit_of_work\n"
        "from yaosu.demo import city\n"
        "from tests.fixtures.catalog import create_resource\n"
        "with unit_of_work() as s:\n"
        "    print(create_resource(s, city.load(s)['示范市公安局']).code)\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip().splitlines()[-1]

    big = tmp_path / "big.csv"
    with big.open("w", encoding="gb18030") as fh:
        fh.write("sfzh,xm,nl,zz\n")
        for i in range(400_000):
            fh.write(f"1101051949123{i % 10000:04d}X,张三{i},{i % 90},示范市东城区滨海街道{i}号\n")

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yaosu",
            "--as",
            "officer.gaj",
            "resource",
            "ingest",
            code,
            str(big),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staging = data_dir / "storage" / "staging"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if staging.exists() and any(staging.iterdir()):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the ingest ended before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    db = sqlite3.connect(data_dir / "yaosu.db")
    assert db.execute("SELECT count(*) FROM dataset_versions").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM ingest_jobs").fetchone()[0] == 0
    db.close()
    storage = Storage(str(data_dir / "storage"))
    assert not list((data_dir / "storage" / "versions").rglob("*.parquet"))
    storage.sweep_staging(0)  # what the node does for files older than its threshold
    assert not any(staging.iterdir())

    retry = yaosu("--as", "officer.gaj", "resource", "ingest", code, str(big))
    assert retry.returncode == 0, retry.stderr
    assert "400,000 rows" in retry.stdout
