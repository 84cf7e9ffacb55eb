"""chat: assistant replies record their prompt version; conversations record their kind and status

Revision ID: 0006_chat
Revises: 0005_notifications
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_chat"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Constant server default: existing conversations become "imported" without a table rebuild.
    op.add_column(
        "conversations",
        sa.Column("kind", sa.String(length=16), server_default=sa.text("'imported'"), nullable=False),
    )
    op.add_column("conversations", sa.Column("status", sa.String(length=16), nullable=True))
    op.add_column("messages", sa.Column("prompt_version", sa.String(length=80), nullable=True))
    op.add_column("messages", sa.Column("chat_meta", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("chat_meta")
        batch.drop_column("prompt_version")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("status")
        batch.drop_column("kind")
