"""Migrations are the only way the schema is made: they run up from empty on both databases and
produce exactly the tables the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from yaosu.db.migrate import current_revision, head_revision, upgrade
from yaosu.models import Base
from yaosu.models.ledger import LedgerHead


def test_upgrade_from_empty_reaches_head_and_matches_the_models(
    databases: Any, engine: Any
) -> None:
    backend = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    fresh = databases.new(backend, migrate=False)
    try:
        assert current_revision(fresh) is None
        upgrade(fresh)
        assert current_revision(fresh) == head_revision()
        upgrade(fresh)  # idempotent at head
        with fresh.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            assert conn.execute(select(LedgerHead.size)).scalar_one() == 0
        assert set(Base.metadata.tables) <= set(inspect(fresh).get_table_names())
    finally:
        fresh.dispose()
