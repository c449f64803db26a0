"""Rendering the calls the static reader cannot read: Alembic's offline mode, each emitted
statement tied to the line of its ``op.*`` call, and never a database connection."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe.cli import main
from migsafe.sources import alembic as source

pytest.importorskip("alembic", reason="rendering needs Alembic (migsafe's alembic extra)")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BASE = """\
import sqlalchemy as sa
from alembic import op

revision = "a0"
down_revision = None


def upgrade():
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("state", sa.Text()),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_orders_state", "orders", ["state"])
    op.create_index("ix_orders_note", "orders", ["note"])
"""


def lint(*args: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(main, ["lint", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_loops_helpers_and_expressions_are_rendered_on_their_lines(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write(v, "a0_base.py", BASE)
    path = write(
        v,
        "b1_cleanup.py",
        """\
        import sqlalchemy as sa
        from alembic import op

        revision = "b1"
        down_revision = "a0"

        orders = sa.table("orders", sa.column("state", sa.Text()))


        def _indexes():
            return ["ix_orders_" + c for c in ("state", "note")]


        def upgrade():
            for name in _indexes():
                op.drop_index(name, table_name="orders")
            op.execute(orders.update().values(state="open"))
        """,
    )
    found = source.discover(paths=[v])
    assert found.modes[str(path)] == "rendered", found.notes
    assert not found.notes
    _, doc, _ = lint("--select", "require-concurrent-index-drop,unscoped-data-change", str(v))
    got = sorted(
        (f["rule"], f["line"])  # type: ignore[index]
        for f in doc["findings"]  # type: ignore[attr-defined]
        if f["path"] == str(path)  # type: ignore[index]
    )
    assert got == [
        ("require-concurrent-index-drop", 16),
        ("require-concurrent-index-drop", 16),
        ("unscoped-data-change", 17),
    ]


def test_a_revision_needing_a_connection_is_reported_not_run(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write(v, "a0_base.py", BASE)
    path = write(
        v,
        "b1_data.py",
        """\
        import sqlalchemy as sa
        from alembic import op

        revision = "b1"
        down_revision = "a0"


        def upgrade():
            conn = op.get_bind()
            for (oid,) in conn.execute(sa.text("SELECT id FROM orders")):
                op.execute(f"UPDATE orders SET note = 'x' WHERE id = {oid}")
        """,
    )
    found = source.discover(paths=[v])
    assert found.modes[str(path)] == "reported"
    notes = {(n.line, n.call): n.reason for n in found.notes}
    assert set(notes) == {(9, "op.get_bind"), (11, "op.execute")}
    assert "needs a live connection" in notes[(11, "op.execute")]


def test_quay_style_signature_gets_tables_and_tester(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write(v, "a0_base.py", BASE)
    path = write(
        v,
        "b1_kinds.py",
        """\
        import sqlalchemy as sa

        revision = "b1"
        down_revision = "a0"


        def upgrade(op, tables, tester):
            op.execute(
                tables.orders.delete().where(tables.orders.c.state == op.inline_literal("x"))
            )
            tester.populate_column("orders", "state", tester.TestDataType.String)


        def downgrade(op, tables, tester):
            pass
        """,
    )
    found = source.discover(paths=[v])
    assert found.modes[str(path)] == "rendered", found.notes
    up = next(m for m in found.migrations if m.path == path and m.direction == "up")
    assert up.prepared is not None
    assert [st.span.line for st in up.prepared] == [8]
    assert up.prepared[0].sql.startswith("DELETE FROM orders WHERE orders.state = 'x'")


@pytest.mark.postgres
def test_rendering_never_touches_the_projects_database(tmp_path: Path, pg_database: str) -> None:
    """The project's alembic.ini points at a real database and its revision writes to it
    through op.get_bind(): lint reads and renders, and the database stays untouched."""
    import pgfixtures
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(pg_database)
    url = (
        f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host')}:"
        f"{params.get('port', 5432)}/{params['dbname']}"
    )
    (tmp_path / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
        encoding="utf-8",
    )
    write(
        tmp_path / "migrations",
        "env.py",
        """\
        from alembic import context
        from sqlalchemy import create_engine, text

        with create_engine(context.config.get_main_option("sqlalchemy.url")).begin() as c:
            c.execute(text("CREATE TABLE env_py_ran (x int)"))
        """,
    )
    write(
        tmp_path / "migrations" / "versions",
        "a1_touch.py",
        """\
        import sqlalchemy as sa
        from alembic import op

        revision = "a1"
        down_revision = None


        def upgrade():
            op.get_bind().execute(sa.text("CREATE TABLE revision_ran (x int)"))
            op.add_column("orders", sa.Column("paid", sa.Boolean()))
        """,
    )
    code, doc, err = lint("--alembic", str(tmp_path / "alembic.ini"))
    assert code == 0, doc
    assert "op.get_bind() not analysed" in err
    with pgfixtures.connect(pg_database) as conn:
        tables = conn.execute(
            "SELECT relname FROM pg_class WHERE relname IN ('env_py_ran', 'revision_ran')"
        ).fetchall()
    assert tables == []


DATA_MIGRATION = """\
import sqlalchemy as sa
from alembic import op

revision = "b1"
down_revision = "a0"


def upgrade():
    conn = op.get_bind()
    states = [row[0] for row in conn.execute(sa.text("SELECT DISTINCT state FROM orders"))]
    conn.execute(sa.text("UPDATE orders SET note = :note"), {"note": "migrated"})
    for state in states:
        op.execute(f"UPDATE orders SET state = upper(state) WHERE state = '{state}'")


def downgrade():
    op.get_bind().execute(sa.text("DELETE FROM orders"))
"""


@pytest.mark.postgres
def test_online_rendering_in_a_scratch_database_on_the_given_server(
    tmp_path: Path, pg_database: str
) -> None:
    """With --render-online --database-url, a data migration through op.get_bind() runs in
    a scratch database made on that server, after the history before it; its statements
    are linted on the lines that sent them, reads left out. The database the URL names is
    left alone."""
    import pgfixtures

    v = tmp_path / "versions"
    write(v, "a0_base.py", BASE)
    path = write(v, "b1_data.py", DATA_MIGRATION)
    # Linted offline first: the lint cache then holds a run without the online statements,
    # which the online run must not reuse.
    code, doc, _ = lint("--select", "unscoped-data-change", str(v))
    assert code == 0 and doc["findings"] == []
    code, doc, err = lint(
        "--render-online",
        "--database-url",
        pg_database,
        "--select",
        "unscoped-data-change",
        str(v),
    )
    assert code == 1, err
    assert "rendering online on" in err
    # The loop runs over the rows of a scratch database, which has none.
    assert err.count("not analysed") == 1
    assert (
        "b1_data.py:13:9: op.execute() not analysed: an f-string is built when the script "
        "runs; it was not reached when run in the scratch database, whose tables are empty"
    ) in err
    got = [
        (f["rule"], f["line"], f["column"], f["direction"])  # type: ignore[index]
        for f in doc["findings"]  # type: ignore[attr-defined]
        if f["path"] == str(path)  # type: ignore[index]
    ]
    assert got == [
        ("unscoped-data-change", 11, 5, "up"),
        ("unscoped-data-change", 17, 5, "down"),  # run in a transaction rolled back
    ]
    statements = next(
        f["statements"]
        for f in doc["files"]  # type: ignore[attr-defined]
        if f["path"] == str(path)  # type: ignore[index]
    )
    assert [s["sql"] for s in statements] == [
        "UPDATE orders SET note = 'migrated'",
        "DELETE FROM orders",
    ]
    with pgfixtures.connect(pg_database) as conn:
        assert conn.execute("SELECT to_regclass('orders')").fetchone() == (None,)


def test_database_url_alone_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "versions", "a0_base.py", BASE)
    result = CliRunner().invoke(
        main, ["lint", "--database-url", "postgresql://x", str(tmp_path / "versions")]
    )
    assert result.exit_code == 2
    assert "--database-url is for --render-online" in result.stderr


def test_online_rendering_without_a_scratch_database_is_an_error(tmp_path: Path) -> None:
    """--render-online was asked for: a server that does not answer is an input error
    naming the revision that needed it, not a note and exit 0."""
    pytest.importorskip("psycopg", reason="rendering online needs psycopg")
    write(tmp_path / "versions", "a0_base.py", BASE)
    path = write(tmp_path / "versions", "b1_data.py", DATA_MIGRATION)
    result = CliRunner().invoke(
        main,
        [
            "lint",
            "--no-cache",
            "--render-online",
            "--database-url",
            "postgresql://postgres@127.0.0.1:1/postgres",
            str(tmp_path / "versions"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"migsafe: error: {path}: needs a live connection")
    assert "could not get a scratch database" in result.stderr
    assert "127.0.0.1" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
