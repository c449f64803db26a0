"""Customer e-mail addresses (safe) and order totals (unsafe as written).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shopapp.models import Order  # noqa: F401  (the application: not needed to lint)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET lock_timeout = '2s'")
    op.add_column("customers", sa.Column("email", sa.Text(), nullable=True))
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_customers_email",
            "customers",
            ["email"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )
    op.add_column("orders", sa.Column("total_cents", sa.BigInteger(), nullable=False))
    op.create_index("ix_orders_status", "orders", ["status"])


def downgrade() -> None:
    op.execute("SET lock_timeout = '2s'")
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_orders_status", table_name="orders", postgresql_concurrently=True, if_exists=True
        )
        op.drop_index(
            "ix_customers_email",
            table_name="customers",
            postgresql_concurrently=True,
            if_exists=True,
        )
    # migsafe:ignore drop-column -- undoing this revision: the release before it never used it
    op.drop_column("orders", "total_cents")
    # migsafe:ignore drop-column -- undoing this revision: the release before it never used it
    op.drop_column("customers", "email")
