"""jobs: leases with heartbeats, dead-letter state

Revision ID: 0004_job_leases
Revises: 0003_session_version
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0004_job_leases"
down_revision = "0003_session_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
