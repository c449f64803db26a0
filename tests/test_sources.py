"""Finding migrations: every layout's order, direction, layout name and transaction default,
on small folders built here and on the real projects in the shared corpus."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus import CORPUS

from migsafe.analysis import Analyzer, Settings
from migsafe.sources import Migration, SourceError
from migsafe.sources.sqlfiles import Glob, discover, natural_key


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def rows(root: Path, migrations: list[Migration]) -> list[tuple[str, str, str, bool]]:
    """(relative path, direction, layout, in_transaction) of each migration, in order."""
    return [
        (m.path.relative_to(root).as_posix(), m.direction, m.layout, m.in_transaction)
        for m in migrations
    ]


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path) -> Iterator[None]:
    """Run from tmp_path, so display names are relative and exclude globs see them so."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(old)


# --- Flyway --------------------------------------------------------------------------------


def test_flyway_order_undo_repeatable_and_conf(tmp_path: Path) -> None:
    root = tmp_path / "db"
    write(
        root,
        {
            "V10__d.sql": "SELECT 10;",
            "R__views.sql": "SELECT 'views';",
            "V2__c.sql": "SELECT 2;",
            "U2__c.sql": "SELECT -2;",
            "V1_1__b.sql": "SELECT 11;",
            "R__aaa.sql": "SELECT 'aaa';",
            "V1__a.sql": "SELECT 1;",
            "V3__x.sql": "CREATE INDEX CONCURRENTLY i ON t (a);",
            "V3__x.sql.conf": "# flyway script config\nexecuteInTransaction=false\n",
        },
    )
    assert rows(root, discover([root])) == [
        ("V1__a.sql", "up", "flyway", True),
        ("V1_1__b.sql", "up", "flyway", True),
        ("V2__c.sql", "up", "flyway", True),
        ("U2__c.sql", "down", "flyway", True),
        ("V3__x.sql", "up", "flyway", False),
        ("V10__d.sql", "up", "flyway", True),
        ("R__aaa.sql", "up", "flyway", True),
        ("R__views.sql", "up", "flyway", True),
    ]


def test_flyway_conf_with_spaces_and_true(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "V1__a.sql": "SELECT 1;",
            "V1__a.sql.conf": "executeInTransaction = false\n",
            "V2__b.sql": "SELECT 2;",
            "V2__b.sql.conf": "executeInTransaction=true\n",
        },
    )
    assert [m.in_transaction for m in discover([tmp_path])] == [False, True]


def test_flyway_dotted_versions_compare_numerically(tmp_path: Path) -> None:
    write(tmp_path, {"V1.10__b.sql": "", "V1.9__a.sql": "", "V1.9.1__c.sql": ""})
    assert [m.path.name for m in discover([tmp_path])] == [
        "V1.9__a.sql",
        "V1.9.1__c.sql",
        "V1.10__b.sql",
    ]


def test_flyway_orders_by_version_across_subfolders(tmp_path: Path) -> None:
    # Flyway scans a location recursively and applies by version alone: V3 in 2023/ runs
    # before V10 in 2022/.
    write(tmp_path, {"2023/V3__x.sql": "", "2022/V10__y.sql": "", "2021/R__z.sql": ""})
    assert [m.path.name for m in discover([tmp_path])] == [
        "V3__x.sql",
        "V10__y.sql",
        "R__z.sql",
    ]


# --- golang-migrate ------------------------------------------------------------------------


def test_golang_migrate_numeric_order_down_after_up(tmp_path: Path) -> None:
    files = {}
    for n in (1, 2, 9, 10, 11):
        files[f"{n:04d}_step{n}.up.sql"] = f"SELECT {n};"
        files[f"{n:04d}_step{n}.down.sql"] = f"SELECT -{n};"
    write(tmp_path, files)
    got = rows(tmp_path, discover([tmp_path]))
    expected = []
    for n in (1, 2, 9, 10, 11):
        expected.append((f"{n:04d}_step{n}.up.sql", "up", "golang", False))
        expected.append((f"{n:04d}_step{n}.down.sql", "down", "golang", False))
    assert got == expected


def test_golang_migrate_unpadded_versions(tmp_path: Path) -> None:
    write(tmp_path, {"10_b.up.sql": "", "9_a.up.sql": "", "100_c.up.sql": ""})
    assert [m.path.name for m in discover([tmp_path])] == [
        "9_a.up.sql",
        "10_b.up.sql",
        "100_c.up.sql",
    ]


# --- dbmate --------------------------------------------------------------------------------

DBMATE = """\
-- a header comment, before any section
-- migrate:up
CREATE TABLE café (id int);
ALTER TABLE café ADD COLUMN name text;

-- migrate:down
DROP TABLE café;
"""


def test_dbmate_splits_sections_keeping_positions(tmp_path: Path) -> None:
    write(tmp_path, {"20200101000000_init.sql": DBMATE})
    migrations = discover([tmp_path])
    assert [(m.direction, m.layout, m.in_transaction) for m in migrations] == [
        ("up", "dbmate", True),
        ("down", "dbmate", True),
    ]
    up, down = migrations
    for m in (up, down):
        assert len(m.text) == len(DBMATE)
        assert [i for i, ch in enumerate(m.text) if ch == "\n"] == [
            i for i, ch in enumerate(DBMATE) if ch == "\n"
        ]
        # Everything is either the original character or a blank.
        assert all(a == b or a == " " for a, b in zip(m.text, DBMATE, strict=True))
    assert "CREATE TABLE café (id int);" in up.text
    assert "DROP TABLE" not in up.text
    assert "DROP TABLE café;" in down.text
    assert "CREATE TABLE" not in down.text
    assert "migrate:" not in up.text + down.text
    # The statement keeps its line and column in the file.
    up_lines = up.text.split("\n")
    assert up_lines[2] == "CREATE TABLE café (id int);"
    down_lines = down.text.split("\n")
    assert down_lines[6] == "DROP TABLE café;"
    assert down_lines[2].strip() == ""


def test_dbmate_sections_lint_with_file_positions(tmp_path: Path) -> None:
    write(tmp_path, {"20200101000000_init.sql": DBMATE})
    result = Analyzer(Settings()).run(discover([tmp_path]))
    assert result.errors == []
    spans = [
        (r.migration.direction, r.statement.span.line, r.statement.span.column)
        for r in result.statements
    ]
    assert spans == [("up", 3, 1), ("up", 4, 1), ("down", 7, 1)]


def test_dbmate_transaction_false(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "20200101000000_idx.sql": "-- migrate:up transaction:false\n"
            "CREATE INDEX CONCURRENTLY i ON t (a);\n"
            "-- migrate:down\n"
            "DROP INDEX i;\n",
        },
    )
    up, down = discover([tmp_path])
    assert (up.direction, up.in_transaction) == ("up", False)
    assert (down.direction, down.in_transaction) == ("down", True)


def test_dbmate_files_in_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "20200201000000_b.sql": "-- migrate:up\nSELECT 2;\n-- migrate:down\n",
            "20200101000000_a.sql": "-- migrate:up\nSELECT 1;\n-- migrate:down\n",
        },
    )
    assert [(m.path.name, m.direction) for m in discover([tmp_path])] == [
        ("20200101000000_a.sql", "up"),
        ("20200101000000_a.sql", "down"),
        ("20200201000000_b.sql", "up"),
        ("20200201000000_b.sql", "down"),
    ]


# --- diesel --------------------------------------------------------------------------------


def test_diesel_folders_and_metadata(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "2018-02-17-205753_orgs/up.sql": "SELECT 2;",
            "2018-02-17-205753_orgs/down.sql": "SELECT -2;",
            "2018-01-14-171611_create/up.sql": "SELECT 1;",
            "2018-01-14-171611_create/down.sql": "SELECT -1;",
            "2018-10-01-000000_idx/up.sql": "CREATE INDEX CONCURRENTLY i ON t (a);",
            "2018-10-01-000000_idx/down.sql": "DROP INDEX CONCURRENTLY i;",
            "2018-10-01-000000_idx/metadata.toml": "run_in_transaction = false\n",
        },
    )
    assert rows(tmp_path, discover([tmp_path])) == [
        ("2018-01-14-171611_create/up.sql", "up", "diesel", True),
        ("2018-01-14-171611_create/down.sql", "down", "diesel", True),
        ("2018-02-17-205753_orgs/up.sql", "up", "diesel", True),
        ("2018-02-17-205753_orgs/down.sql", "down", "diesel", True),
        ("2018-10-01-000000_idx/up.sql", "up", "diesel", False),
        ("2018-10-01-000000_idx/down.sql", "down", "diesel", False),
    ]


def test_diesel_bad_metadata_keeps_default(tmp_path: Path) -> None:
    write(tmp_path, {"2018_x/up.sql": "", "2018_x/metadata.toml": "not [valid toml"})
    assert [m.in_transaction for m in discover([tmp_path])] == [True]


# --- Prisma --------------------------------------------------------------------------------


def test_prisma_folders_in_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "20230411134605_doc_208/migration.sql": "SELECT 2;",
            "20230404095503_initial_migration/migration.sql": "SELECT 1;",
            "20231001000000_later/migration.sql": "SELECT 3;",
            "migration_lock.toml": 'provider = "postgresql"\n',
        },
    )
    assert rows(tmp_path, discover([tmp_path])) == [
        ("20230404095503_initial_migration/migration.sql", "up", "prisma", False),
        ("20230411134605_doc_208/migration.sql", "up", "prisma", False),
        ("20231001000000_later/migration.sql", "up", "prisma", False),
    ]


# --- plain ---------------------------------------------------------------------------------


def test_plain_natural_sort_recursion_hidden_and_exclude(tmp_path: Path) -> None:
    root = tmp_path / "migrations"
    write(
        root,
        {
            "v1.10.sql": "",
            "v1.9.sql": "",
            "v2.sql": "",
            "sub/a.sql": "",
            "sub/deeper/b.sql": "",
            ".git/x.sql": "",
            ".hidden/y.sql": "",
            "legacy/old.sql": "",
            "legacy/nested/older.sql": "",
            "notes.txt": "not sql",
            "V1.1__keep.SQL": "",
            "scratch.sql": "",
        },
    )
    got = discover([root], exclude=["migrations/legacy/*", "scratch.sql"])
    # A folder's own files come before its subfolders'.
    assert rows(root, got) == [
        ("V1.1__keep.SQL", "up", "flyway", True),
        ("v1.9.sql", "up", "plain", False),
        ("v1.10.sql", "up", "plain", False),
        ("v2.sql", "up", "plain", False),
        ("sub/a.sql", "up", "plain", False),
        ("sub/deeper/b.sql", "up", "plain", False),
    ]
    assert got[1].display == os.path.join("migrations", "v1.9.sql")


def test_plain_order_without_exclude(tmp_path: Path) -> None:
    write(tmp_path, {"b/1.sql": "", "a/10.sql": "", "a/9.sql": "", "z.sql": ""})
    assert [m.path.relative_to(tmp_path).as_posix() for m in discover([tmp_path])] == [
        "z.sql",
        "a/9.sql",
        "a/10.sql",
        "b/1.sql",
    ]


def test_exclude_glob_on_file_names(tmp_path: Path) -> None:
    write(tmp_path, {"1_a.up.sql": "", "1_a.down.sql": "", "2_b.up.sql": "", "2_b.down.sql": ""})
    got = discover([tmp_path], exclude=["*.down.sql"])
    assert [m.path.name for m in got] == ["1_a.up.sql", "2_b.up.sql"]


def test_exclude_folder_by_name(tmp_path: Path) -> None:
    write(tmp_path, {"m/keep.sql": "", "m/legacy/a.sql": "", "m/legacy/deep/b.sql": ""})
    got = discover([tmp_path / "m"], exclude=["m/legacy"])
    assert [m.path.name for m in got] == ["keep.sql"]


def test_exclude_globs_are_relative_to_the_config_file_not_the_current_folder(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from migsafe.cli import main

    (tmp_path / "migsafe.toml").write_text('exclude = ["migrations/legacy/*"]\n')
    write(
        tmp_path / "migrations",
        {"legacy/001.sql": "CREATE INDEX a ON t (a);\n", "002.sql": "SELECT 1;\n"},
    )
    for cwd, arg in ((tmp_path, "migrations"), (tmp_path / "migrations", ".")):
        os.chdir(cwd)
        done = CliRunner().invoke(main, ["lint", "--no-cache", arg])
        assert done.exit_code == 0, done.output
        assert "(1 file," in done.output and "legacy" not in done.output


def test_an_exclude_glob_keeps_its_folder_when_copied(tmp_path: Path) -> None:
    import copy
    import pickle

    glob = Glob("legacy/*", tmp_path)
    for twin in (copy.deepcopy(glob), pickle.loads(pickle.dumps(glob))):
        assert isinstance(twin, Glob) and twin == "legacy/*" and twin.root == tmp_path.resolve()


def test_hidden_files_skipped(tmp_path: Path) -> None:
    # macOS leaves "._name" resource forks that are not text at all.
    (tmp_path / "V1__a.sql").write_text("SELECT 1;", encoding="utf-8")
    (tmp_path / "._V1__a.sql").write_bytes(b"\x00\x05\x16\x07\x00\x02\xff\xfe")
    (tmp_path / ".#V2__b.sql").write_text("SELECT 2;", encoding="utf-8")
    assert [m.path.name for m in discover([tmp_path])] == ["V1__a.sql"]


def test_natural_key() -> None:
    assert natural_key("v1.9.sql") < natural_key("v1.10.sql")
    assert natural_key("File2") < natural_key("file10")
    assert natural_key("0010") > natural_key("9")
    # A text part that str.isdigit() accepts but int() does not: no crash.
    assert natural_key("1\u00b22.sql") < natural_key("1\u00b23.sql")


# --- explicit files and errors -------------------------------------------------------------


def test_explicit_files_keep_command_line_order(tmp_path: Path) -> None:
    write(tmp_path, {"V2__b.sql": "", "V1__a.sql": "", "z.sql": "", "0001_x.down.sql": ""})
    paths = [tmp_path / n for n in ("z.sql", "V2__b.sql", "0001_x.down.sql", "V1__a.sql")]
    got = discover(paths)
    assert [(m.path.name, m.direction, m.layout) for m in got] == [
        ("z.sql", "up", "plain"),
        ("V2__b.sql", "up", "flyway"),
        ("0001_x.down.sql", "down", "golang"),
        ("V1__a.sql", "up", "flyway"),
    ]
    assert [m.display for m in got] == ["z.sql", "V2__b.sql", "0001_x.down.sql", "V1__a.sql"]


def test_folder_then_file_keeps_argument_order(tmp_path: Path) -> None:
    write(tmp_path, {"dir/2.sql": "", "dir/1.sql": "", "a.sql": ""})
    got = discover([tmp_path / "dir", tmp_path / "a.sql"])
    assert [m.path.name for m in got] == ["1.sql", "2.sql", "a.sql"]


@pytest.mark.parametrize("name", ["missing.sql", "missing_dir", "missing.txt"])
def test_missing_path(tmp_path: Path, name: str) -> None:
    with pytest.raises(SourceError) as info:
        discover([tmp_path / name])
    assert info.value.path == str(tmp_path / name)
    assert info.value.message == "no such file or directory"
    assert str(info.value) == f"{tmp_path / name}: no such file or directory"


def test_non_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.sql"
    path.write_bytes("-- ok\nSELECT 'café';\n".encode("latin-1"))
    with pytest.raises(SourceError) as info:
        discover([path])
    assert info.value.path == str(path)
    message = info.value.message
    assert "not UTF-8" in message
    assert "0xe9" in message  # the byte itself
    assert "offset 17" in message  # where it is
    assert "line 2, column 12" in message


def test_non_utf8_inside_folder(tmp_path: Path) -> None:
    (tmp_path / "1.sql").write_bytes(b"SELECT 1;\xff")
    with pytest.raises(SourceError, match=r"1\.sql: not UTF-8 text: byte 0xff at offset 9"):
        discover([tmp_path])


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.sql"
    path.write_bytes(b"\xef\xbb\xbfCREATE TABLE t (id bigint);\n")
    (m,) = discover([path])
    assert m.text == "CREATE TABLE t (id bigint);\n"
    result = Analyzer(Settings()).run([m])
    assert result.errors == []
    assert [(r.statement.span.line, r.statement.span.column) for r in result.statements] == [(1, 1)]


@pytest.mark.parametrize("text", ["", "-- only a comment\n/* and a block */\n", "\n\n  \n"])
def test_empty_and_comment_only_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.sql"
    path.write_text(text, encoding="utf-8")
    migrations = discover([path])
    assert [m.text for m in migrations] == [text]
    result = Analyzer(Settings()).run(migrations)
    assert result.errors == []
    assert result.statements == []
    assert result.findings == []
    assert result.files == ["empty.sql"]


def test_empty_folder_is_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    with pytest.raises(SourceError, match=r"no \.sql files here"):
        discover([tmp_path / "nothing"])
    errors: list[SourceError] = []
    (tmp_path / "one.sql").write_text("SELECT 1;\n", encoding="utf-8")
    found = discover([tmp_path / "nothing", tmp_path / "one.sql"], errors=errors)
    assert [m.path.name for m in found] == ["one.sql"]
    assert [e.message for e in errors] == [
        "no .sql files here (the folder is empty, or all of it is excluded)"
    ]


# --- the shared corpus ---------------------------------------------------------------------

CORPUS_SETS = [
    ("supabase__auth", "", "golang"),
    ("documenso__documenso", "", "prisma"),
    ("authelia__authelia", "postgres", "golang"),
    ("dani-garcia__vaultwarden", "postgresql", "diesel"),
]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared migration corpus not found at {CORPUS}")
@pytest.mark.parametrize(("project", "sub", "layout"), CORPUS_SETS)
def test_corpus_order_matches_project(project: str, sub: str, layout: str) -> None:
    root = CORPUS / project
    folder = root / sub if sub else root
    with (root / "FILES.tsv").open(encoding="utf-8") as fh:
        listed = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: int(r["order"]))
    expected = [
        r["path"]
        for r in listed
        if r["kind"] in ("up", "forward") and (not sub or r["path"].startswith(sub + "/"))
    ]
    migrations = discover([folder])
    got = [m.path.relative_to(root).as_posix() for m in migrations if m.direction == "up"]
    assert len(expected) > 10
    assert got == expected
    assert {m.layout for m in migrations} == {layout}
    # Every down migration comes right after its up.
    for i, m in enumerate(migrations):
        if m.direction == "down":
            up = migrations[i - 1]
            assert up.direction == "up"
            if layout == "diesel":
                assert up.path.parent == m.path.parent
            else:
                assert up.path.name.replace(".up.", ".down.") == m.path.name
