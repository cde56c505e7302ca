"""Open data: open distributions, public demands, reuses; share requests gain a channel (sharing
or open) and a research plan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 15:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(length=26)


def upgrade() -> None:
    with op.batch_alter_table("share_requests") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="sharing")
        )
        batch.add_column(sa.Column("research_plan", sa.Text(), nullable=True))
        batch.create_index("ix_share_requests_channel", ["channel"])

    op.create_table(
        "open_distributions",
        sa.Column("id", ID, nullable=False),
        sa.Column("resource_id", ID, nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("policy_digest", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name="fk_open_distributions_resource_id_resources"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name="fk_open_distributions_version_id_dataset_versions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_open_distributions"),
        sa.UniqueConstraint(
            "version_id", "format", "policy_digest", name="uq_open_distributions_version_id"
        ),
    )
    op.create_index(
        "ix_open_distributions_resource_id", "open_distributions", ["resource_id"], unique=False
    )

    op.create_table(
        "public_demands",
        sa.Column("id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("wanted_fields", JSON, nullable=False),
        sa.Column("requester_name", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("provider_id", ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("resource_id", ID, nullable=True),
        sa.Column("answered_by", ID, nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organizations.id"],
            name="fk_public_demands_provider_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name="fk_public_demands_resource_id_resources"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_public_demands"),
    )
    op.create_index("ix_public_demands_status", "public_demands", ["status"], unique=False)

    op.create_table(
        "reuses",
        sa.Column("id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resource_ids", JSON, nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reuses"),
    )
    op.create_index("ix_reuses_status", "reuses", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reuses_status", table_name="reuses")
    op.drop_table("reuses")
    op.drop_index("ix_public_demands_status", table_name="public_demands")
    op.drop_table("public_demands")
    op.drop_index("ix_open_distributions_resource_id", table_name="open_distributions")
    op.drop_table("open_distributions")
    with op.batch_alter_table("share_requests") as batch:
        batch.drop_index("ix_share_requests_channel")
        batch.drop_column("research_plan")
        batch.drop_column("channel")
