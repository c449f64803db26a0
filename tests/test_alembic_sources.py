"""Finding Alembic projects and ordering their revisions, without running anything of the
project: alembic.ini (``%(here)s``, ``package:path``, ``version_locations``), bare versions
folders, merges, branch labels, ``depends_on``, and single files given by pre-commit."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe.cli import main
from migsafe.sources import SourceError
from migsafe.sources import alembic as source


def write_revision(
    folder: Path,
    rev: str,
    down: object,
    body: str = "pass",
    *,
    labels: object = None,
    depends: object = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rev}_step.py"
    path.write_text(
        textwrap.dedent(
            f"""\
            import sqlalchemy as sa
            from alembic import op

            revision = {rev!r}
            down_revision = {down!r}
            branch_labels = {labels!r}
            depends_on = {depends!r}


            def upgrade():
                {body}


            def downgrade():
                pass
            """
        ),
        encoding="utf-8",
    )
    return path


def revisions(found: source.Found) -> list[str]:
    return [m.path.name.split("_")[0] for m in found.migrations if m.direction == "up"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_dependency_order_with_branches_merge_and_depends_on(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    # File names sort against the dependency order on purpose.
    write_revision(v, "z0", None)
    write_revision(v, "b1", "z0", labels=("feature",))
    write_revision(v, "a1", "z0")
    write_revision(v, "c2", ("a1", "b1"))  # merge
    write_revision(v, "d3", "c2", depends=("feature",))
    write_revision(v, "e1", None, depends=("d3",))  # second base, after d3 by depends_on
    found = source.discover(paths=[v])
    order = revisions(found)
    assert order[0] == "z0"
    assert order.index("c2") > max(order.index("a1"), order.index("b1"))
    assert order.index("e1") > order.index("d3") > order.index("c2")
    assert not found.errors
    # Each revision's downgrade is linted right after its upgrade.
    directions = [(m.path.name[:2], m.direction) for m in found.migrations]
    assert directions[:2] == [("z0", "up"), ("z0", "down")]


def test_missing_parent_and_cycles_are_input_errors(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write_revision(v, "a1", "zz")
    write_revision(v, "b1", "c1")
    write_revision(v, "c1", "b1")
    found = source.discover(paths=[v])
    messages = [e.message for e in found.errors]
    assert any("needs 'zz'" in m for m in messages)
    assert any("cycle" in m for m in messages)


def test_alembic_ini_with_here_and_version_locations(tmp_path: Path) -> None:
    write_revision(tmp_path / "db" / "migrations" / "versions", "a1", None)
    write_revision(tmp_path / "extra", "b1", "a1")
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        "[alembic]\nscript_location = %(here)s/db/migrations\n"
        "version_locations = %(here)s/db/migrations/versions %(here)s/extra\n",
        encoding="utf-8",
    )
    assert source.script_locations(ini) == [
        tmp_path.resolve() / "db" / "migrations" / "versions",
        tmp_path.resolve() / "extra",
    ]
    assert revisions(source.discover(ini)) == ["a1", "b1"]


def test_package_script_location_is_found_without_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "shopapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported!')\n", encoding="utf-8")
    write_revision(package / "migrations" / "versions", "a1", None)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    ini = tmp_path / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = shopapp:migrations\n", encoding="utf-8")
    assert source.script_locations(ini) == [package / "migrations" / "versions"]


def test_bad_ini_is_a_clear_error(tmp_path: Path) -> None:
    ini = tmp_path / "alembic.ini"
    ini.write_text("[alembic]\nsqlalchemy.url = sqlite://\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no script_location"):
        source.script_locations(ini)
    code, _, err = invoke("lint", "--alembic", str(ini))
    assert code == 2
    assert "no script_location" in err and "Traceback" not in err


def test_env_py_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "env-ran"
    migrations = tmp_path / "migrations"
    write_revision(migrations / "versions", "a1", None, 'op.drop_column("t", "c")')
    (migrations / "env.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8"
    )
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("lint")  # alembic.ini in the current directory
    assert code == 1
    assert "migrations/versions/a1_step.py:11:5: error[drop-column]" in out
    assert not marker.exists()


def test_single_files_use_their_history_and_report_only_themselves(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write_revision(v, "a1", None, 'op.create_table("t", sa.Column("c", sa.Integer()))')
    write_revision(v, "b1", "a1", 'op.drop_column("t", "old")')
    last = write_revision(v, "c1", "b1", 'op.alter_column("t", "c", type_=sa.BigInteger())')
    code, out, _ = invoke("lint", "--format", "json", str(last))
    doc = json.loads(out)
    assert code == 1
    assert {f["path"] for f in doc["findings"]} == {str(last)}
    # The type change is judged against the int4 column a1 created.
    assert "column-type-rewrite" in {f["rule"] for f in doc["findings"]}
    assert doc["summary"]["files"] == 1


def test_a_bare_versions_folder_is_recognised(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write_revision(v, "a1", None, 'op.drop_table("t")')
    (v / "helpers.py").write_text("X = 1\n", encoding="utf-8")
    assert source.looks_like_versions(v)
    assert not source.looks_like_versions(tmp_path)
    code, out, _ = invoke("lint", str(v))
    assert code == 1 and "error[drop-table]" in out


def test_unanalysed_calls_are_notes_or_under_strict_errors(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write_revision(
        v,
        "a1",
        None,
        "from myapp.sql import STATEMENT; op.execute(STATEMENT)",
    )
    code, _, err = invoke("lint", str(v))
    assert code == 0
    assert "a1_step.py:11:38: op.execute() not analysed: `STATEMENT` is set when" in err
    assert "No module named 'myapp'" in err
    code, out, _ = invoke("lint", "--strict", str(v))
    assert code == 2
    assert "op.execute() not analysed" in out


def test_a_script_with_a_syntax_error_is_reported_at_its_line(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    path = write_revision(v, "a1", None)
    path.write_text(path.read_text(encoding="utf-8") + "\ndef broken(:\n", encoding="utf-8")
    code, out, _ = invoke("lint", str(v))
    assert code == 2
    assert f"{path}:17:" in out and "syntax error" in out.lower()


def test_a_script_nested_too_deeply_is_an_input_error(tmp_path: Path) -> None:
    # Python's parser gives up with RecursionError, not SyntaxError, on 200,000 terms.
    v = tmp_path / "versions"
    path = write_revision(v, "a1", None, "x = " + "+".join(["1"] * 200_000))
    code, out, _ = invoke("lint", str(v))
    assert code == 2
    assert f"{path}:1:1: Python nested too deeply to read" in out


def test_a_project_folder_and_a_script_directory_are_recognised(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    write_revision(scripts / "versions", "a1", None, 'op.drop_table("t")')
    (scripts / "env.py").write_text("raise SystemExit('env.py ran')\n", encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\n", encoding="utf-8"
    )
    for target in (tmp_path, scripts, tmp_path / "alembic.ini"):
        code, out, _ = invoke("lint", str(target))
        assert code == 1, target
        assert "a1_step.py:11:5: error[drop-table]" in out


def test_a_named_file_that_is_no_revision_gets_a_note(tmp_path: Path) -> None:
    v = tmp_path / "versions"
    write_revision(v, "a1", None)
    helper = v / "helpers.py"
    helper.write_text("def columns():\n    return []\n", encoding="utf-8")
    code, _, err = invoke("lint", str(helper))
    assert code == 0
    assert f"note: {helper}: not an Alembic revision" in err


def test_a_named_revision_of_the_project_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-commit hook's `--alembic alembic.ini` plus the changed file, and a project
    folder plus one of its files: the versions folder is reached twice, read once."""
    v = tmp_path / "alembic" / "versions"
    write_revision(v, "001", None, 'op.create_table("t", sa.Column("c", sa.Integer()))')
    write_revision(v, "002", "001", 'op.drop_column("t", "old")')
    write_revision(v, "003", "002", 'op.alter_column("t", "c", type_=sa.BigInteger())')
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = alembic\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    named = "alembic/versions/003_step.py"
    code, out, err = invoke("lint", "--format", "json", "--alembic", "alembic.ini", named)
    assert code == 1, out + err
    doc = json.loads(out)
    assert doc["errors"] == []
    # Only the named file is reported, judged against the int4 column 001 created.
    assert {f["path"] for f in doc["findings"]} == {named}
    assert "column-type-rewrite" in {f["rule"] for f in doc["findings"]}
    code, out, err = invoke("lint", "--format", "json", ".", named)
    assert code == 1, out + err
    doc = json.loads(out)
    assert doc["errors"] == []
    assert {f["rule"] for f in doc["findings"]} >= {"drop-column", "column-type-rewrite"}


def test_diff_reports_what_discovery_could_not_read(tmp_path: Path) -> None:
    """`--diff` exits 2 on a revision with a syntax error as plain lint does, and under
    --strict on a call left unanalysed; a note alone leaves the exit to the diff."""
    v = tmp_path / "versions"
    write_revision(v, "a1", None, "from myapp.sql import S; op.execute(S)")
    code, out, err = invoke("lint", "--no-cache", "--diff", str(v))
    assert (code, out) == (0, "")
    assert "op.execute() not analysed" in err
    code, _, err = invoke("lint", "--no-cache", "--diff", "--strict", str(v))
    assert code == 2 and "not fixed: " in err and "op.execute() not analysed" in err
    broken = write_revision(v, "b1", "a1")
    broken.write_text(broken.read_text(encoding="utf-8") + "\ndef broken(:\n", encoding="utf-8")
    code, _, err = invoke("lint", "--no-cache", "--diff", str(v))
    assert code == 2
    assert f"not fixed: {broken}:17:" in err and "syntax error" in err.lower()


def test_a_named_revision_the_config_excludes_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_revision(tmp_path / "versions", "a1", None)
    write_revision(tmp_path / "versions", "b1", "a1", 'op.drop_table("t")')
    (tmp_path / "migsafe.toml").write_text('exclude = ["versions/b1_*"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("lint", "--no-cache", "versions/b1_step.py")
    assert code == 0
    assert "note: versions/b1_step.py: excluded by the config (exclude); not linted" in err
    assert "not an Alembic revision" not in err
