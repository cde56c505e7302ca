"""Open-data portal benchmark (issue: open data, the CKAN Action API).

On the embedded default (SQLite and local files in a temporary data directory), ``yaosu`` is
served by uvicorn in its own process and called over HTTP (GET, keep-alive, one client):

1. ``package_search`` over 10,000 open datasets (1,000 with --quick; bulk-inserted rows with
   their search terms, as ``bench/search`` makes them, all listed) with two facet terms in
   ``fq`` (``organization:… groups:…``) and ``facet.field`` — once with the facets the search
   index keeps (organization, groups, license_id), once with CKAN's default facet set, which
   adds tags and res_format (counted over the matching datasets' summaries); and, for
   reference, CKAN's default facets over the whole catalog without ``fq`` (its kept summaries);
2. ``datastore_search``, first page with ``include_total=true``, on a 1,000,000-row downloadable
   resource (100,000 with --quick) ingested and classified through the services, its personal
   columns masked in the engine.

Prints p50/p95 of each; target: p95 <= 50 ms for both.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import search, service_engine
from bench.common import in_child
from bench.service import _pct, _port, _start, _wait
from yaosu.catalog import rules as catalog_rules

INDEX_FACETS = ["organization", "groups", "license_id"]
CKAN_FACETS = ["organization", "groups", "tags", "res_format", "license_id"]
COLUMNS = (
    "编号",
    "姓名",
    "身份证号",
    "手机",
    "年龄",
    "收入",
    "出生日期",
    "登记时间",
    "有效",
    "地址",
)


def _setup(data_dir: str, parquet: str, datasets: int) -> dict[str, Any]:
    """Migrate, fill the catalog, then register, publish, ingest and grade the big resource
    (through the services, as the node would). Runs in a fresh process: settings are per
    process."""
    os.environ["YAOSU_DATA_DIR"] = data_dir
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    from sqlalchemy import select, update

    from yaosu.catalog import schemas as catalog_schemas
    from yaosu.catalog.service import dataset_service, resource_service
    from yaosu.catalog.tasks import run_in_session
    from yaosu.classification import schemas as classification_schemas
    from yaosu.classification.service import classification_service
    from yaosu.db import get_engine, unit_of_work
    from yaosu.db.migrate import upgrade
    from yaosu.identity.subject import Subject
    from yaosu.models.catalog import Resource
    from yaosu.models.identity import Organization

    engine = get_engine()
    upgrade(engine)
    started = time.perf_counter()
    search.fill(engine, datasets, random.Random(7))
    with unit_of_work(engine) as s:  # every dataset open: listed on the portal
        s.execute(
            update(Resource)
            .where(Resource.open_attribute == "none")
            .values(open_attribute="unconditional", share_attribute="unconditional")
        )
        orgs = list(s.execute(select(Organization.id)).scalars())
    fill_s = time.perf_counter() - started
    system = Subject.system(via="bench")
    started = time.perf_counter()
    with unit_of_work(engine) as s:
        resource = resource_service.register(
            s,
            system,
            catalog_schemas.ResourceCreate(
                name="常住人口开放样本",
                classification_code="10101009",
                provider_id=orgs[0],
                summary="基准测试用的开放数据",
                format="table",
                update_cycle="daily",
                base_library="population",
                share_attribute="unconditional",
                share_method="api",
                open_attribute="unconditional",
                keywords=["人口"],
                fields=[catalog_schemas.FieldItem(name=n) for n in COLUMNS],
            ),
        )
        resource_service.submit(s, system, resource.id)
        resource_service.publish(s, system, resource.id)
        job = dataset_service.create_job(
            s,
            system,
            resource.id,
            "upload",
            {"path": parquet, "filename": Path(parquet).name, "keep": True},
        )
        run_in_session(s, job.id)
        # A million resident IDs are proposed as important data, which is never opened as
        # rows: the data authority grades this synthetic copy general.
        classification_service.review_grade(
            s,
            system,
            job.version_id or "",
            classification_schemas.GradeReview(grade="general_4", reason="benchmark copy"),
        )
        resource_id = resource.id
    return {
        "resource": resource_id,
        "orgs": orgs,
        "fill_s": fill_s,
        "ingest_s": time.perf_counter() - started,
    }


def _serve(data_dir: str, port: int) -> None:
    os.environ["YAOSU_DATA_DIR"] = data_dir
    os.environ["YAOSU_OPEN_RATE_ANONYMOUS"] = str(10**9)  # the limiter is not what is measured
    import uvicorn

    from yaosu.app import create_app
    from yaosu.db import get_engine

    uvicorn.run(create_app(get_engine()), host="127.0.0.1", port=port, log_level="warning")


def _timed(client: httpx.Client, url: str, params: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    r = client.get(url, params=params)
    elapsed = time.perf_counter() - started
    body = r.json()
    if r.status_code != 200 or not body.get("success"):
        raise RuntimeError(f"{url} {params}: {r.status_code} {r.text[:300]}")
    return elapsed, body["result"]


def _report(label: str, times: list[float]) -> None:
    print(
        f"  {label}: p50 {_pct(times, 0.5):.1f} ms, p95 {_pct(times, 0.95):.1f} ms, "
        f"mean {statistics.mean(times) * 1000:.1f} ms ({len(times)} calls; target p95 <= 50 ms)"
    )


def main(quick: bool = False) -> None:
    datasets, rows, samples = (1_000, 100_000, 60) if quick else (10_000, 1_000_000, 300)
    print(
        f"== portal (CKAN Action API over HTTP, uvicorn, SQLite): {datasets:,} open datasets, "
        f"a {rows:,}-row downloadable resource"
    )
    tmp = Path(tempfile.mkdtemp(prefix="yaosu-bench-portal-"))
    server: multiprocessing.process.BaseProcess | None = None
    try:
        parquet = tmp / "version.parquet"
        service_engine.generate(parquet, rows)
        info = in_child(_setup, str(tmp / "node"), str(parquet), datasets)
        if "error" in info:
            raise RuntimeError(info["error"])
        print(
            f"  filled {datasets:,} datasets in {info['fill_s']:.1f} s; registered, ingested and "
            f"classified {rows:,} rows in {info['ingest_s']:.1f} s"
        )
        port = _port()
        server = _start(_serve, str(tmp / "node"), port)
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/api/v1/health")
        action = f"{base}/api/3/action"
        rng = random.Random(11)
        groups = list(catalog_rules.BASE_LIBRARIES)
        with httpx.Client(timeout=120) as client:
            first, _ = _timed(client, f"{action}/package_search", {"rows": 10})
            print(f"  first package_search (builds the search index): {first * 1000:.0f} ms")
            for label, facets, filtered in (
                ("package_search, 2 fq terms, index facets", INDEX_FACETS, True),
                ("package_search, 2 fq terms, CKAN default facets", CKAN_FACETS, True),
                ("package_search, no fq, CKAN default facets", CKAN_FACETS, False),
            ):
                times: list[float] = []
                counts = []
                for i in range(samples + 5):
                    fq = f"organization:{rng.choice(info['orgs'])} groups:{rng.choice(groups)}"
                    elapsed, result = _timed(
                        client,
                        f"{action}/package_search",
                        {"fq": fq if filtered else "", "facet.field": json.dumps(facets)},
                    )
                    if i >= 5:  # the first few warm the path up
                        times.append(elapsed)
                        counts.append(result["count"])
                _report(f"{label} ({statistics.mean(counts):.0f} hits on average)", times)
            params = {"resource_id": f"{info['resource']}-csv", "include_total": "true"}
            elapsed, result = _timed(client, f"{action}/datastore_search", params)
            assert result["total"] == rows and len(result["records"]) == 100, result["total"]
            masked = sum("masked" in f.get("info", {}).get("notes", "") for f in result["fields"])
            print(
                f"  first datastore_search: {elapsed * 1000:.0f} ms; total {result['total']:,}, "
                f"{masked} of {len(result['fields']) - 1} columns masked"
            )
            times = [
                _timed(client, f"{action}/datastore_search", params)[0] for _ in range(samples)
            ]
            _report("datastore_search, first page of 100 with include_total", times)
    finally:
        if server is not None:
            server.terminate()
            server.join(5)
        shutil.rmtree(tmp, ignore_errors=True)
