"""jobs: leases with heartbeats, dead-letter state

Revision ID: 0004_job_leases
Revises: 0003_session_version
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import phqwatch.store.tables

revision = "0004_job_leases"
down_revision = "0003_session_version"
branch_labels = None
depends_on = None

#: Jobs left running by a worker of the previous version keep that version's lease (10 minutes).
_OLD_LEASE = timedelta(seconds=600)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_until", phqwatch.store.tables.TZDateTime(timezone=True), nullable=True))
    jobs = sa.table(
        "jobs",
        sa.column("status", sa.String),
        sa.column("lease_until", phqwatch.store.tables.TZDateTime(timezone=True)),
    )
    op.execute(jobs.update().where(jobs.c.status == "running").values(lease_until=datetime.now(UTC) + _OLD_LEASE))


def downgrade() -> None:
    jobs = sa.table("jobs", sa.column("status", sa.String))
    op.execute(jobs.update().where(jobs.c.status == "dead").values(status="failed"))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_until")
