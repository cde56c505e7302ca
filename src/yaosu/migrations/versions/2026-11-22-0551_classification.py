"""Classification: per-version results and field findings, important-data catalog, masking policies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:51:19.220354+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "important_data_entries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("sector", sa.String(length=100), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "code_prefixes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "resource_codes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "keywords",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_important_data_entries")),
    )
    with op.batch_alter_table("important_data_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_important_data_entries_sector"), ["sector"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_important_data_entries_status"), ["status"], unique=False
        )

    op.create_table(
        "masking_policies",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_masking_policies_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masking_policies")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_masking_policies_org_id")),
    )
    with op.batch_alter_table("masking_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_masking_policies_org_id"), ["org_id"], unique=False)

    op.create_table(
        "version_classifications",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("proposed_grade", sa.String(length=16), nullable=False),
        sa.Column(
            "proposal",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grade_reason", sa.Text(), nullable=True),
        sa.Column(
            "catalog_entries",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rules_digest", sa.String(length=80), nullable=False),
        sa.Column("reviewed_by", sa.String(length=26), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_version_classifications_resource_id_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_version_classifications_version_id_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_classifications")),
    )
    with op.batch_alter_table("version_classifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_classifications_grade"), ["grade"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_version_classifications_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_version_classifications_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_version_classifications_version_id"), ["version_id"], unique=True
        )

    op.create_table(
        "field_classifications",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("classification_id", sa.String(length=26), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=300), nullable=False),
        sa.Column("detected_type", sa.String(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("non_null", sa.BigInteger(), nullable=False),
        sa.Column("valid", sa.BigInteger(), nullable=False),
        sa.Column(
            "contains",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("hint", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_zh", sa.Text(), nullable=False),
        sa.Column("detected_pi_class", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("pi_class", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=26), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["classification_id"],
            ["version_classifications.id"],
            name=op.f("fk_field_classifications_classification_id_version_classifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_classifications")),
        sa.UniqueConstraint(
            "classification_id", "column", name=op.f("uq_field_classifications_classification_id")
        ),
    )
    with op.batch_alter_table("field_classifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_field_classifications_classification_id"),
            ["classification_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_field_classifications_type"), ["type"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("field_classifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_classifications_type"))
        batch_op.drop_index(batch_op.f("ix_field_classifications_classification_id"))

    op.drop_table("field_classifications")
    with op.batch_alter_table("version_classifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_classifications_version_id"))
        batch_op.drop_index(batch_op.f("ix_version_classifications_status"))
        batch_op.drop_index(batch_op.f("ix_version_classifications_resource_id"))
        batch_op.drop_index(batch_op.f("ix_version_classifications_grade"))

    op.drop_table("version_classifications")
    with op.batch_alter_table("masking_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_masking_policies_org_id"))

    op.drop_table("masking_policies")
    with op.batch_alter_table("important_data_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_important_data_entries_status"))
        batch_op.drop_index(batch_op.f("ix_important_data_entries_sector"))

    op.drop_table("important_data_entries")
