"""The schema model of SQLAlchemy ``MetaData``: what an application's models say the
database holds, for capturing a release's contract from its code.

The metadata is rendered to the DDL that ``metadata.create_all()`` would run on PostgreSQL
and that DDL is replayed through the parser, exactly as migrations are. So types get the
same internal names and modifiers (``String(255)`` → ``varchar(255)``), an autoincrement
integer key becomes the serial column create_all makes, and constraints and indexes get the
names PostgreSQL would give them, with no second type mapping to keep in step.

SQLAlchemy is optional (the ``sqlalchemy`` extra) and imported only here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migsafe import install_hint, ops
from migsafe.parse.postgres import parse
from migsafe.schema import Schema

if TYPE_CHECKING:
    from sqlalchemy import MetaData


def from_metadata(metadata: MetaData) -> Schema:
    """The schema ``metadata.create_all()`` would create on PostgreSQL, as the model."""
    try:
        from sqlalchemy import Enum
        from sqlalchemy.dialects import postgresql
        from sqlalchemy.schema import CreateIndex, CreateTable
    except ImportError:
        raise ImportError(
            f"reading SQLAlchemy models needs SQLAlchemy: {install_hint('sqlalchemy')}"
        ) from None
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    schema = Schema()
    for table in metadata.sorted_tables:
        for column in table.columns:
            kind = column.type
            if isinstance(kind, Enum) and kind.native_enum and kind.name:
                qualified = f"{kind.schema}.{kind.name}" if kind.schema else kind.name
                schema.apply(ops.CreateEnum(name=qualified, values=tuple(kind.enums)))
    statements = [str(CreateTable(t).compile(dialect=dialect)) for t in metadata.sorted_tables]
    statements += [
        str(CreateIndex(index).compile(dialect=dialect))
        for table in metadata.sorted_tables
        for index in sorted(table.indexes, key=lambda i: str(i.name))
    ]
    for statement in parse(";\n".join(statements)):
        for op in statement.ops:
            schema.apply(op)
    return schema
