"""``migsafe lint-deploy``: deployer manifests that would let a release past the schema gate.

The gate only protects a deploy that asks it. Argo Rollouts and Flagger each have settings
that skip their analysis (a rollback window, a promotion timer, ``skipAnalysis``), orders
that send traffic before asking (a ``setWeight`` before the analysis step), conditions
that read "inconclusive" as a pass, and webhook wiring where a hook's meaning is inverted
(Flagger reads a 200 from a ``rollback`` hook as "roll back now"). Each of these is a
finding at the YAML node that causes it.

Manifests are read with PyYAML's composer, which keeps every node's line and column, so
findings point at the key to change. Each rule is registered once in :data:`RULES` (id,
severity, summary, help) and has a page ``rules/<id>.md`` that ``migsafe explain`` prints;
its ids share that folder with the lint rules', so none may equal a lint rule's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migsafe.findings import Severity

if TYPE_CHECKING:
    from yaml import Node

# Flagger hooks migsafe serve answers, and which of them must be wired so that no traffic
# and no promotion happens without a "pass".
FLAGGER_PATH = "/v1/flagger/"
BEFORE_TRAFFIC = ("confirm-rollout", "pre-rollout")
BEFORE_PROMOTION = ("confirm-promotion",)
GATE_PATH = "/v1/gate"
TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")


@dataclass(frozen=True, slots=True)
class DeployRule:
    """A lint-deploy rule: its id, how bad a finding is, one line on what it flags, and
    the usual fix (a finding may give a more precise one)."""

    id: str
    severity: Severity
    summary: str
    help: str


_ERROR, _WARNING = Severity.ERROR, Severity.WARNING
RULES: dict[str, DeployRule] = {
    r.id: r
    for r in (
        DeployRule(
            "rollback-window",
            _ERROR,
            "an Argo Rollout's rollbackWindow skips the steps and analysis of a rollback",
            "remove rollbackWindow and roll back with `migsafe rollback`, which checks the "
            "live schema against the target release first",
        ),
        DeployRule(
            "auto-promotion",
            _ERROR,
            "a blueGreen autoPromotionSeconds promotes on a timer, not on the gate's answer",
            "remove autoPromotionSeconds and gate promotion with prePromotionAnalysis "
            "using the migsafe-gate template",
        ),
        DeployRule(
            "analysis-after-weight",
            _ERROR,
            "a canary's setWeight sends traffic before the analysis step that asks the gate",
            "move the migsafe-gate analysis step before the first setWeight",
        ),
        DeployRule(
            "no-analysis",
            _ERROR,
            "a canary or blueGreen strategy never asks the gate before traffic or promotion",
            "make an analysis step with the migsafe-gate template the first step",
        ),
        DeployRule(
            "revision-history-zero",
            _WARNING,
            "revisionHistoryLimit: 0 leaves no revision to roll back to",
            "keep a few revisions (the default is 10)",
        ),
        DeployRule(
            "gate-condition",
            _ERROR,
            'a gate metric succeeds on something other than result == "pass"',
            'set successCondition: result == "pass" and failureCondition: result == "fail"',
        ),
        DeployRule(
            "gate-tolerance",
            _ERROR,
            "a gate metric's failureLimit or inconclusiveLimit lets a no through",
            "set failureLimit: 0 and inconclusiveLimit: 0",
        ),
        DeployRule(
            "gate-dry-run",
            _ERROR,
            "dryRun covers the gate metric: its answer is recorded, never acted on",
            "remove the gate metric from dryRun",
        ),
        DeployRule(
            "skip-analysis",
            _ERROR,
            "a Flagger Canary's skipAnalysis: true promotes without asking the gate",
            "remove skipAnalysis",
        ),
        DeployRule(
            "missing-webhook",
            _ERROR,
            "a Flagger Canary lacks a migsafe webhook before traffic, before promotion or "
            "for rollback",
            "add the missing webhook with url http://<migsafe serve>/v1/flagger/<type>",
        ),
        DeployRule(
            "webhook-mismatch",
            _ERROR,
            "a Flagger webhook calls migsafe's hook of another type, whose answer means "
            "something else",
            "point each webhook at /v1/flagger/<its type>",
        ),
        DeployRule(
            "webhook-release",
            _ERROR,
            "a migsafe Flagger webhook sends no metadata.release",
            "add metadata.release with the version being rolled out",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Bypass:
    """One way a manifest gets past the gate: where (1-based line and column of the node),
    which rule, what happens, and what to write instead."""

    path: str
    line: int
    column: int
    width: int
    rule: str
    message: str
    help: str

    @property
    def severity(self) -> Severity:
        return RULES[self.rule].severity

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        return f"{where}: {self.severity.value}[{self.rule}] {self.message}"


class ManifestError(Exception):
    """A file that cannot be read as YAML: the message starts with ``path:line:col:``."""


def _get(node: Node, key: str) -> tuple[Node, Node] | None:
    """The (key node, value node) pair of ``key`` in a mapping node, None when absent."""
    from yaml import MappingNode

    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if getattr(k, "value", None) == key:
            return k, v
    return None


def _value(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        if node is None:
            return None
        pair = _get(node, key)
        node = pair[1] if pair else None
    return node


def _scalar(node: Node | None) -> str | None:
    from yaml import ScalarNode

    return node.value if isinstance(node, ScalarNode) else None


def _items(node: Node | None) -> list[Node]:
    from yaml import SequenceNode

    return list(node.value) if isinstance(node, SequenceNode) else []


def _gate_metrics(template: Node) -> list[Node]:
    """The metrics of an AnalysisTemplate that ask migsafe's gate: a web provider calling
    ``/v1/gate``, or a job whose container runs ``migsafe gate``."""
    found = []
    for metric in _items(_value(template, "spec", "metrics")):
        url = _scalar(_value(metric, "provider", "web", "url")) or ""
        pod = _value(metric, "provider", "job", "spec", "template", "spec")
        if GATE_PATH in url or any(_runs_gate(c) for c in _items(_value(pod, "containers"))):
            found.append(metric)
    return found


def _runs_gate(container: Node) -> bool:
    words = [_scalar(w) or "" for w in _items(_value(container, "command"))]
    words += [_scalar(w) or "" for w in _items(_value(container, "args"))]
    image = _scalar(_value(container, "image")) or ""
    return "gate" in words and ("migsafe" in image or any("migsafe" in w for w in words))


class _Checker:
    def __init__(self, path: str, gate_templates: set[str], gate_metrics: set[str]) -> None:
        self.path = path
        self.found: list[Bypass] = []
        # AnalysisTemplates that ask the gate, by name (those in the files read, and
        # migsafe's own, whose names start with "migsafe"), and the names of their metrics
        self.gate_templates = gate_templates
        self.gate_metrics = gate_metrics

    def asks_gate(self, analysis: Node | None) -> bool:
        names = [
            _scalar(_value(t, "templateName")) or "" for t in _items(_value(analysis, "templates"))
        ]
        return any(n in self.gate_templates or n.startswith("migsafe") for n in names)

    def dry_run(self, owner: Node | None) -> None:
        """A ``dryRun`` entry covering a gate metric: its result is recorded, never acted on."""
        for entry in _items(_value(owner, "dryRun")):
            pattern = _scalar(_value(entry, "metricName")) or ""
            if any(_matches(pattern, m) for m in self.gate_metrics):
                self.add(
                    entry,
                    "gate-dry-run",
                    f"dryRun on metric {pattern!r} covers the schema gate: its answer is "
                    "recorded but never stops the rollout",
                )

    def add(self, node: Node, rule: str, message: str, help: str | None = None) -> None:
        """A finding of ``rule`` (a key of :data:`RULES`) at ``node``; ``help`` when the
        fix is more precise than the rule's own."""
        start, end = node.start_mark, node.end_mark
        width = end.column - start.column if end.line == start.line else 0
        fix = help if help is not None else RULES[rule].help
        self.found.append(
            Bypass(self.path, start.line + 1, start.column + 1, width, rule, message, fix)
        )

    # -- Argo Rollouts -------------------------------------------------------------------------

    def rollout(self, doc: Node) -> None:
        spec = _value(doc, "spec")
        if spec is None:
            return
        self.revision_history(spec)
        window = _get(spec, "rollbackWindow")
        if window:
            self.add(
                window[0],
                "rollback-window",
                "rollbackWindow fast-tracks a rollback to a recent revision: its steps and "
                "analysis are skipped, so nothing checks that the older release still fits "
                "the schema",
            )
        canary = _value(spec, "strategy", "canary")
        if canary is not None:
            self.canary_steps(canary)
        strategy = _value(spec, "strategy")
        blue_green = _get(strategy, "blueGreen") if strategy is not None else None
        if blue_green is not None:
            self.blue_green(*blue_green)

    def revision_history(self, spec: Node) -> None:
        limit = _get(spec, "revisionHistoryLimit")
        if limit and _scalar(limit[1]) == "0":
            self.add(
                limit[0],
                "revision-history-zero",
                "revisionHistoryLimit: 0 keeps no older ReplicaSet, so there is no revision "
                "to roll back to and no history to tell which release ran before",
            )

    def canary_steps(self, canary: Node) -> None:
        steps = _items(_value(canary, "steps"))
        for owner in [_value(canary, "analysis"), *(_value(st, "analysis") for st in steps)]:
            if owner is not None and self.asks_gate(owner):
                self.dry_run(owner)
        first_weight = next((s for s in steps if _get(s, "setWeight")), None)
        first_analysis = next((s for s in steps if self.asks_gate(_value(s, "analysis"))), None)
        if first_weight is None:
            return
        if first_analysis is None:
            steps_key = _get(canary, "steps")
            assert steps_key is not None
            self.add(
                steps_key[0],
                "no-analysis",
                "no analysis step asks the schema gate before traffic: the new release gets "
                "its first requests without the gate being asked (background analysis does "
                "not hold a step)",
            )
        elif steps.index(first_analysis) > steps.index(first_weight):
            self.add(
                first_weight,
                "analysis-after-weight",
                "setWeight comes before the first analysis step that asks the schema gate: "
                "traffic reaches the new release before the gate answers",
            )

    def blue_green(self, key: Node, blue_green: Node) -> None:
        timer = _get(blue_green, "autoPromotionSeconds")
        if timer:
            self.add(
                timer[0],
                "auto-promotion",
                "autoPromotionSeconds promotes the preview on a timer instead of on an "
                "answer from the schema gate",
            )
        for when in ("prePromotionAnalysis", "postPromotionAnalysis"):
            owner = _value(blue_green, when)
            if owner is not None and self.asks_gate(owner):
                self.dry_run(owner)
        if _get(blue_green, "prePromotionAnalysis") is None:
            self.add(
                key,
                "no-analysis",
                "blueGreen has no prePromotionAnalysis: the preview is promoted without "
                "asking the schema gate",
                "add prePromotionAnalysis with the migsafe-gate template",
            )

    def analysis_template(self, doc: Node) -> None:
        if _gate_metrics(doc):
            self.dry_run(_value(doc, "spec"))
        for metric in _gate_metrics(doc):
            url = _scalar(_value(metric, "provider", "web", "url")) or ""
            if GATE_PATH not in url:
                continue
            success = _get(metric, "successCondition")
            if success is None or _normal(_scalar(success[1])) != 'result=="pass"':
                self.add(
                    success[1] if success else metric,
                    "gate-condition",
                    'the gate metric does not succeed on exactly result == "pass": an '
                    "inconclusive or failed answer could count as success",
                )
            for limit in ("failureLimit", "inconclusiveLimit"):
                pair = _get(metric, limit)
                if pair and _scalar(pair[1]) not in ("0", None):
                    self.add(
                        pair[0],
                        "gate-tolerance",
                        f"{limit}: {_scalar(pair[1])} lets the rollout go on after the gate "
                        "said fail or could not decide",
                        f"set {limit}: 0",
                    )

    # -- Flagger -------------------------------------------------------------------------------

    def flagger_canary(self, doc: Node) -> None:
        spec = _value(doc, "spec")
        if spec is None:
            return
        skip = _get(spec, "skipAnalysis")
        if skip and _scalar(skip[1]) in ("true", "True", "yes"):
            self.add(
                skip[0],
                "skip-analysis",
                "skipAnalysis: true promotes the canary without running its analysis or "
                "webhooks, the schema gate included",
            )
        hooks = _items(_value(spec, "analysis", "webhooks"))
        wired: set[str] = set()
        for hook in hooks:
            url = _scalar(_value(hook, "url")) or ""
            if FLAGGER_PATH not in url:
                continue
            kind = _scalar(_value(hook, "type")) or "rollout"
            answered = url.split(FLAGGER_PATH, 1)[1].split("?", 1)[0].strip("/")
            url_node = _value(hook, "url")
            assert url_node is not None
            if answered == kind:
                wired.add(kind)
            else:
                self.add(
                    url_node,
                    "webhook-mismatch",
                    f"a {kind} webhook calls migsafe's {answered} hook, whose answer means "
                    "something else there (a rollback hook answers 200 when the schema is "
                    "unsafe)",
                    f"point it at {FLAGGER_PATH}{kind}",
                )
            if not _scalar(_value(hook, "metadata", "release")):
                self.add(
                    hook,
                    "webhook-release",
                    "the migsafe webhook sends no metadata.release, so the gate cannot tell "
                    "which release to check and holds every step",
                )
        where = _get(spec, "analysis")
        anchor = where[0] if where else doc
        for needed, what in (
            (BEFORE_TRAFFIC, "before traffic reaches the canary"),
            (BEFORE_PROMOTION, "before promotion"),
            (("rollback",), "to roll back when the schema turns unsafe for the canary"),
        ):
            if not wired.intersection(needed):
                self.add(
                    anchor,
                    "missing-webhook",
                    f"no migsafe {' or '.join(needed)} webhook: the schema gate is not asked "
                    f"{what}",
                    f"add a webhook of type {needed[0]} with url "
                    f"http://<migsafe serve>{FLAGGER_PATH}{needed[0]}",
                )

    def deployment(self, doc: Node) -> None:
        spec = _value(doc, "spec")
        if spec is not None:
            self.revision_history(spec)


def _matches(pattern: str, name: str) -> bool:
    """Whether a dryRun ``metricName`` covers ``name``: Argo Rollouts reads it as a regular
    expression (``.*`` for every metric)."""
    import re

    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return pattern == name


def _normal(text: str | None) -> str:
    return "".join((text or "").split()).replace("'", '"')


def check_text(text: str, path: str) -> list[Bypass]:
    """Every bypass in the YAML documents of ``text``; kinds other than Rollout,
    AnalysisTemplate, ClusterAnalysisTemplate, Canary and Deployment are passed over."""
    import yaml

    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise ManifestError(f"{where}: not valid YAML: {exc.problem or exc}") from None
    templates, metrics = set(), {"schema-gate"}  # the shipped templates' metric
    for doc in docs:
        if doc is not None and _scalar(_value(doc, "kind")) in TEMPLATE_KINDS:
            asking = _gate_metrics(doc)
            if asking:
                templates.add(_scalar(_value(doc, "metadata", "name")) or "")
                metrics.update(_scalar(_value(m, "name")) or "" for m in asking)
    checker = _Checker(path, templates, metrics)
    for doc in docs:
        if doc is None:
            continue
        api = _scalar(_value(doc, "apiVersion")) or ""
        kind = _scalar(_value(doc, "kind"))
        if api.startswith("argoproj.io/") and kind == "Rollout":
            checker.rollout(doc)
        elif api.startswith("argoproj.io/") and kind in TEMPLATE_KINDS:
            checker.analysis_template(doc)
        elif api.startswith("flagger.app/") and kind == "Canary":
            checker.flagger_canary(doc)
        elif kind == "Deployment":
            checker.deployment(doc)
    return sorted(checker.found, key=lambda b: (b.line, b.column, b.rule))


def read(path: Path) -> str:
    """The manifest's text; :class:`ManifestError` when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        detail = getattr(exc, "strerror", None) or exc
        raise ManifestError(f"{path}: cannot read: {detail}") from None


def render(found: list[Bypass], texts: dict[str, str]) -> str:
    """Compiler style: location, rule and message, the line with the node underlined, help."""
    lines: list[str] = []
    for b in found:
        lines.append(str(b))
        source = texts.get(b.path, "").splitlines()
        gutter = " " * len(str(b.line))
        if 0 < b.line <= len(source):
            text = source[b.line - 1]
            # A node spanning lines (a mapping) is underlined to the end of its first line.
            width = b.width or len(text.rstrip()) - (b.column - 1)
            lines.append(f"{gutter} |")
            lines.append(f"{b.line} | {text}")
            lines.append(f"{gutter} | {' ' * (b.column - 1)}{'^' * max(width, 1)}")
        lines.append(f"{gutter} = help: {b.help}")
        lines.append("")
    return "\n".join(lines)
