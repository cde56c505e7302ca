"""Engines for SQLite (embedded default) and PostgreSQL, one code path for both."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event

from yaosu.config import get_settings

_engines: dict[str, Engine] = {}


# A request may hold two connections at once (its own, and the data service's metering), and
# the server runs up to 40 requests in threads: the pool must not be the bottleneck.
POOL = {"pool_size": 10, "max_overflow": 70, "pool_timeout": 60}


def make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs = {**POOL, **kwargs}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own BEGIN handling defers locks until the first write, which lets two writers
    # read the same ledger head; we issue BEGIN ourselves: IMMEDIATE for writing units.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    # SQLite has one writer at a time. Writers of this process queue on a lock instead of
    # SQLite's busy handler, which sleeps in growing steps and makes latency tails long under
    # concurrency (other processes still meet the busy timeout). A thread that nests a second
    # writing unit waits on SQLite as before rather than on itself. A plain lock, not an RLock:
    # a request's unit may begin in one worker thread and commit in another (FastAPI runs a
    # dependency's setup and teardown separately), and an RLock refuses a release from another
    # thread.
    writers = threading.Lock()
    holder: list[int | None] = [None]  # the thread that took the lock

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get("yaosu_write", True)
        if write and holder[0] != threading.get_ident():
            writers.acquire()
            holder[0] = threading.get_ident()
            conn.info["yaosu_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        except BaseException:
            _release(conn)
            raise

    def _release(conn: Any) -> None:
        if conn.info.pop("yaosu_writer", False):
            holder[0] = None
            writers.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().resolved_database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def reset_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
