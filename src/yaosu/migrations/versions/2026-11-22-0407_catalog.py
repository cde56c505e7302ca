"""Catalog: resources, catalog versions, registrations, dataset versions, jobs, uploads,
schedules, search terms and demands.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:07:13.242532+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_sequences",
        sa.Column("prefix", sa.String(length=40), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_code_sequences")),
    )
    op.create_table(
        "demands",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("requester_id", sa.String(length=26), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=True),
        sa.Column(
            "wanted_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("provider_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["organizations.id"], name=op.f("fk_demands_provider_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["organizations.id"],
            name=op.f("fk_demands_requester_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demands")),
    )
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demands_requester_id"), ["requester_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_demands_status"), ["status"], unique=False)

    op.create_table(
        "resources",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("classification_code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("provider_id", sa.String(length=26), nullable=False),
        sa.Column("provider_code", sa.String(length=40), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=True),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("update_cycle", sa.String(length=20), nullable=True),
        sa.Column("base_library", sa.String(length=32), nullable=True),
        sa.Column("theme", sa.String(length=100), nullable=True),
        sa.Column("share_attribute", sa.String(length=16), nullable=True),
        sa.Column("share_conditions", sa.Text(), nullable=True),
        sa.Column("share_legal_basis", sa.Text(), nullable=True),
        sa.Column("share_method", sa.String(length=16), nullable=True),
        sa.Column("open_attribute", sa.String(length=16), nullable=True),
        sa.Column("source_system", sa.String(length=200), nullable=True),
        sa.Column("authoritative", sa.Boolean(), nullable=False),
        sa.Column(
            "keywords",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "contact",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("registration_code", sa.String(length=40), nullable=True),
        sa.Column("current_version_id", sa.String(length=26), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organizations.id"],
            name=op.f("fk_resources_provider_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
        sa.UniqueConstraint("code", name=op.f("uq_resources_code")),
        sa.UniqueConstraint("registration_code", name=op.f("uq_resources_registration_code")),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resources_base_library"), ["base_library"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resources_classification_code"), ["classification_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resources_grade"), ["grade"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_resources_open_attribute"), ["open_attribute"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resources_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_resources_share_attribute"), ["share_attribute"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resources_source_system"), ["source_system"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resources_status"), ["status"], unique=False)

    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "diff",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_catalog_versions_resource_id_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
        sa.UniqueConstraint("resource_id", "version", name=op.f("uq_catalog_versions_resource_id")),
    )
    with op.batch_alter_table("catalog_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_versions_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "columns",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "profile",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_dataset_versions_resource_id_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
        sa.UniqueConstraint("resource_id", "number", name=op.f("uq_dataset_versions_resource_id")),
    )
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_versions_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dataset_versions_sha256"), ["sha256"], unique=False)

    op.create_table(
        "demand_answers",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("demand_id", sa.String(length=26), nullable=False),
        sa.Column("provider_id", sa.String(length=26), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"], ["demands.id"], name=op.f("fk_demand_answers_demand_id_demands")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organizations.id"],
            name=op.f("fk_demand_answers_provider_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_demand_answers_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_answers")),
    )
    with op.batch_alter_table("demand_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_demand_answers_demand_id"), ["demand_id"], unique=False
        )

    op.create_table(
        "ingest_jobs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=True),
        sa.Column(
            "error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("version_id", sa.String(length=26), nullable=True),
        sa.Column("schedule_id", sa.String(length=26), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_ingest_jobs_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_jobs")),
    )
    with op.batch_alter_table("ingest_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_jobs_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ingest_jobs_status"), ["status"], unique=False)

    op.create_table(
        "pull_schedules",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_job_id", sa.String(length=26), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_pull_schedules_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_schedules")),
    )
    with op.batch_alter_table("pull_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pull_schedules_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "registrations",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_registrations_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_registrations")),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registrations_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "search_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_search_terms_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("term", "resource_id", name=op.f("pk_search_terms")),
    )
    with op.batch_alter_table("search_terms", schema=None) as batch_op:
        batch_op.create_index("ix_search_terms_resource", ["resource_id"], unique=False)

    op.create_table(
        "upload_sessions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=26), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_upload_sessions_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_sessions")),
    )
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upload_sessions_resource_id"), ["resource_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_sessions_resource_id"))

    op.drop_table("upload_sessions")
    with op.batch_alter_table("search_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_search_terms_resource")

    op.drop_table("search_terms")
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_resource_id"))

    op.drop_table("registrations")
    with op.batch_alter_table("pull_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pull_schedules_resource_id"))

    op.drop_table("pull_schedules")
    with op.batch_alter_table("ingest_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_ingest_jobs_resource_id"))

    op.drop_table("ingest_jobs")
    with op.batch_alter_table("demand_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_answers_demand_id"))

    op.drop_table("demand_answers")
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_versions_sha256"))
        batch_op.drop_index(batch_op.f("ix_dataset_versions_resource_id"))

    op.drop_table("dataset_versions")
    with op.batch_alter_table("catalog_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_versions_resource_id"))

    op.drop_table("catalog_versions")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_status"))
        batch_op.drop_index(batch_op.f("ix_resources_source_system"))
        batch_op.drop_index(batch_op.f("ix_resources_share_attribute"))
        batch_op.drop_index(batch_op.f("ix_resources_provider_id"))
        batch_op.drop_index(batch_op.f("ix_resources_open_attribute"))
        batch_op.drop_index(batch_op.f("ix_resources_grade"))
        batch_op.drop_index(batch_op.f("ix_resources_classification_code"))
        batch_op.drop_index(batch_op.f("ix_resources_base_library"))

    op.drop_table("resources")
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demands_status"))
        batch_op.drop_index(batch_op.f("ix_demands_requester_id"))

    op.drop_table("demands")
    op.drop_table("code_sequences")
