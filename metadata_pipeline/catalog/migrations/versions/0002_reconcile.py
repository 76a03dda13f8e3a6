"""reconcile: a per-dataset hash of the extraction input last reconciled into it

Reconcile compares this hash with the hash of the incoming extraction to skip unchanged datasets
without loading their columns and lineage (issue #5: a no-change re-run of 10,000 models in seconds).

Revision ID: 0002_reconcile
Revises: 0001_catalog_schema
Create Date: 2026-11-22 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_reconcile"
down_revision: str | None = "0001_catalog_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reconcile_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("reconcile_hash")
