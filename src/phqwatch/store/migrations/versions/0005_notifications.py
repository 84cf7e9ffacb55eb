"""notification channels, deliveries and escalations

Revision ID: 0005_notifications
Revises: 0004_job_leases
Create Date: 2026-12-06

Escalations are alert events (`alert_events.action = 'escalated'`); they need no table of their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phqwatch.store.tables

revision = "0005_notifications"
down_revision = "0004_job_leases"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = phqwatch.store.tables.TZDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.Column("clinician_id", _ID, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("min_severity", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["people.id"],
            name=op.f("fk_notification_channels_clinician_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notification_channels_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    with op.batch_alter_table("notification_channels") as batch:
        batch.create_index("ix_notification_channels_org_level", ["organisation_id", "level"], unique=False)

    op.create_table(
        "notification_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.Column("patient_id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("channel_id", _ID, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_notification_deliveries_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_deliveries_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notification_deliveries_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["people.id"], name=op.f("fk_notification_deliveries_patient_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("alert_id", "channel_id", "event", name="uq_notification_deliveries_event"),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_notification_deliveries_delivery_id")),
    )
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.create_index(batch.f("ix_notification_deliveries_alert_id"), ["alert_id"], unique=False)
        batch.create_index("ix_notification_deliveries_patient_status", ["patient_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_channels")
