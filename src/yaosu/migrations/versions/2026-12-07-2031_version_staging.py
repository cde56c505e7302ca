"""Catalog: new versions of a published resource are staged until accepted; rollback.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 20:31:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(length=26)


def upgrade() -> None:
    # Versions made before staging were each current when made: they count as accepted.
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="accepted")
        )
        batch.add_column(sa.Column("decision", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("decided_by", ID, nullable=True))
        batch.add_column(sa.Column("decided_at", TS, nullable=True))
        batch.add_column(
            sa.Column("review_reasons", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch.create_index("ix_dataset_versions_state", ["state"])


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_index("ix_dataset_versions_state")
        batch.drop_column("review_reasons")
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("decision_reason")
        batch.drop_column("decision")
        batch.drop_column("state")
