"""The unit of work: services flush, never commit; the boundary commits once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from yaosu.db.engine import get_engine


def session_factory(engine: Engine | None = None, *, write: bool = True) -> sessionmaker[Session]:
    bind = (engine or get_engine()).execution_options(yaosu_write=write)
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit once when the block ends normally, roll back on any error, always close."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def unit_of_work(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One transaction on a new session (CLI commands, jobs, benchmarks)."""
    with transaction(session_factory(engine, write=write)()) as session:
        yield session
