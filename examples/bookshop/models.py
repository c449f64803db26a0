"""A small bookshop whose SQLAlchemy models match its SQL migrations: the example for
release contracts (`migsafe contract capture --from-models models:Base.metadata`)."""

from __future__ import annotations

import datetime
import decimal
import enum

from sqlalchemy import DateTime, Enum, ForeignKey, Numeric, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class BookStatus(enum.Enum):
    draft = "draft"
    published = "published"


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    bio: Mapped[str | None]


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[BookStatus] = mapped_column(
        Enum(BookStatus, name="book_status"), default=BookStatus.draft
    )
    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
