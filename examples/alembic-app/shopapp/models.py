"""The application's models: what the revisions in ../migrations build."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("customers.id"))
    total_cents: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    status: Mapped[str] = mapped_column(sa.Text)
