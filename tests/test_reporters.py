"""The CI reporters (github, sarif, gitlab, junit) on real findings from the shared corpus:
SARIF validates against the official 2.1.0 schema, GitHub workflow commands survive GitHub's
escaping, GitLab fingerprints are stable and distinct, JUnit has a case per file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from corpus import CORPUS

from migsafe.cli import main
from migsafe.report import github

SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"shared migration corpus not found at {CORPUS}"
)

# Real migrations: a golang-migrate set (Go templates, fixes on single statements), the
# PostgreSQL half of authelia (up and down files), and a file PostgreSQL rejects.
AUTHELIA = CORPUS / "authelia__authelia" / "postgres"
SUPABASE = CORPUS / "supabase__auth"
BROKEN = (
    CORPUS / "apache__dolphinscheduler/upgrade/3.2.1_schema/postgresql/dolphinscheduler_ddl.sql"
)


def lint(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def findings() -> list[dict[str, object]]:
    """The same run's findings as the JSON report gives them, to compare each format with."""
    _, out = lint("--format", "json", str(SUPABASE), str(AUTHELIA), str(BROKEN))
    found: list[dict[str, object]] = json.loads(out)["findings"]
    assert len(found) > 100 and any(f["fix"] for f in found)
    assert any(f["direction"] == "down" for f in found)
    return found


def corpus_report(fmt: str) -> tuple[int, str]:
    return lint("--format", fmt, str(SUPABASE), str(AUTHELIA), str(BROKEN))


def test_sarif_validates_against_the_official_schema(findings: list[dict[str, object]]) -> None:
    import jsonschema

    code, out = corpus_report("sarif")
    assert code == 2  # the broken file
    doc = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
    (run,) = doc["runs"]
    results = run["results"]
    assert len(results) == len(findings)
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f["rule"] for f in findings})
    for r in rules:
        assert r["shortDescription"]["text"] and r["help"]["text"]
        assert r["helpUri"].endswith(f"/{r['id']}.md")
        assert "## What it does" in r["help"]["markdown"]
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    with_fix = [r for r in results if "fixes" in r]
    assert len(with_fix) == sum(1 for f in findings if f["fix"])
    change = with_fix[0]["fixes"][0]["artifactChanges"][0]
    located = with_fix[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert change["artifactLocation"]["uri"] == located
    assert change["replacements"][0]["insertedContent"]["text"]
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "syntax error" in notification["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_regions_match_the_findings(findings: list[dict[str, object]]) -> None:
    _, out = corpus_report("sarif")
    results = json.loads(out)["runs"][0]["results"]
    for res, f in zip(results, findings, strict=True):
        region = res["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (f["line"], f["column"])
        assert (region["endLine"], region["endColumn"]) == (f["end_line"], f["end_column"])
        assert res["level"] == f["severity"]


def unescape(text: str) -> str:
    return re.sub("%(25|0D|0A|3A|2C)", lambda m: bytes.fromhex(m.group(1)).decode(), text)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command read back as the runner reads it: the properties end at the first
    ``::``, split on ``,`` and the first ``=``; then every value is unescaped."""
    m = re.fullmatch(r"::(\w+) ([^:]*)::(.*)", line)
    assert m, line
    props = dict(p.split("=", 1) for p in m.group(2).split(","))
    return m.group(1), {k: unescape(v) for k, v in props.items()}, unescape(m.group(3))


def test_github_commands_round_trip_through_the_escaping(
    findings: list[dict[str, object]],
) -> None:
    code, out = corpus_report("github")
    assert code == 2
    lines = out.splitlines()
    assert all(line.startswith("::") for line in lines)
    level, props, message = parse_command(lines[0])
    assert level == "error" and props["title"] == "migsafe: cannot lint this file"
    assert props["file"] == str(BROKEN) and "syntax error" in message
    commands = [parse_command(line) for line in lines[1:]]
    assert len(commands) == len(findings)
    for (level, props, message), f in zip(commands, findings, strict=True):
        assert level == f["severity"]
        assert props["file"] == f["path"] and props["line"] == str(f["line"])
        assert props["title"].split()[0] == f["rule"]
        assert message == f"{f['message']}\nhelp: {f['help']}"
    # Real messages carry what must be escaped: template braces with quotes, colons.
    assert any(":" in m for _, _, m in commands)
    assert any("\n" in m for _, _, m in commands)


def test_github_escaping_of_every_special_character() -> None:
    tricky = "50% done\r\nnext: a,b"
    line = github.command("warning", {"file": "a:b,c%.sql", "title": "x"}, tricky)
    assert "\n" not in line and "\r" not in line
    assert line == "::warning file=a%3Ab%2Cc%25.sql,title=x::50%25 done%0D%0Anext: a,b"
    assert parse_command(line) == ("warning", {"file": "a:b,c%.sql", "title": "x"}, tricky)


def test_gitlab_fingerprints_are_stable_and_distinct(findings: list[dict[str, object]]) -> None:
    _, first = corpus_report("gitlab")
    _, second = corpus_report("gitlab")
    one, two = json.loads(first), json.loads(second)
    assert [i["fingerprint"] for i in one] == [i["fingerprint"] for i in two]
    prints = [i["fingerprint"] for i in one]
    assert len(set(prints)) == len(prints) == len(findings) + 1
    for issue in one:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert {i["check_name"] for i in one} >= {"input-error", "prefer-text"}


def test_gitlab_fingerprint_survives_lines_added_above(tmp_path: Path) -> None:
    sql = "CREATE INDEX a ON t (x);\nCREATE INDEX a ON t (x);\n"
    f = tmp_path / "0001.sql"
    f.write_text(sql, encoding="utf-8")
    _, before = lint("--format", "gitlab", str(f))
    f.write_text("-- a comment\n\n" + sql, encoding="utf-8")
    _, after = lint("--format", "gitlab", str(f))
    old, new = json.loads(before), json.loads(after)
    assert [i["fingerprint"] for i in old] == [i["fingerprint"] for i in new]
    assert [i["location"]["lines"]["begin"] for i in new] == [
        i["location"]["lines"]["begin"] + 2 for i in old
    ]
    assert len({i["fingerprint"] for i in new}) == len(new)


def test_junit_one_case_per_file_and_a_failure_per_finding(
    findings: list[dict[str, object]],
) -> None:
    _, out = corpus_report("junit")
    root = ET.fromstring(out)
    cases = root.findall("./testsuite/testcase")
    files = {str(f["path"]) for f in findings}
    assert {c.get("name") for c in cases} >= files | {str(BROKEN)}
    assert len(cases) == len({c.get("name") for c in cases})
    failures = [fl for c in cases for fl in c.findall("failure")]
    assert len(failures) == len(findings)
    assert root.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))
    (broken,) = [c for c in cases if c.get("name") == str(BROKEN)]
    assert broken.find("error") is not None and root.get("errors") == "1"


def test_gitlab_fingerprint_without_the_text_ignores_the_line() -> None:
    from migsafe.analysis import Result
    from migsafe.findings import Finding, Severity
    from migsafe.ops import Span
    from migsafe.report import gitlab

    def fingerprints(shift: int) -> list[str]:
        spans = [Span(at, at + 5, at + shift, 1, at + shift, 6) for at in (1, 2)]
        found = [Finding("r", Severity.ERROR, "a.sql", span, "m", "") for span in spans]
        return [i["fingerprint"] for i in gitlab.document(Result(findings=found), {})]

    before, after = fingerprints(0), fingerprints(2)
    assert before == after
    assert len(set(before)) == 2


CI_FORMATS = ("junit", "sarif", "gitlab", "github")


def test_characters_xml_forbids_are_carried_by_every_ci_format(tmp_path: Path) -> None:
    # A control character in a quoted identifier, and a DOS end-of-file mark (Ctrl-Z).
    (tmp_path / "001.sql").write_text('CREATE INDEX "i\x01" ON t (a);\n', encoding="utf-8")
    (tmp_path / "002.sql").write_text("SELECT 1;\n\x1a", encoding="utf-8")
    files = [str(tmp_path / "001.sql"), str(tmp_path / "002.sql")]
    reports = {fmt: lint("--no-cache", "--format", fmt, *files) for fmt in CI_FORMATS}
    assert {code for code, _ in reports.values()} == {2}
    controls = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
    for fmt, (_, out) in reports.items():
        assert not controls.search(out), fmt
    root = ET.fromstring(reports["junit"][1])
    failures = " ".join(str(fl.get("message")) + str(fl.text) for fl in root.iter("failure"))
    assert "CREATE INDEX i\\x01 has no IF NOT EXISTS" in failures
    error = root.find("./testsuite/testcase/error")
    assert error is not None and 'near "\\x1a"' in str(error.get("message")) + str(error.text)
    # JSON escapes control characters: the message keeps the character itself.
    sarif = json.loads(reports["sarif"][1])
    texts = [r["message"]["text"] for run in sarif["runs"] for r in run["results"]]
    assert any("i\x01 has no IF NOT EXISTS" in t for t in texts)
    gitlab = json.loads(reports["gitlab"][1])
    assert any("i\x01 has no IF NOT EXISTS" in issue["description"] for issue in gitlab)
    lines = reports["github"][1].splitlines()
    assert any('near "\\x1a"' in parse_command(line)[2] for line in lines)
    assert any("i\\x01 has no IF NOT EXISTS" in parse_command(line)[2] for line in lines)


def test_text_report_cannot_drive_the_terminal(tmp_path: Path) -> None:
    # An escape sequence in a quoted identifier would recolour or clear the terminal.
    (tmp_path / "001.sql").write_text('CREATE INDEX "i\x1b[2J" ON t (a);\n', encoding="utf-8")
    code, out = lint("--no-cache", "--format", "text", str(tmp_path / "001.sql"))
    assert code == 1
    assert "\x1b" not in out
    assert "i\\x1b[2J" in out


def test_output_file_gets_the_report_and_the_terminal_the_text(tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    code, out = lint("--format", "sarif", "--output", str(target), str(SUPABASE))
    assert code == 1
    assert out.rstrip().splitlines()[-1].startswith("Found ")
    assert "error[" in out
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0" and doc["runs"][0]["results"]


def test_output_to_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    code, out = lint(
        "--format", "junit", "--output", str(tmp_path / "no/such/dir/r.xml"), str(SUPABASE)
    )
    assert code == 2
    assert "cannot write" in out and "Traceback" not in out
