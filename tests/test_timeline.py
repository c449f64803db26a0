"""The release timeline page: the HTML itself (objects, renames, drops, retirements, findings,
escaping), and the page as a real browser renders it (Debian's chromium, headless): every
object of a three-release scenario is on screen, the violations are marked, and a screenshot
is kept for people to look at."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from migsafe.analysis import Analyzer, Settings
from migsafe.cli import main
from migsafe.releases import Release, entries
from migsafe.report import timeline
from migsafe.sources import Migration

VOID = {"meta", "br", "col", "link", "img", "input", "hr", "wbr"}
INLINE = {"span", "a", "b", "code", "small", "em", "strong"}


class Page(HTMLParser):
    """Text, elements with their attributes, and nesting checked as it goes: a tag closed
    out of order fails the test, so the page is well formed as well as parseable."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.chunks: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.doctype = ""
        self.feed(text)
        self.close()
        assert self.stack == [], f"unclosed: {self.stack}"

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in INLINE:
            self.chunks.append(" ")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag not in INLINE:
            self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] not in ("style", "title"):
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    def with_attr(self, name: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements if name in attrs]


def page_for(
    releases: list[tuple[str | None, list[tuple[str, str]]]],
    retired: dict[str, tuple[str, ...]] | None = None,
) -> str:
    """The page for releases given as (version or None for upcoming, [(file, sql)])."""
    table = [Release(v, tuple(Migration(Path(n), n, sql) for n, sql in ms)) for v, ms in releases]
    migrations = [m for r in table for m in r.migrations]
    result = Analyzer(Settings()).run(migrations)
    phases = entries(migrations)
    return timeline.render(timeline.records(table, phases.values(), result), retired)


def test_objects_changes_and_findings_are_drawn() -> None:
    text = page_for(
        [
            (
                "1.0.0",
                [
                    (
                        "0001_users.sql",
                        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
                        "CREATE TABLE legacy (id int);\n",
                    )
                ],
            ),
            ("1.1.0", [("0002_idx.sql", "CREATE INDEX users_email ON users (email);\n")]),
            (
                None,
                [
                    ("0003_rename.sql", "ALTER TABLE users RENAME COLUMN email TO mail;\n"),
                    ("0004_drop.sql", "DROP TABLE legacy;\n"),
                ],
            ),
        ]
    )
    page = Page(text)
    assert page.doctype.lower() == "doctype html"
    for name in ("users", "users.email → mail", "users_pkey", "users_email", "legacy"):
        assert any(a.get("data-object") == name for a in page.with_attr("data-object")), name
    assert "renamed email → mail" in page.text
    assert "dropped with table" in page.text  # legacy.id goes with its table
    assert "upcoming" in page.text
    flagged = {a["data-rule"] for a in page.with_attr("data-rule")}
    assert {"rename-column", "require-concurrent-index", "drop-table"} <= flagged
    # The rule id is in the text of the mark, not only in its colour.
    assert "⚠ rename-column" in page.text
    # No network, no script: the page stands alone.
    tags = {tag for tag, _ in page.elements}
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert "http://" not in text and "https://" not in text


def test_names_are_escaped() -> None:
    text = page_for(
        [("1.0", [("0001.sql", 'CREATE TABLE "a<b&c>" ("x<y>" int, "q""uote" text);\n')])]
    )
    assert "a<b&c>" not in text and "x<y>" not in text
    page = Page(text)
    assert "a<b&c>" in page.text
    assert "a<b&c>.x<y>" in {a["data-object"] for a in page.with_attr("data-object")}
    assert 'a<b&c>.q"uote' in {a["data-object"] for a in page.with_attr("data-object")}


def test_retired_objects_are_drawn_retired() -> None:
    text = page_for(
        [
            ("1.0.0", [("0001.sql", "CREATE TABLE t (id int, old text);\n")]),
            ("2.0.0", []),
            ("3.0.0", [("0002.sql", "ALTER TABLE t DROP COLUMN old;\n")]),
        ],
        retired={"2.0.0": ("t.old",)},
    )
    page = Page(text)
    assert "retired in 2.0.0" in page.text
    row = next(a for a in page.with_attr("data-object") if a["data-object"] == "t.old")
    assert "column" in row["class"]
    assert any("retired" in a.get("class", "").split() for a in page.with_attr("class"))


def test_no_migrations_no_objects() -> None:
    page = Page(page_for([("1.0.0", [])]))
    assert "No schema objects" in page.text
    assert "No findings" in page.text


# -- the page in a real browser ----------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def release(repo: Path, files: dict[str, str], tag: str | None) -> None:
    for name, sql in files.items():
        path = repo / "migrations" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"release {tag}")
    if tag:
        git(repo, "tag", tag)


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    """Three tagged releases: v1 adds users.email, v2 renames it in one step (rename-column
    fires), v3 drops the audit table; then untagged work."""
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    (repo / "pyproject.toml").write_text('[tool.migsafe]\nreleases = "git"\n', encoding="utf-8")
    release(
        repo,
        {
            "0001_init.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n"
            "CREATE TABLE audit (id bigint PRIMARY KEY, payload jsonb);\n",
            "0002_email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
        },
        "v1.0.0",
    )
    release(
        repo,
        {"0003_rename.sql": "ALTER TABLE users RENAME COLUMN email TO email_address;\n"},
        "v2.0.0",
    )
    release(repo, {"0004_drop_audit.sql": "DROP TABLE audit;\n"}, "v3.0.0")
    release(repo, {"0005_index.sql": "CREATE INDEX users_name ON users (name);\n"}, None)
    return repo


def render_scenario(repo: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    got = CliRunner().invoke(main, ["releases", "migrations", "--format", "html", "-o", str(out)])
    assert got.exit_code == 0, got.output
    assert got.output == ""


def test_cli_writes_the_page(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "timeline.html"
    render_scenario(scenario, out, monkeypatch)
    page = Page(out.read_text(encoding="utf-8"))
    # The header row of the drawing: the object column, three releases, upcoming last.
    until = next(i for i, (_, a) in enumerate(page.elements) if a.get("class") == "migrations")
    heads = [a for tag, a in page.elements[:until] if tag == "th" and a.get("scope") == "col"]
    assert len(heads) == 5 and heads[-1].get("class") == "upcoming"
    assert "1.0.0 2 migrations" in page.text and "upcoming not released yet" in page.text
    assert "rename-column" in {a["data-rule"] for a in page.with_attr("data-rule")}


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip(
            "chromium is not installed: .ci/run installs Debian's chromium when it runs as "
            "root with apt-get (apt-get install -y chromium); without it this browser test "
            "cannot run"
        )
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_page_in_a_real_browser(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "timeline.html"
    render_scenario(scenario, out, monkeypatch)

    dumped = chromium(tmp_path, "--dump-dom", out.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    page = Page(dumped.stdout)
    objects = {a["data-object"] for a in page.with_attr("data-object")}
    for name in (
        "users",
        "users.id",
        "users.name",
        "users_pkey",
        "users.email → email_address",
        "audit",
        "audit.id",
        "audit.payload",
        "audit_pkey",
        "users_name",
    ):
        assert name in objects, name
        assert name in page.text, name
    marked = [a for a in page.with_attr("data-rules") if "rename-column" in a["data-rules"]]
    assert marked and all("violation" in a["class"] for a in marked)
    assert "⚠ rename-column" in page.text and "drop-table" in page.text
    assert "renamed email → email_address" in page.text and "dropped" in page.text
    assert any(a.get("id", "").startswith("finding-") for a in page.with_attr("id"))

    shot = tmp_path / "timeline.png"
    taken = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,900", out.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000, "a blank page, not a drawing"
    kept = Path(tempfile.gettempdir()) / "migsafe-test-artifacts" / "timeline.png"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, kept)
    print(f"timeline screenshot: {shot} (copy: {kept})")
