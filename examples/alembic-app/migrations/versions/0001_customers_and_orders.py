"""Customers and orders.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("customer_id", sa.BigInteger(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])


def downgrade() -> None:
    # Undoing this revision only ever happens before a release uses the tables.
    # migsafe:ignore drop-table, require-lock-timeout -- nothing reads them yet
    op.drop_table("orders")
    # migsafe:ignore drop-table, require-lock-timeout -- nothing reads them yet
    op.drop_table("customers")
