"""Catalog search benchmark (issue: catalog and ingest).

Registers 100,000 resources (bulk-inserted rows with their search terms, built by the same
tokenizer the service uses; registration itself is not what is measured), then times
``resource_service.search`` — hits, total and all seven facets — for random Chinese and English
queries with and without facet filters. Prints p50/p95 per database. Target: p95 <= 50 ms.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from bench.ledger import pg_engine
from yaosu.catalog import rules, search
from yaosu.catalog.service import resource_service
from yaosu.db import unit_of_work
from yaosu.db.engine import make_engine
from yaosu.db.migrate import upgrade
from yaosu.identity.subject import Subject
from yaosu.kit.ids import new_id
from yaosu.kit.timeutil import utcnow
from yaosu.models.catalog import Resource, SearchTerm
from yaosu.models.identity import Organization

PLACES = ["全市", "东城区", "西城区", "高新区", "滨海街道", "长安街道"]
SUBJECTS = [
    "常住人口",
    "户籍",
    "企业登记",
    "社会保险",
    "医疗机构",
    "机动车",
    "不动产",
    "公交站点",
    "空气质量",
    "学校",
    "养老机构",
    "纳税信用",
    "食品许可",
    "婚姻登记",
    "就业",
    "公积金",
    "规划分区",
    "农业主体",
    "安全生产",
    "经济指标",
]
KINDS = ["基本信息", "登记信息", "变更记录", "统计数据", "许可信息", "监测数据", "名录", "明细"]
WORDS = ["register", "population", "license", "vehicle", "health", "tax", "school", "transport"]


def fill(engine: Engine, n: int, rng: random.Random) -> None:
    with unit_of_work(engine) as s:
        orgs = []
        for i in range(40):
            org = Organization(
                id=new_id(),
                name=f"示范市第{i}局",
                kind="government",
                gov_level="city",
                status="active",
                did=f"did:web:bench:org:{i}",
                service_types=[],
            )
            s.add(org)
            orgs.append(org.id)
    now = utcnow()
    batch: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []

    def flush() -> None:
        with unit_of_work(engine) as s:
            s.execute(insert(Resource), batch)
            s.execute(insert(SearchTerm), terms)
        batch.clear()
        terms.clear()

    for i in range(n):
        name = f"{rng.choice(PLACES)}{rng.choice(SUBJECTS)}{rng.choice(KINDS)}"
        summary = f"{rng.choice(SUBJECTS)}{rng.choice(KINDS)} {rng.choice(WORDS)}"
        keywords = [rng.choice(SUBJECTS), rng.choice(WORDS)]
        rid = new_id()
        batch.append(
            {
                "id": rid,
                "code": f"10101001/{i:06d}",
                "classification_code": "10101001",
                "name": name,
                "provider_id": rng.choice(orgs),
                "summary": summary,
                "format": rng.choice(list(rules.FORMATS)),
                "fields": [],
                "update_cycle": rng.choice(list(rules.UPDATE_CYCLES)),
                "base_library": rng.choice([*rules.BASE_LIBRARIES, None]),
                "share_attribute": rng.choice(list(rules.SHARE_ATTRIBUTES)),
                "open_attribute": rng.choice(list(rules.OPEN_ATTRIBUTES)),
                "keywords": keywords,
                "contact": {},
                "status": "published",
                "catalog_version": 1,
                "authoritative": False,
                "created_at": now,
                "updated_at": now,
                "published_at": now,
            }
        )
        weights = search.weighted_terms([(name, 3), (" ".join(keywords), 2), (summary, 1)])
        terms.extend({"term": t, "resource_id": rid, "weight": w} for t, w in weights.items())
        if len(batch) >= 5000:
            flush()
    if batch:
        flush()


def queries(rng: random.Random, count: int) -> list[tuple[str | None, dict[str, list[str]]]]:
    out: list[tuple[str | None, dict[str, list[str]]]] = []
    for _ in range(count):
        q = rng.choice(
            [
                rng.choice(SUBJECTS),
                rng.choice(KINDS),
                rng.choice(WORDS),
                f"{rng.choice(SUBJECTS)}{rng.choice(KINDS)}",
                None,
            ]
        )
        filters: dict[str, list[str]] = {}
        if rng.random() < 0.5:
            filters["share_attribute"] = [rng.choice(list(rules.SHARE_ATTRIBUTES))]
        if rng.random() < 0.3:
            filters["base_library"] = [rng.choice(list(rules.BASE_LIBRARIES))]
        out.append((q, filters))
    return out


def measure(engine: Engine, n: int, samples: int) -> dict[str, float]:
    rng = random.Random(7)
    t0 = time.perf_counter()
    fill(engine, n, rng)
    fill_s = time.perf_counter() - t0
    reviewer = Subject("u", "bench", None, "active", frozenset({"reviewer"}), frozenset())
    times = []
    with unit_of_work(engine, write=False) as s:
        t = time.perf_counter()
        resource_service.search(s, reviewer, None, {}, 20, 0)  # builds the in-process index
        build_s = time.perf_counter() - t
        for q, filters in queries(rng, samples):
            t = time.perf_counter()
            resource_service.search(s, reviewer, q, filters, 20, 0)
            times.append(time.perf_counter() - t)
    times.sort()
    return {
        "fill_s": fill_s,
        "build_s": build_s,
        "p50": statistics.median(times) * 1000,
        "p95": times[int(len(times) * 0.95)] * 1000,
    }


def main(quick: bool = False) -> None:
    n, samples = (10_000, 100) if quick else (100_000, 400)
    print(f"== search: {n:,} resources, {samples} queries with facets")
    tmp = Path(tempfile.mkdtemp(prefix="yaosu-bench-"))
    sqlite = make_engine(f"sqlite:///{tmp / 'search.db'}")
    backends: list[tuple[str, Engine, Any]] = [("sqlite", sqlite, sqlite.dispose)]
    pg = pg_engine()
    if pg:
        backends.append(("postgresql", *pg))
    for name, engine, cleanup in backends:
        try:
            upgrade(engine)
            m = measure(engine, n, samples)
            print(
                f"  {name:10s} filled in {m['fill_s']:.0f} s, index built in {m['build_s']:.1f} s; "
                f"search p50 {m['p50']:.1f} ms, p95 {m['p95']:.1f} ms (target p95 <= 50 ms)"
            )
        finally:
            cleanup()
