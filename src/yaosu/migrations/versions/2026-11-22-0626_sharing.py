"""Sharing: share requests, grants, usage and refusal counters, subscriptions, webhook deliveries,
responsibility items.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:26:09.809980+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("request_id", sa.String(length=26), nullable=True),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("provider_id", sa.String(length=26), nullable=False),
        sa.Column("consumer_id", sa.String(length=26), nullable=False),
        sa.Column(
            "policy",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_mode", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["organizations.id"], name=op.f("fk_grants_consumer_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["organizations.id"], name=op.f("fk_grants_provider_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_grants_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_consumer_id"), ["consumer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_status"), ["status"], unique=False)

    op.create_table(
        "responsibility_items",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_responsibility_items_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_responsibility_items_resource_id_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responsibility_items")),
    )
    with op.batch_alter_table("responsibility_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_responsibility_items_org_id"), ["org_id"], unique=False
        )

    op.create_table(
        "share_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("provider_id", sa.String(length=26), nullable=False),
        sa.Column("consumer_id", sa.String(length=26), nullable=False),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("purpose_text", sa.Text(), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("term_days", sa.Integer(), nullable=False),
        sa.Column("delivery_mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("auto_approved", sa.Boolean(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "decisions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "narrowed",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "refusal",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("grant_id", sa.String(length=26), nullable=True),
        sa.Column("requested_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_id"],
            ["organizations.id"],
            name=op.f("fk_share_requests_consumer_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organizations.id"],
            name=op.f("fk_share_requests_provider_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_share_requests_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_requests")),
    )
    with op.batch_alter_table("share_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_requests_consumer_id"), ["consumer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_share_requests_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_share_requests_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_share_requests_status"), ["status"], unique=False)

    op.create_table(
        "grant_refusals",
        sa.Column("grant_id", sa.String(length=26), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_grant_refusals_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("grant_id", "day", "code", name=op.f("pk_grant_refusals")),
    )
    op.create_table(
        "grant_usage",
        sa.Column("grant_id", sa.String(length=26), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_grant_usage_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("grant_id", "day", name=op.f("pk_grant_usage")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("grant_id", sa.String(length=26), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_subscriptions_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_grant_id"), ["grant_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("subscription_id", sa.String(length=26), nullable=False),
        sa.Column("grant_id", sa.String(length=26), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_grant_id"), ["grant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_grant_id"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_grant_id"))

    op.drop_table("subscriptions")
    op.drop_table("grant_usage")
    op.drop_table("grant_refusals")
    with op.batch_alter_table("share_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_requests_status"))
        batch_op.drop_index(batch_op.f("ix_share_requests_resource_id"))
        batch_op.drop_index(batch_op.f("ix_share_requests_provider_id"))
        batch_op.drop_index(batch_op.f("ix_share_requests_consumer_id"))

    op.drop_table("share_requests")
    with op.batch_alter_table("responsibility_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responsibility_items_org_id"))

    op.drop_table("responsibility_items")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_status"))
        batch_op.drop_index(batch_op.f("ix_grants_resource_id"))
        batch_op.drop_index(batch_op.f("ix_grants_request_id"))
        batch_op.drop_index(batch_op.f("ix_grants_provider_id"))
        batch_op.drop_index(batch_op.f("ix_grants_consumer_id"))

    op.drop_table("grants")
