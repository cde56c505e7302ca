"""What a resource's rows describe 描述对象 (person, organization, place, event, other): declared
in the catalog, and the value each version's classification used with where it came from.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("describes", sa.String(length=16), nullable=True))
    with op.batch_alter_table("version_classifications") as batch:
        batch.add_column(sa.Column("describes", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("describes_source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("describes_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("version_classifications") as batch:
        batch.drop_column("describes_reason")
        batch.drop_column("describes_source")
        batch.drop_column("describes")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("describes")
