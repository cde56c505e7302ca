"""Test set-up: every database test runs on SQLite and on PostgreSQL, each test in a transaction
rolled back at the end. PostgreSQL comes from YAOSU_TEST_PG_URL (or the local default); outside CI
that half skips with a message when no server answers, in CI it fails instead."""

from __future__ import annotations

import base64
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Tests never depend on timing: no per-example deadline (a loaded CI machine is slow, not wrong).
hypothesis_settings.register_profile("yaosu", deadline=None)
hypothesis_settings.load_profile("yaosu")

_TMP = Path(tempfile.mkdtemp(prefix="yaosu-tests-"))
os.environ["YAOSU_DATA_DIR"] = str(_TMP / "data")
os.environ["YAOSU_ARGON2_FAST"] = "1"
# Open-data rate limits are per process and minute; tests that check them lower them.
os.environ["YAOSU_OPEN_RATE_ANONYMOUS"] = "1000000"
os.environ["YAOSU_OPEN_RATE_KEY"] = "1000000"
os.environ["YAOSU_NODE_KEY"] = base64.b64encode(b"k" * 32).decode()
os.environ["YAOSU_NODE_NAME"] = "test.yaosu.localhost"
# Days and midnights are the node's zone; the suite pins the default whatever the machine says.
os.environ["YAOSU_TIMEZONE"] = "Asia/Shanghai"
os.environ.pop("YAOSU_DATABASE_URL", None)

from sqlalchemy import Connection, Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from yaosu.config import reset_settings  # noqa: E402
from yaosu.db.engine import make_engine  # noqa: E402
from yaosu.db.migrate import upgrade  # noqa: E402

reset_settings()

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def pg_server_url() -> str:
    return os.environ.get("YAOSU_TEST_PG_URL") or DEFAULT_PG


def _pg_reachable(url: str) -> str | None:
    try:
        eng = create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


class Databases:
    """Creates throw-away databases (a SQLite file, or a PostgreSQL database) and drops them."""

    def __init__(self) -> None:
        self.created: list[tuple[str, str]] = []
        self._pg_problem: str | bool | None = False

    def pg_problem(self) -> str | None:
        if self._pg_problem is False:
            self._pg_problem = _pg_reachable(pg_server_url())
        return self._pg_problem  # type: ignore[return-value]

    def new(self, backend: str, migrate: bool = True) -> Engine:
        if backend == "sqlite":
            url = f"sqlite:///{_TMP / (uuid.uuid4().hex + '.db')}"
        else:
            problem = self.pg_problem()
            if problem:
                if os.environ.get("CI"):
                    pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
                pytest.skip(
                    f"PostgreSQL not reachable at {pg_server_url()} ({problem}); "
                    "set YAOSU_TEST_PG_URL to run the PostgreSQL half"
                )
            name = f"yaosu_t_{uuid.uuid4().hex[:12]}"
            admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            url = make_url(pg_server_url()).set(database=name).render_as_string(hide_password=False)
            self.created.append(("postgresql", name))
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        return engine

    def drop_all(self) -> None:
        pg = [name for kind, name in self.created if kind == "postgresql"]
        if not pg:
            return
        admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for name in pg:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    dbs = Databases()
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, databases: Databases) -> Iterator[Engine]:
    """A migrated database per backend, shared by the session's tests."""
    eng = databases.new(request.param)
    yield eng
    eng.dispose()


@pytest.fixture
def fresh_engine(
    request: pytest.FixtureRequest, databases: Databases, engine: Engine
) -> Iterator[Engine]:
    """A brand-new migrated database of the same backend, for tests that must really commit."""
    eng = databases.new(engine.dialect.name if engine.dialect.name == "sqlite" else "postgresql")
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


def session_on(conn: Connection) -> Session:
    # Commits inside the code under test release a SAVEPOINT; the outer transaction rolls back.
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    s = session_on(connection)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def app(connection: Connection):  # type: ignore[no-untyped-def]
    from yaosu.app import create_app

    return create_app(sessions=lambda write: session_on(connection))


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
