"""Sharing and publication: per-field masking decisions with reasons on reviewed grants;
publication checks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:33:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(length=26)


def upgrade() -> None:
    # grant masking
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("unmasked", JSON, nullable=True))
    # end grant masking


def downgrade() -> None:
    # grant masking
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("unmasked")
    # end grant masking
