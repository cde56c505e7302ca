"""Identity: failed sign-in attempts per account and per address (password-guessing limit).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 20:32:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(length=26)


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        op.f("ix_login_attempts_window_start"), "login_attempts", ["window_start"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_login_attempts_window_start"), table_name="login_attempts")
    op.drop_table("login_attempts")
