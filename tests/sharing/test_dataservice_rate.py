"""The per-minute rate and the daily quotas of a grant hold exactly under concurrency and across
server processes: the window lives in the database and is decided in the same locked step that
admits the call. The clock is fixed by the test (``data_service.clock``), never waited on."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.fixtures.classification import people_rows
from tests.fixtures.identity import bearer, login
from tests.fixtures.sharing import grant_on, served_resource
from yaosu.identity.subject import Subject
from yaosu.kit.errors import YaosuError
from yaosu.kit.timeutil import day_start, local_day, utcnow

ROWS = people_rows(30, seed=11)
# Noon of today in the node's zone: inside the validity of a grant issued now, and one quota
# day throughout (quota days are the node's local days).
T0 = day_start(local_day(utcnow())) + timedelta(hours=12)
CLIENTS = 16


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    from yaosu.sharing.dataservice import data_service

    now = [T0]
    monkeypatch.setattr(data_service, "clock", lambda: now[0])
    return now


def factories(engine: Engine) -> tuple[Callable[[bool], Session], Callable[[], Session]]:
    from yaosu.db.uow import session_factory

    write, read = session_factory(engine), session_factory(engine, write=False)

    def sessions(w: bool) -> Session:
        return (write if w else read)()

    return sessions, read


def setup_grant(engine: Engine, **terms: Any) -> tuple[str, Subject, str]:
    from yaosu.db.uow import session_factory

    with session_factory(engine)() as s:
        served = served_resource(s, ROWS)
        grant = grant_on(s, served, ["xm", "sjhm", "je"], **terms)
        s.commit()
        return grant.id, served.consumer, served.username


def one_call(engine: Engine, consumer: Subject, gid: str, kind: str) -> tuple[str, int]:
    """One data-service call on its own sessions: ("ok", rows) or (refusal code, 0)."""
    from yaosu.sharing.dataservice import data_service

    sessions, read = factories(engine)
    try:
        with read() as s:
            if kind == "lookup":
                found = data_service.lookup(
                    sessions,
                    s,
                    consumer,
                    gid,
                    by="xm",
                    key=str(ROWS[0]["xm"]),
                    fields=None,
                    purpose=None,
                )
                return "ok", 1 if found else 0
            body = b"".join(
                data_service.rows(
                    sessions,
                    s,
                    consumer,
                    gid,
                    fields=None,
                    params={},
                    purpose=None,
                    order=[],
                    limit=7,
                    cursor=None,
                    fmt="csv",
                )
            )
            return "ok", body.count(b"\n") - 1
    except YaosuError as exc:
        return exc.code, 0


def together(n: int, call: Callable[[int], tuple[str, int]]) -> list[tuple[str, int]]:
    """``n`` threads released at once by a barrier, each making one call."""
    barrier = threading.Barrier(n)
    results: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            out = call(i)
            with lock:
                results.append(out)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def metered(engine: Engine, gid: str) -> tuple[int, int, dict[str, int]]:
    from yaosu.db.uow import session_factory
    from yaosu.sharing import repository as repo

    with session_factory(engine, write=False)() as s:
        day = local_day(T0).isoformat()
        usage = repo.usage(s, gid, day)
        refusals = {r.code: int(r.count) for r in repo.refusal_series(s, gid, day)}
        return (int(usage.calls) if usage else 0, int(usage.rows) if usage else 0, refusals)


def ledgered(engine: Engine, gid: str) -> Counter[str]:
    from yaosu.db.uow import session_factory
    from yaosu.ledger.service import ledger_service

    with session_factory(engine, write=False)() as s:
        entries, _ = ledger_service.trail(s, gid, 200, 0)
        return Counter(e.type for e in entries)


@pytest.mark.parametrize("kind", ["rows", "lookup"])
def test_sixteen_clients_at_rate_five_get_exactly_five_answers(
    fresh_engine: Engine, clock: list[datetime], kind: str
) -> None:
    gid, consumer, _ = setup_grant(fresh_engine, rate_per_minute=5)
    results = together(CLIENTS, lambda _: one_call(fresh_engine, consumer, gid, kind))
    codes = Counter(code for code, _ in results)
    assert codes == {"ok": 5, "rate_exceeded": CLIENTS - 5}
    assert metered(fresh_engine, gid)[0] == 5
    assert metered(fresh_engine, gid)[2] == {"rate_exceeded": CLIENTS - 5}
    trail = ledgered(fresh_engine, gid)
    assert trail["sharing.service_called"] == 5
    assert trail["sharing.call_refused"] == CLIENTS - 5
    # The window slides: still full just before the first call is 60 s old, open at 60 s.
    clock[0] = T0 + timedelta(seconds=59, microseconds=999_999)
    assert one_call(fresh_engine, consumer, gid, kind)[0] == "rate_exceeded"
    clock[0] = T0 + timedelta(seconds=60)
    results = together(CLIENTS, lambda _: one_call(fresh_engine, consumer, gid, kind))
    assert Counter(code for code, _ in results) == {"ok": 5, "rate_exceeded": CLIENTS - 5}
    assert metered(fresh_engine, gid)[0] == 10


def test_two_server_instances_share_one_window(
    fresh_engine: Engine, databases: Any, clock: list[datetime]
) -> None:
    """Two engines (two connection pools, as two processes have) on the same database."""
    from yaosu.db.engine import make_engine

    gid, consumer, _ = setup_grant(fresh_engine, rate_per_minute=5)
    other = make_engine(fresh_engine.url.render_as_string(hide_password=False))
    try:
        engines = [fresh_engine, other]
        results = together(
            CLIENTS,
            lambda i: one_call(engines[i % 2], consumer, gid, "rows" if i % 4 < 2 else "lookup"),
        )
    finally:
        other.dispose()
    assert Counter(code for code, _ in results) == {"ok": 5, "rate_exceeded": CLIENTS - 5}
    assert metered(fresh_engine, gid)[0] == 5


def _process(
    url: str, gid: str, consumer: Subject, start: Any, out: Any, threads: int, at: datetime
) -> None:
    """A separate server process: its own imports, engine, DuckDB and clock."""
    from yaosu.db.engine import make_engine
    from yaosu.sharing.dataservice import data_service

    data_service.clock = lambda: at
    engine = make_engine(url)
    barrier = threading.Barrier(threads)
    codes: list[str] = []

    def run() -> None:
        barrier.wait()
        codes.append(one_call(engine, consumer, gid, "rows")[0])

    start.wait()  # every process is ready: release them all
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    engine.dispose()
    out.put(codes)


def test_several_server_processes_share_one_window(fresh_engine: Engine) -> None:
    gid, consumer, _ = setup_grant(fresh_engine, rate_per_minute=5)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    url = fresh_engine.url.render_as_string(hide_password=False)
    procs = [
        ctx.Process(target=_process, args=(url, gid, consumer, start, out, CLIENTS // 2, T0))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    codes = [c for _ in procs for c in out.get(timeout=300)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert Counter(codes) == {"ok": 5, "rate_exceeded": CLIENTS - 5}
    assert metered(fresh_engine, gid)[0] == 5


@pytest.mark.parametrize("kind", ["rows", "lookup"])
def test_the_daily_call_quota_is_exact_under_concurrency(
    fresh_engine: Engine, clock: list[datetime], kind: str
) -> None:
    gid, consumer, _ = setup_grant(fresh_engine, calls_per_day=5)
    results = together(CLIENTS, lambda _: one_call(fresh_engine, consumer, gid, kind))
    assert Counter(code for code, _ in results) == {"ok": 5, "quota_calls_exceeded": CLIENTS - 5}
    calls, _, refusals = metered(fresh_engine, gid)
    assert calls == 5 and refusals == {"quota_calls_exceeded": CLIENTS - 5}
    trail = ledgered(fresh_engine, gid)
    assert (trail["sharing.service_called"], trail["sharing.call_refused"]) == (5, CLIENTS - 5)


@pytest.mark.parametrize(("kind", "quota", "ok"), [("rows", 20, 3), ("lookup", 5, 5)])
def test_the_daily_row_quota_is_exact_under_concurrency(
    fresh_engine: Engine, clock: list[datetime], kind: str, quota: int, ok: int
) -> None:
    gid, consumer, _ = setup_grant(fresh_engine, rows_per_day=quota)
    results = together(CLIENTS, lambda _: one_call(fresh_engine, consumer, gid, kind))
    assert sum(rows for _, rows in results) == quota
    assert Counter(code for code, _ in results) == {
        "ok": ok,
        "quota_rows_exceeded": CLIENTS - ok,
    }
    assert metered(fresh_engine, gid)[1] == quota


def test_rate_refusals_carry_retry_after_and_do_not_fill_the_window(
    fresh_engine: Engine, clock: list[datetime]
) -> None:
    from fastapi.testclient import TestClient

    from yaosu.app import create_app
    from yaosu.db.uow import session_factory

    gid, _, username = setup_grant(fresh_engine, rate_per_minute=2)
    with session_factory(fresh_engine)() as s:
        headers = bearer(login(s, username))
        s.commit()
    url = f"/api/v1/services/{gid}/rows?limit=1"
    lookup = f"/api/v1/services/{gid}/lookup?by=xm&key={ROWS[0]['xm']}"
    with TestClient(create_app(fresh_engine)) as client:

        def at(seconds: float, path: str = url) -> Any:
            clock[0] = T0 + timedelta(seconds=seconds)
            return client.get(path, headers=headers)

        assert at(0).status_code == 200
        assert at(10, lookup).status_code == 200
        for path in (url, lookup):
            r = at(25, path)
            assert r.status_code == 429 and r.headers["Retry-After"] == "35", r.text
            err = r.json()["error"]
            assert err["code"] == "rate_exceeded" and err["details"]["retry_after"] == 35
            assert err["details"]["failed"]["left_operand"] == "yaosu:ratePerMinute"
        assert at(60).status_code == 200  # the call at 0 s has left the window
        assert at(69.5, lookup).headers["Retry-After"] == "1"
        assert at(70, lookup).status_code == 200
        usage = client.get(f"/api/v1/grants/{gid}/usage", headers=headers).json()["days"][-1]
        assert usage["calls"] == 4 and usage["refusals"] == {"rate_exceeded": 3}
