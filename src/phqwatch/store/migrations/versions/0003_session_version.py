"""people.session_version: logout, password change and disabling revoke every token of a person

Revision ID: 0003_session_version
Revises: 0002_reports
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_session_version"
down_revision = "0002_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant server default: existing rows get 0 and no backend has to rebuild the table.
    op.add_column("people", sa.Column("session_version", sa.Integer(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("session_version")
