"""JUnit XML, for CI systems that read nothing else: one test case per migration file, a
``<failure>`` per finding and an ``<error>`` for a file that could not be linted."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from migsafe.analysis import Result
from migsafe.findings import Finding, InputError
from migsafe.report.visible import visible


def _failure(f: Finding) -> ET.Element:
    down = " (down migration)" if f.down else ""
    element = ET.Element(
        "failure",
        message=f"{f.path}:{f.span.line}:{f.span.column}: {f.rule}{down}: {f.message}",
        type=f.rule,
    )
    element.text = f"{f.severity.value}: {f.message}\nhelp: {f.help}"
    return element


def _error(e: InputError) -> ET.Element:
    element = ET.Element("error", message=str(e), type="input-error")
    element.text = str(e)
    return element


def render(result: Result) -> str:
    findings: defaultdict[str, list[Finding]] = defaultdict(list)
    for f in result.sorted_findings():
        findings[f.path].append(f)
    errors: defaultdict[str, list[InputError]] = defaultdict(list)
    for e in result.errors:
        errors[e.path].append(e)
    paths = list(dict.fromkeys([*result.files, *errors]))
    failing = sum(1 for p in paths if findings[p])
    broken = sum(1 for p in paths if errors[p])
    counts = {"tests": str(len(paths)), "failures": str(failing), "errors": str(broken)}
    root = ET.Element("testsuites", {"name": "migsafe", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "migsafe lint", **counts})
    for path in paths:
        case = ET.SubElement(suite, "testcase", classname="migsafe", name=path, file=path)
        case.extend(_error(e) for e in errors[path])
        case.extend(_failure(f) for f in findings[path])
    for element in root.iter():
        element.text = visible(element.text) if element.text else element.text
        element.attrib = {k: visible(v) for k, v in element.attrib.items()}
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
