"""Releases from git tags, a releases.toml and annotations, and `migsafe releases`. Each
git test builds a small repository with migrations committed across tagged versions."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe.cli import main
from migsafe.releases import ReleaseError, assign, migration_id, version_key
from migsafe.sources.sqlfiles import discover


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def add(repo: Path, name: str, sql: str) -> None:
    path = repo / "migrations" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql, encoding="utf-8")


def commit(repo: Path, tag: str | None = None) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "work")
    if tag:
        git(repo, "tag", tag)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """Migrations across v1.9.0, v1.10.0 and v2.0.0, tagged out of creation order so that
    string order (v1.10.0 < v1.9.0) would give the wrong answer, plus untagged work."""
    r = tmp_path / "app"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.name", "Test")
    git(r, "config", "user.email", "test@example.com")
    add(r, "0001_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n")
    commit(r, "v1.9.0")
    add(r, "0002_email.up.sql", "ALTER TABLE users ADD COLUMN email text;\n")
    add(r, "0003_fill.up.sql", "UPDATE users SET email = name WHERE email IS NULL;\n")
    commit(r, "v1.10.0")
    add(r, "0004_required.up.sql", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n")
    commit(r, "v2.0.0")
    add(r, "0005_drop.up.sql", "-- migsafe: phase=contract\nALTER TABLE users DROP COLUMN name;\n")
    commit(r)
    (r / "README").write_text("not a migration\n", encoding="utf-8")
    git(r, "tag", "not-a-release")
    return r


def table(repo: Path, source: str = "git", **kwargs: object) -> dict[str, list[str]]:
    migrations = discover([repo / "migrations"])
    result = assign(migrations, source, **kwargs)  # type: ignore[arg-type]
    return {r.name: [migration_id(m) for m in r.migrations] for r in result}


def test_version_order_not_string_order() -> None:
    assert version_key("1.10.0", "t") > version_key("1.9.0", "t")
    assert version_key("2.0.0rc1", "t") < version_key("2.0.0", "t")


def test_git_tags_place_each_migration_in_the_first_release_containing_it(repo: Path) -> None:
    got = table(repo)
    assert list(got) == ["1.9.0", "1.10.0", "2.0.0", "upcoming"]
    assert got == {
        "1.9.0": ["0001_users"],
        "1.10.0": ["0002_email", "0003_fill"],
        "2.0.0": ["0004_required"],
        "upcoming": ["0005_drop"],
    }


def test_a_tag_without_new_migrations_is_still_a_release(repo: Path) -> None:
    git(repo, "tag", "v2.0.1", "v2.0.0")
    got = table(repo)
    assert got["2.0.1"] == []
    assert list(got)[-2:] == ["2.0.1", "upcoming"]


def test_tag_pattern_prefix_is_stripped(repo: Path) -> None:
    git(repo, "tag", "release-3.0.0")
    got = table(repo, tag_pattern="release-*")
    assert got == {"3.0.0": ["0001_users", "0002_email", "0003_fill", "0004_required", "0005_drop"]}


def test_annotation_wins_over_git(repo: Path) -> None:
    add(repo, "0006_later.up.sql", "-- migsafe: release=1.10.0\nCREATE INDEX i ON users (email);\n")
    got = table(repo)
    assert got["1.10.0"] == ["0002_email", "0003_fill", "0006_later"]
    assert got["upcoming"] == ["0005_drop"]


def test_not_a_git_repository(tmp_path: Path) -> None:
    add(tmp_path, "0001.sql", "SELECT 1;\n")
    with pytest.raises(ReleaseError, match="not inside a git repository"):
        table(tmp_path)


def test_no_matching_tags(repo: Path) -> None:
    with pytest.raises(ReleaseError, match=r"no git tag .* matches tag-pattern 'rel-\*'"):
        table(repo, tag_pattern="rel-*")


def test_a_tag_that_is_not_a_version(repo: Path) -> None:
    git(repo, "tag", "vnext")
    with pytest.raises(ReleaseError, match=r"git tag 'vnext'.*'next' is not a version"):
        table(repo)


def test_releases_file(tmp_path: Path) -> None:
    for name in ("0001_a.up.sql", "0002_b.up.sql", "0003_c.up.sql", "0004_d.up.sql"):
        add(tmp_path, name, "SELECT 1;\n")
    releases = tmp_path / "releases.toml"
    releases.write_text('"1.10.0" = "0003_c"\n"1.9.0" = "0001_a.up.sql"\n', encoding="utf-8")
    got = table(tmp_path, "file", releases_file=releases)
    assert got == {"1.9.0": ["0001_a"], "1.10.0": ["0002_b", "0003_c"], "upcoming": ["0004_d"]}


def test_releases_file_errors(tmp_path: Path) -> None:
    add(tmp_path, "0001_a.up.sql", "SELECT 1;\n")
    add(tmp_path, "0002_b.up.sql", "SELECT 1;\n")
    releases = tmp_path / "releases.toml"
    with pytest.raises(ReleaseError, match="releases file not found"):
        table(tmp_path, "file", releases_file=releases)
    releases.write_text('"1.0.0" = "0009_missing"\n', encoding="utf-8")
    with pytest.raises(ReleaseError, match="'0009_missing' is not among the migrations"):
        table(tmp_path, "file", releases_file=releases)
    releases.write_text('"1.0.0" = "0002_b"\n"2.0.0" = "0001_a"\n', encoding="utf-8")
    with pytest.raises(
        ReleaseError, match=re.escape("2.0.0 ends at an earlier migration than 1.0.0")
    ):
        table(tmp_path, "file", releases_file=releases)
    releases.write_text('"latest" = "0002_b"\n', encoding="utf-8")
    with pytest.raises(ReleaseError, match="'latest' is not a version"):
        table(tmp_path, "file", releases_file=releases)


def test_annotations_source(tmp_path: Path) -> None:
    add(tmp_path, "0001_a.up.sql", "-- migsafe: release=2.0\nSELECT 1;\n")
    add(tmp_path, "0002_b.up.sql", "-- migsafe: release=1.9.1\nSELECT 1;\n")
    add(tmp_path, "0003_c.up.sql", "-- migsafe: release=2.0.0\nSELECT 1;\n")
    add(tmp_path, "0004_d.up.sql", "SELECT 1;\n")
    got = table(tmp_path, "annotations")
    # 2.0 and 2.0.0 are one release, named as first written.
    assert got == {"1.9.1": ["0002_b"], "2.0": ["0001_a", "0003_c"], "upcoming": ["0004_d"]}


def test_bad_release_annotation(tmp_path: Path) -> None:
    add(tmp_path, "0001_a.up.sql", "SELECT 1;\n-- migsafe: release=soon\n")
    with pytest.raises(
        ReleaseError, match=re.escape("0001_a.up.sql: -- migsafe: release=: 'soon'")
    ):
        table(tmp_path, "annotations")


def test_down_migrations_ship_with_their_up(tmp_path: Path) -> None:
    add(tmp_path, "0001_a.up.sql", "SELECT 1;\n")
    add(tmp_path, "0001_a.down.sql", "SELECT 1;\n")
    add(tmp_path, "0002_b.up.sql", "SELECT 1;\n")
    releases = tmp_path / "releases.toml"
    releases.write_text('"1.0.0" = "0001_a"\n', encoding="utf-8")
    migrations = discover([tmp_path / "migrations"])
    result = assign(migrations, "file", releases_file=releases)
    assert [(m.path.name, m.direction) for m in result[0].migrations] == [
        ("0001_a.up.sql", "up"),
        ("0001_a.down.sql", "down"),
    ]


# -- the command ------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr


def test_cli_text(repo: Path) -> None:
    code, out, _ = run("releases", str(repo / "migrations"))
    assert code == 0
    assert out.splitlines() == [
        "1.9.0",
        "  0001_users     expand    (inferred)",
        "1.10.0",
        "  0002_email     expand    (inferred)",
        "  0003_fill      backfill  (inferred)",
        "2.0.0",
        "  0004_required  contract  (inferred)",
        "upcoming",
        "  0005_drop      contract  (declared)",
    ]


def test_cli_json(repo: Path) -> None:
    code, out, _ = run("releases", "--format", "json", str(repo / "migrations"))
    assert code == 0
    doc = json.loads(out)
    assert doc["version"] == 1
    assert [(r["release"], r["upcoming"]) for r in doc["releases"]] == [
        ("1.9.0", False),
        ("1.10.0", False),
        ("2.0.0", False),
        ("upcoming", True),
    ]
    last = doc["releases"][-1]["migrations"]
    assert last == [
        {
            "id": "0005_drop",
            "path": str(repo / "migrations" / "0005_drop.up.sql"),
            "phase": "contract",
            "declared": True,
        }
    ]


def test_cli_error_is_one_paragraph_exit_2(tmp_path: Path) -> None:
    add(tmp_path, "0001.sql", "SELECT 1;\n")
    code, out, err = run("releases", str(tmp_path / "migrations"))
    assert code == 2
    assert out == ""
    assert err.startswith("migsafe: error: ") and "not inside a git repository" in err
    assert "Traceback" not in err


def test_cli_reads_source_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add(tmp_path, "0001_a.up.sql", "CREATE TABLE t (id int);\n")
    (tmp_path / "releases.toml").write_text('"0.1.0" = "0001_a"\n', encoding="utf-8")
    (tmp_path / "migsafe.toml").write_text('releases = "file"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("releases", "migrations")
    assert code == 0, out
    assert out.splitlines() == ["0.1.0", "  0001_a  expand    (inferred)"]


def test_config_keys_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add(tmp_path, "0001_a.up.sql", "SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    for text, message in (
        ('releases = "svn"\n', 'releases must be "git", "file" or "annotations"'),
        ("compat-window = -1\n", "compat-window must be a whole number"),
        ("tag-pattern = 3\n", "tag-pattern must be a git tag glob"),
        ("release = 'git'\n", "unknown key 'release'"),
    ):
        (tmp_path / "migsafe.toml").write_text(text, encoding="utf-8")
        code, _, err = run("releases", "migrations")
        assert code == 2
        assert message in err


def test_cli_reads_a_mysql_folder_as_mysql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # MySQL's `, ALGORITHM=INSTANT` is a PostgreSQL syntax error: read as PostgreSQL, the
    # drop had no inferred phase and showed as neutral.
    mysql = tmp_path / "mysql"
    mysql.mkdir()
    (mysql / "1.sql").write_text("CREATE TABLE t (id int, x int);\n", encoding="utf-8")
    (mysql / "2.sql").write_text(
        "ALTER TABLE t DROP COLUMN x, ALGORITHM=INSTANT;\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("releases", "--source", "annotations", "mysql")
    assert code == 0, out
    assert "  2  contract  (inferred)" in out.splitlines()
