"""notification channels, deliveries and escalations

Revision ID: 0005_notifications
Revises: 0004_job_leases
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0005_notifications"
down_revision = "0004_job_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
