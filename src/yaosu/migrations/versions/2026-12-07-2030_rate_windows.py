"""Data service: the per-minute rate window of each grant, shared by every server process.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 20:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(length=26)


def upgrade() -> None:
    op.create_table(
        "grant_rate_calls",
        sa.Column("id", ID, nullable=False),
        sa.Column("grant_id", ID, nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_grant_rate_calls_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_rate_calls")),
    )
    with op.batch_alter_table("grant_rate_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grant_rate_calls_grant_id"), ["grant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("grant_rate_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_rate_calls_grant_id"))
    op.drop_table("grant_rate_calls")
