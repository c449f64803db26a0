"""The static reader of Alembic revisions: op calls become ops on the right Python line and
column, without importing the script (its imports point at modules that do not exist)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe import ops
from migsafe.analysis import Analyzer, Settings
from migsafe.cli import main
from migsafe.parse import alembic as reader
from migsafe.sources import alembic as source

HEADER = '''\
"""{doc}"""
import sqlalchemy as sa
from alembic import op
from myapp.models import GUID  # not installed anywhere: the reader never imports

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None
'''


def revision(folder: Path, rev: str, down: str | None, body: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rev}_x.py"
    path.write_text(
        HEADER.format(doc=rev, rev=rev, down=down) + extra + textwrap.dedent(body),
        encoding="utf-8",
    )
    return path


def lint(*args: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(main, ["lint", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def findings(doc: dict[str, object]) -> list[tuple[str, int, int]]:
    return sorted(
        (f["rule"], f["line"], f["column"])  # type: ignore[index]
        for f in doc["findings"]  # type: ignore[attr-defined]
    )


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_each_finding_lands_on_the_line_of_its_call(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    revision(
        versions,
        "a1",
        None,
        """
        def upgrade():
            op.create_table(
                "users",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("email", sa.String(255), nullable=False),
            )
        """,
    )
    path = revision(
        versions,
        "b2",
        "a1",
        """
        def upgrade():
            op.add_column("users", sa.Column("age", sa.Integer(), nullable=False))
            op.execute("SET lock_timeout = '2s'")
            op.create_index("ix_users_email", "users", ["email"])
            op.alter_column("users", "age", type_=sa.BigInteger())
            op.drop_column(
                "users",
                "age",
            )


        def downgrade():
            pass
        """,
    )
    code, doc, _ = lint(str(versions))
    assert code == 1
    add = line_of(path, "op.add_column")
    index = line_of(path, "op.create_index")
    alter = line_of(path, "op.alter_column")
    drop = line_of(path, "op.drop_column")
    got = [f for f in findings(doc) if f[0] != "mixed-phase"]
    assert ("add-required-column", add, 28) in got  # the sa.Column(...) inside the call
    assert ("require-concurrent-index", index, 5) in got
    assert ("column-type-rewrite", alter, 43) in got  # at sa.BigInteger()
    assert ("drop-column", drop, 5) in got
    lines = {line for _, line, _ in got}
    assert lines <= {add, index, alter, drop}
    # Fixes edit SQL text: none are offered on a Python revision.
    assert all(f["fix"] is None for f in doc["findings"])  # type: ignore[attr-defined,index]


def test_a_type_finding_points_at_the_type_expression(tmp_path: Path) -> None:
    path = revision(
        tmp_path / "versions",
        "a1",
        None,
        """
        def upgrade():
            op.create_table(
                "events",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("at", sa.DateTime(), nullable=True),
                sa.PrimaryKeyConstraint("id"),
            )
        """,
    )
    _, doc, _ = lint("--select", "prefer-timestamptz,prefer-identity", str(path.parent))
    at = line_of(path, '"at"')
    id_line = line_of(path, '"id", sa.Integer')
    assert ("prefer-timestamptz", at, 25) in findings(doc)
    # sa.Integer() primary key, autoincrement: the SERIAL that SQLAlchemy creates.
    assert ("prefer-identity", id_line, 25) in findings(doc)


def test_batch_operations_and_in_place_sql(tmp_path: Path) -> None:
    revision(
        tmp_path / "versions",
        "a0",
        None,
        """
        def upgrade():
            op.create_table("t", sa.Column("id", sa.BigInteger(), primary_key=True))
        """,
    )
    path = revision(
        tmp_path / "versions",
        "a1",
        "a0",
        '''
        def upgrade():
            with op.batch_alter_table("t") as batch_op:
                batch_op.add_column(sa.Column("n", sa.Integer(), server_default="0"))
                batch_op.create_unique_constraint("uq_t_n", ["n"])
            op.execute("""
                UPDATE t SET n = 1;
                ALTER TABLE t ALTER COLUMN n SET NOT NULL
            """)
        ''',
    )
    _, doc, _ = lint(str(path.parent))
    got = findings(doc)
    assert ("unscoped-data-change", line_of(path, "UPDATE t"), 9) in got
    assert ("set-not-null-scan", line_of(path, "SET NOT NULL"), 9) in got
    files = doc["files"]
    assert isinstance(files, list)
    sql = [st["sql"] for f in files if f["path"] == str(path) for st in f["statements"]]
    assert any('ADD CONSTRAINT "uq_t_n" UNIQUE ("n")' in s for s in sql)


def test_reader_builds_the_ops_alembic_would_emit() -> None:
    text = HEADER.format(doc="x", rev="a", down=None) + textwrap.dedent(
        """
        def upgrade():
            op.create_table(
                "acct",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE")),
                sa.Column("kind", sa.Enum("a", "b", name="acct_kind"), nullable=False),
                sa.Column("price", sa.Numeric(10, 2), server_default=sa.text("0")),
                sa.Column("made", sa.DateTime(timezone=True), server_default=sa.func.now()),
                sa.Column("tag", sa.String(length=40), index=True),
                sa.Column("n", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
                sa.PrimaryKeyConstraint("id", name=op.f("pk_acct")),
            )
            op.create_foreign_key(None, "acct", "users", ["owner_id"], ["id"])
            op.drop_index(op.f("ix_acct_tag"), table_name="acct", postgresql_concurrently=True)
        """
    )
    script = reader.read(text)
    assert script.upgrade is not None and not script.upgrade.unresolved
    made = [o for st in script.upgrade.statements() for o in st.ops]
    kinds = [type(o).__name__ for o in made]
    assert kinds == ["CreateEnum", "CreateTable", "CreateIndex", "AddConstraint", "DropIndex"]
    table = made[1]
    assert isinstance(table, ops.CreateTable)
    columns = {c.name: c for c in table.columns}
    assert columns["id"].serial and str(columns["id"].type) == "int4"
    assert str(columns["price"].type) == "numeric(10,2)"
    assert str(columns["made"].type) == "timestamptz" and columns["made"].default is not None
    assert columns["kind"].not_null and str(columns["kind"].type) == "acct_kind"
    assert str(columns["n"].type) == "int8"
    assert isinstance(made[4], ops.DropIndex) and made[4].concurrently


def test_unreadable_calls_are_reported_with_their_reason() -> None:
    text = HEADER.format(doc="x", rev="a", down=None) + textwrap.dedent(
        """
        def upgrade():
            for name in ("a", "b"):
                op.drop_column("t", name)
            op.add_column("t", sa.Column("g", GUID()))
            op.execute(f"DROP TABLE {1}")
            op.get_bind()
        """
    )
    script = reader.read(text)
    assert script.upgrade is not None
    got = [(u.call, u.span.line, u.reason) for u in script.upgrade.unresolved]
    first = text.splitlines().index('    for name in ("a", "b"):') + 1
    assert [(c, line - first) for c, line, _ in got] == [
        ("op.drop_column", 1),
        ("op.add_column", 2),
        ("op.execute", 3),
        ("op.get_bind", 4),
    ]
    assert "`name` is set when the script runs" in got[0][2]
    assert "myapp.models" in got[1][2]
    assert "f-string" in got[2][2]
    assert "live connection" in got[3][2]


def test_the_reader_imports_neither_alembic_nor_sqlalchemy(tmp_path: Path) -> None:
    path = revision(
        tmp_path,
        "a1",
        None,
        """
        def upgrade():
            op.add_column("t", sa.Column("x", sa.Integer()))
        """,
    )
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from migsafe.sources import alembic\n"
        f"found = alembic.discover(paths=[Path({str(path)!r})])\n"
        "assert found.migrations and not found.notes\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'sqlalchemy')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_annotations_phase_ignore_and_comment(tmp_path: Path) -> None:
    path = revision(
        tmp_path / "versions",
        "a1",
        None,
        """
        def upgrade():
            # migsafe:ignore drop-column -- the app stopped reading it in 2.3
            op.drop_column("users", "legacy")
            op.drop_column("users", "other")
            op.drop_table("audit")
        """,
        extra='migsafe_phase = "contract"\nmigsafe_ignore = ["drop-table"]\n',
    )
    _, doc, _ = lint("--select", "drop-column,drop-table,mixed-phase", str(path.parent))
    assert findings(doc) == [("drop-column", line_of(path, '"other"'), 5)]
    migrations = source.discover(paths=[path.parent]).migrations
    assert migrations[0].declared_phase is not None
    assert migrations[0].declared_phase.value == "contract"


def test_unknown_rule_id_in_an_ignore_comment_is_an_input_error(tmp_path: Path) -> None:
    path = revision(
        tmp_path / "versions",
        "a1",
        None,
        """
        def upgrade():
            op.drop_column("users", "x")  # migsafe:ignore drop-colum -- typo
        """,
    )
    code, doc, _ = lint(str(path.parent))
    assert code == 2
    assert "unknown rule id 'drop-colum'" in json.dumps(doc)


@pytest.mark.parametrize(
    ("snippet", "kind"),
    [
        ('op.rename_table("a", "b")', "RenameTable"),
        ('op.alter_column("a", "c", new_column_name="d")', "RenameColumn"),
        ('op.alter_column("a", "c", nullable=False)', "SetNotNull"),
        ('op.alter_column("a", "c", server_default=None)', "DropDefault"),
        ('op.create_check_constraint("ck", "a", "c > 0")', "AddConstraint"),
        ('op.drop_constraint("fk", "a", type_="foreignkey")', "DropConstraint"),
        ('op.create_primary_key("pk", "a", ["c"])', "AddConstraint"),
        ('op.bulk_insert(sa.table("a", sa.column("c")), [{"c": 1}])', "Insert"),
    ],
)
def test_each_operation_maps_to_its_op(snippet: str, kind: str) -> None:
    text = HEADER.format(doc="x", rev="a", down=None) + f"\ndef upgrade():\n    {snippet}\n"
    script = reader.read(text)
    assert script.upgrade is not None and not script.upgrade.unresolved, script.upgrade
    made = [o for st in script.upgrade.statements() for o in st.ops]
    assert [type(o).__name__ for o in made] == [kind]
    assert made[0].span.line == len(text.splitlines())


def test_analysis_of_a_revision_needs_no_sql_parse(tmp_path: Path) -> None:
    path = revision(
        tmp_path,
        "a1",
        None,
        """
        def upgrade():
            op.create_index("ix", "t", ["c"], postgresql_concurrently=True)
        """,
    )
    found = source.discover(paths=[path])
    result = Analyzer(Settings(select=frozenset({"concurrently-in-transaction"}))).run(
        found.migrations
    )
    # Alembic runs the revision in a transaction: CONCURRENTLY fails there.
    assert [f.rule for f in result.findings] == ["concurrently-in-transaction"]


def test_calls_in_nested_functions_and_lambdas_are_never_dropped() -> None:
    text = HEADER.format(doc="x", rev="a", down=None) + textwrap.dedent(
        """
        def upgrade():
            def drop(name):
                op.drop_column("t", name)

            drop("a")
            list(map(lambda c: op.drop_column("t", c), ["b"]))
            op.drop_table("gone")
        """
    )
    script = reader.read(text)
    assert script.upgrade is not None
    assert [u.call for u in script.upgrade.unresolved] == ["op.drop_column", "op.drop_column"]
    read = [o for st in script.upgrade.statements() for o in st.ops]
    assert [type(o).__name__ for o in read] == ["DropTable"]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ('op.execute("ALTER TABLE t MODIFY a varchar(5)")', 'syntax error at or near "MODIFY"'),
        ('op.execute("CREATE TABLE (")', 'syntax error at or near "("'),
        ('op.execute(op.inline_literal("x"))', 'syntax error at or near "x"'),
        ('op.create_index("i", "t", [sa.text("lower(")])', "syntax error at end of input"),
        (
            'op.add_column("t", sa.Column("c", sa.Integer(), server_default=sa.text("foo(")))',
            "syntax error at end of input",
        ),
    ],
)
def test_sql_that_does_not_parse_is_a_note_on_its_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, reason: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = revision(
        Path("versions"),
        "a1",
        None,
        f"""
        def upgrade():
            {call}
            op.drop_table("gone")
        """,
    )
    at = line_of(path, call)
    code, doc, stderr = lint("--no-cache", "versions")
    # The call is a note; the rest of the revision is still linted.
    assert code == 1 and ("drop-table", at + 1, 5) in findings(doc)
    assert f"versions/a1_x.py:{at}:5: " in stderr and "does not parse as PostgreSQL" in stderr
    assert reason in stderr and "Traceback" not in stderr
    code, doc, _ = lint("--no-cache", "--strict", "versions")
    assert code == 2
    errors = [(e["line"], e["message"]) for e in doc["errors"]]  # type: ignore[attr-defined]
    assert len(errors) == 1 and errors[0][0] == at and reason in errors[0][1]


def test_sql_read_as_postgresql_says_so_under_another_dialect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    revision(
        Path("versions"),
        "a1",
        None,
        """
        def upgrade():
            op.execute("ALTER TABLE t MODIFY a varchar(5)")
        """,
    )
    _, _, stderr = lint("--no-cache", "--dialect", "mysql", "versions")
    assert "reads Alembic revisions as PostgreSQL only; --dialect mysql applies to SQL files" in (
        stderr
    )
    _, _, stderr = lint("--no-cache", "versions")
    assert "PostgreSQL only" not in stderr and "MODIFY" in stderr
