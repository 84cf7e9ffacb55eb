"""chat: assistant replies record their prompt version

Revision ID: 0006_chat
Revises: 0005_notifications
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0006_chat"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
