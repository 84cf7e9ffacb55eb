"""assistive reports and their review versions (phqwatch.store.report_tables)

Revision ID: 0002_reports
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phqwatch.store.tables

revision = "0002_reports"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.Column("patient_id", _ID, nullable=False),
        sa.Column("estimate_id", _ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("released_version", sa.Integer(), nullable=True),
        sa.Column("released_at", phqwatch.store.tables.TZDateTime(timezone=True), nullable=True),
        sa.Column("created_at", phqwatch.store.tables.TZDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", phqwatch.store.tables.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["estimate_id"], ["estimates.id"], name=op.f("fk_reports_estimate_id_estimates"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_reports_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["people.id"], name=op.f("fk_reports_patient_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_patient_created", "reports", ["patient_id", "created_at"], unique=False)
    op.create_table(
        "report_versions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_enc", sa.LargeBinary(), nullable=False),
        sa.Column("author_id", _ID, nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", phqwatch.store.tables.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_report_versions_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_versions_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_versions")),
        sa.UniqueConstraint("report_id", "number", name="uq_report_versions_report_number"),
    )
    op.create_index(op.f("ix_report_versions_report_id"), "report_versions", ["report_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_report_versions_report_id"), table_name="report_versions")
    op.drop_table("report_versions")
    op.drop_index("ix_reports_patient_created", table_name="reports")
    op.drop_table("reports")
