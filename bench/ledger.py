"""Ledger benchmark (issue: transparency ledger).

Prints, for SQLite and PostgreSQL:
- appends/s with one entry per transaction and with 1,000 per transaction;
- the same rows inserted into a plain table without hashing (baseline, same run) and the ratio;
- inclusion-proof generation and verification time at 1M entries.
Targets: batched appends >= 50% of the plain-insert rate; proofs at 1M entries under 5 ms.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from yaosu.db import unit_of_work
from yaosu.db.engine import make_engine
from yaosu.db.migrate import upgrade
from yaosu.kit.timeutil import utcnow
from yaosu.ledger import merkle
from yaosu.ledger.events import Actor, Event
from yaosu.ledger.service import ledger_service

ACTOR = Actor(user="01bench00000000000000000000", org="01benchorg0000000000000000", via="bench")
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def events(n: int, start: int = 0) -> list[Event]:
    return [
        Event("bench.thing_recorded", ACTOR, (f"res-{i % 1000}",), {"i": i, "v": "x" * 40})
        for i in range(start, start + n)
    ]


def plain_rows(n: int, start: int = 0) -> list[dict[str, object]]:
    """The same entry bytes the ledger would store, for the no-hashing baseline."""
    now = utcnow()
    return [
        {"idx": i, "entry": ev.entry_bytes(now), "type": ev.type}
        for i, ev in enumerate(events(n, start), start=start)
    ]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


PLAIN = Table(
    "bench_plain",
    MetaData(),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),
    Column("type", String(80), nullable=False),
)


def make_plain_table(engine: Engine) -> None:
    # A scratch table of the benchmark's own database, not part of the application schema.
    PLAIN.create(engine)


def plain_insert(session: Session, rows: list[dict[str, object]]) -> None:
    # The same Core executemany that the ledger repository uses.
    session.execute(insert(PLAIN), rows)


def bench_appends(engine: Engine, single: int, batched: int) -> dict[str, float]:
    make_plain_table(engine)
    out: dict[str, float] = {}

    def ledger_single() -> None:
        for ev in events(single):
            with unit_of_work(engine) as s:
                ledger_service.record_many(s, [ev])

    def plain_single() -> None:
        for row in plain_rows(single):
            with unit_of_work(engine) as s:
                plain_insert(s, [row])

    def ledger_batched() -> None:
        for start in range(0, batched, 1000):
            batch = events(1000, start)
            with unit_of_work(engine) as s:
                ledger_service.record_many(s, batch)

    def plain_batched() -> None:
        for start in range(0, batched, 1000):
            rows = plain_rows(1000, single + start)
            with unit_of_work(engine) as s:
                plain_insert(s, rows)

    out["single"] = rate(single, timed(ledger_single))
    out["plain_single"] = rate(single, timed(plain_single))
    out["batched"] = rate(batched, timed(ledger_batched))
    out["plain_batched"] = rate(batched, timed(plain_batched))
    return out


def bench_proofs(engine: Engine, size: int, samples: int) -> dict[str, float]:
    with unit_of_work(engine, write=False) as s:
        have = ledger_service.size(s)
    t0 = time.perf_counter()
    while have < size:
        n = min(10_000, size - have)
        with unit_of_work(engine) as s:
            ledger_service.record_many(s, events(n, have))
        have += n
    fill_rate = rate(size, time.perf_counter() - t0)
    rng = random.Random(1)
    gen, ver = [], []
    with unit_of_work(engine, write=False) as s:
        root = ledger_service.root(s, size)
        for _ in range(samples):
            index = rng.randrange(size)
            t = time.perf_counter()
            proof = ledger_service.inclusion_proof(s, index, size)
            gen.append(time.perf_counter() - t)
            leaf = merkle.leaf_hash(bytes(ledger_service.entry(s, index).entry))
            t = time.perf_counter()
            merkle.verify_inclusion(leaf, index, size, proof, root)
            ver.append(time.perf_counter() - t)
    gen.sort()
    return {
        "fill_rate": fill_rate,
        "gen_p50_ms": statistics.median(gen) * 1000,
        "gen_p95_ms": gen[int(len(gen) * 0.95)] * 1000,
        "ver_p50_ms": statistics.median(ver) * 1000,
    }


def pg_engine() -> tuple[Engine, Callable[[], None]] | None:
    server = os.environ.get("YAOSU_TEST_PG_URL") or PG_DEFAULT
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        name = f"yaosu_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: say so and run SQLite only
        print(f"  PostgreSQL not reachable at {server}: {str(exc).splitlines()[0]}; skipped")
        return None
    engine = make_engine(make_url(server).set(database=name).render_as_string(hide_password=False))

    def drop() -> None:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return engine, drop


def report(name: str, a: dict[str, float], p: dict[str, float], size: int) -> None:
    single_ratio = a["single"] / a["plain_single"]
    batched_ratio = a["batched"] / a["plain_batched"]
    print(
        f"  {name:10s} one per txn  : ledger {a['single']:9,.0f}/s  "
        f"plain {a['plain_single']:9,.0f}/s  ratio {single_ratio:.2f}"
    )
    print(
        f"  {name:10s} 1,000 per txn: ledger {a['batched']:9,.0f}/s  "
        f"plain {a['plain_batched']:9,.0f}/s  ratio {batched_ratio:.2f} (target >= 0.50)"
    )
    print(
        f"  {name:10s} at {size:,} entries (filled at {p['fill_rate']:,.0f}/s): inclusion proof "
        f"p50 {p['gen_p50_ms']:.2f} ms, p95 {p['gen_p95_ms']:.2f} ms (target < 5 ms); "
        f"verification p50 {p['ver_p50_ms']:.3f} ms"
    )


def main(quick: bool = False) -> None:
    single, batched = (200, 5_000) if quick else (2_000, 100_000)
    size, samples = (20_000, 200) if quick else (1_000_000, 1_000)
    print(
        f"== ledger: appends ({single:,} single, {batched:,} batched), proofs at {size:,} entries"
    )
    tmp = Path(tempfile.mkdtemp(prefix="yaosu-bench-"))
    backends: list[tuple[str, Engine, Callable[[], None]]] = []
    sqlite = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    backends.append(("sqlite", sqlite, sqlite.dispose))
    pg = pg_engine()
    if pg:
        backends.append(("postgresql", *pg))
    for name, engine, cleanup in backends:
        try:
            upgrade(engine)
            appends = bench_appends(engine, single, batched)
            proofs = bench_proofs(engine, size, samples)
            report(name, appends, proofs, size)
        finally:
            cleanup()
