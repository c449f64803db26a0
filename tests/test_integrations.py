"""The deployer manifests under integrations/: Argo Rollouts and Flagger kinds validate
against the real CRD schemas in ../shared/schemas, strictly (a misspelt field is an error,
as with kubectl's strict field validation, not silently pruned); core Kubernetes kinds
parse with the official Python client's models and survive the round trip unchanged; and
`migsafe lint-deploy` finds no way past the gate in any of them."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft7Validator
from kubernetes.client import ApiClient

from migsafe.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"
# The folders issue 7 ships; integrations/github and gitlab are validated by their own tests.
OWNED = ("argo-rollouts", "flagger", "helm", "kubernetes")
MANIFESTS = sorted(p for d in OWNED for p in (ROOT / "integrations" / d).rglob("*.yaml"))
# Files that hold chart values, not Kubernetes objects.
NOT_OBJECTS = {ROOT / "integrations" / "helm" / "values.yaml"}
CORE_MODELS = {
    ("apps/v1", "Deployment"): "V1Deployment",
    ("v1", "Service"): "V1Service",
    ("batch/v1", "Job"): "V1Job",
}

needs_schemas = pytest.mark.skipif(
    not SCHEMAS.is_dir(),
    reason=f"the CRD schemas are not here ({SCHEMAS}): ../shared is absent in this checkout",
)


def documents() -> Iterator[tuple[Path, int, dict[str, Any]]]:
    for path in MANIFESTS:
        if path in NOT_OBJECTS:
            continue
        for i, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if doc is not None:
                yield path, i, doc


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields refused wherever it lists the fields an object may
    have and does not keep unknown ones (``x-kubernetes-preserve-unknown-fields``)."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    # metadata is `type: object` in a CRD: the API server checks it, not the CRD.
    return schema


def crd_validators() -> dict[tuple[str, str], Draft7Validator]:
    """(apiVersion, kind) → a validator, for every served version of every CRD."""
    found: dict[tuple[str, str], Draft7Validator] = {}
    for path in sorted(SCHEMAS.glob("*-crd.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    schema = strict(version["schema"]["openAPIV3Schema"])
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    found[key] = Draft7Validator(schema)
    return found


@pytest.fixture(scope="module")
def validators() -> dict[tuple[str, str], Draft7Validator]:
    return crd_validators()


def errors(validator: Draft7Validator, doc: dict[str, Any]) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def test_there_are_manifests_of_each_kind() -> None:
    kinds = {(d["apiVersion"], d["kind"]) for _, _, d in documents()}
    assert kinds == {
        ("argoproj.io/v1alpha1", "AnalysisTemplate"),
        ("argoproj.io/v1alpha1", "Rollout"),
        ("flagger.app/v1beta1", "Canary"),
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("batch/v1", "Job"),
    }


@needs_schemas
@pytest.mark.parametrize(
    ("path", "index", "doc"),
    [pytest.param(p, i, d, id=f"{p.relative_to(ROOT)}#{i}") for p, i, d in documents()],
)
def test_every_manifest_validates(
    path: Path,
    index: int,
    doc: dict[str, Any],
    validators: dict[tuple[str, str], Draft7Validator],
) -> None:
    key = (doc["apiVersion"], doc["kind"])
    if key in CORE_MODELS:
        assert_round_trip(doc, CORE_MODELS[key])
        return
    assert key in validators, f"no CRD schema for {key}"
    assert errors(validators[key], doc) == []
    # The pod templates inside Argo objects are core Kubernetes too.
    if doc["kind"] == "Rollout":
        assert_round_trip(doc["spec"]["template"], "V1PodTemplateSpec")
    for metric in doc["spec"].get("metrics", []):
        job = metric["provider"].get("job")
        if job:
            assert_round_trip(job["spec"], "V1JobSpec")


def assert_round_trip(data: dict[str, Any], model: str) -> None:
    """Parsed with the client's model and written back, nothing is lost: every field is one
    the model knows, under its right name and type."""
    client = ApiClient()
    parsed = client._ApiClient__deserialize(copy.deepcopy(data), model)  # type: ignore[attr-defined]
    assert type(parsed).__name__ == model
    assert client.sanitize_for_serialization(parsed) == data


@needs_schemas
def test_strict_validation_catches_a_misspelt_field(
    validators: dict[tuple[str, str], Draft7Validator],
) -> None:
    path = ROOT / "integrations" / "argo-rollouts" / "analysis-template.yaml"
    template = next(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    metric = template["spec"]["metrics"][0]
    metric["failurLimit"] = metric.pop("failureLimit")
    found = errors(validators[("argoproj.io/v1alpha1", "AnalysisTemplate")], template)
    assert any("failurLimit" in e for e in found), found
    canary = next(d for _, _, d in documents() if d["kind"] == "Canary")
    canary = copy.deepcopy(canary)
    canary["spec"]["analysis"]["webhooks"][0]["type"] = "confirm-rolout"
    found = errors(validators[("flagger.app/v1beta1", "Canary")], canary)
    assert any("confirm-rolout" in e for e in found), found


def test_core_models_catch_a_misplaced_field() -> None:
    deployment = next(d for _, _, d in documents() if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(AssertionError):
        assert_round_trip(broken, "V1Deployment")


def test_the_argo_gate_reads_the_decision_and_pauses_on_inconclusive() -> None:
    path = ROOT / "integrations" / "argo-rollouts" / "analysis-template.yaml"
    for template in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        (metric,) = template["spec"]["metrics"]
        assert metric["provider"]["web"]["jsonPath"] == "{$.decision}"
        assert "/v1/gate?release={{args.release}}" in metric["provider"]["web"]["url"]
        assert (metric["successCondition"], metric["failureCondition"]) == (
            'result == "pass"',
            'result == "fail"',
        )
        assert (metric["failureLimit"], metric["inconclusiveLimit"]) == (0, 0)


def test_the_canary_asks_the_gate_before_any_traffic() -> None:
    rollout = yaml.safe_load(
        (ROOT / "integrations" / "argo-rollouts" / "rollout-canary.yaml").read_text()
    )
    canary = rollout["spec"]["strategy"]["canary"]
    steps = canary["steps"]
    assert steps[0]["analysis"]["templates"] == [{"templateName": "migsafe-gate"}]
    assert any("setWeight" in s for s in steps)
    assert canary["analysis"]["templates"] == [{"templateName": "migsafe-gate-background"}]
    bluegreen = yaml.safe_load(
        (ROOT / "integrations" / "argo-rollouts" / "rollout-bluegreen.yaml").read_text()
    )["spec"]["strategy"]["blueGreen"]
    for when in ("prePromotionAnalysis", "postPromotionAnalysis"):
        assert bluegreen[when]["templates"] == [{"templateName": "migsafe-gate"}]


def test_flagger_webhooks_call_the_hook_of_their_own_type() -> None:
    canary = yaml.safe_load((ROOT / "integrations" / "flagger" / "canary.yaml").read_text())
    hooks = canary["spec"]["analysis"]["webhooks"]
    assert {h["type"] for h in hooks} == {
        "confirm-rollout",
        "pre-rollout",
        "confirm-traffic-increase",
        "confirm-promotion",
        "rollback",
    }
    for hook in hooks:
        assert hook["url"].endswith(f"/v1/flagger/{hook['type']}")
        assert hook["metadata"]["release"] == "2.0.0"


def test_helm_hooks_run_before_upgrade_and_rollback() -> None:
    jobs = {
        d["metadata"]["annotations"]["helm.sh/hook"]: d
        for p, _, d in documents()
        if "helm" in p.parts and d["kind"] == "Job"
    }
    assert set(jobs) == {"pre-upgrade", "pre-rollback"}
    gate = jobs["pre-upgrade"]["spec"]["template"]["spec"]["containers"][0]
    check = jobs["pre-rollback"]["spec"]["template"]["spec"]["containers"][0]
    assert gate["args"][:2] == ["gate", "--release"]
    assert check["args"][:2] == ["check", "--against"]
    # Both run the chart's own release: the image and the version checked are one value.
    release = "{{ .Values.image.tag | default .Chart.AppVersion }}"
    for container in (gate, check):
        assert container["image"].endswith(":" + release)
        assert container["args"][2] == release
        # The database URL reaches migsafe through the environment, not the process list.
        assert not any("DATABASE_URL" in a or "--database-url" in a for a in container["args"])
        env = {e["name"]: e for e in container["env"]}
        assert env["MIGSAFE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "url"


def test_serve_manifest_probes_health_and_passes_secrets_by_reference() -> None:
    deployment = next(
        d for p, _, d in documents() if d["kind"] == "Deployment" and "kubernetes" in p.parts
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e for e in container["env"]}
    assert set(env) == {"MIGSAFE_DATABASE_URL", "MIGSAFE_SERVE_TOKEN"}
    assert all("secretKeyRef" in e["valueFrom"] for e in env.values())
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_dockerfile_is_slim_non_root_and_installs_the_serve_extra() -> None:
    text = (ROOT / "integrations" / "docker" / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["python:3.11-slim", "python:3.11-slim"]
    (user,) = re.findall(r"^USER (\S+)", text, re.M)
    assert user.split(":")[0] not in ("0", "root")
    assert '"migsafe[serve]"' in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^serve = \[", pyproject, re.M)
    # Every path the build copies exists, so the build context is the repository root.
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for name in source.split():
            assert (ROOT / name).exists(), name


# -- lint-deploy -----------------------------------------------------------------------------


def lint_deploy(*paths: Path) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["lint-deploy", *map(str, paths)])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, done.output


def test_lint_deploy_passes_every_shipped_manifest() -> None:
    code, out = lint_deploy(*MANIFESTS)
    assert (code, out.strip()) == (0, f"No gate bypass found ({len(MANIFESTS)} files).")


def test_lint_deploy_flags_each_bypass_where_it_is() -> None:
    path = ROOT / "tests" / "deploy" / "bypass.yaml"
    code, out = lint_deploy(path)
    assert code == 1
    found = re.findall(
        rf"^{re.escape(str(path))}:(\d+):(\d+): (error|warning)\[(\S+)\] ", out, re.M
    )
    assert [(int(line), int(col), rule) for line, col, _, rule in found] == [
        (7, 3, "revision-history-zero"),
        (8, 3, "rollback-window"),
        (24, 11, "analysis-after-weight"),
        (48, 7, "no-analysis"),
        (69, 5, "no-analysis"),
        (71, 7, "auto-promotion"),
        (80, 7, "gate-tolerance"),
        (81, 25, "gate-condition"),
        (92, 3, "skip-analysis"),
        (99, 3, "missing-webhook"),
        (99, 3, "missing-webhook"),
        (105, 14, "webhook-mismatch"),
        (108, 9, "webhook-release"),
        (117, 3, "revision-history-zero"),
    ]
    assert {severity for *_, severity, rule in found if rule == "revision-history-zero"} == {
        "warning"
    }
    assert f"{path}:24:11: error[analysis-after-weight] setWeight comes before" in out
    # Compiler style: the line, the node underlined, what to do.
    assert "24 |         - setWeight: 20\n   |           ^^^^^^^^^^^^^\n" in out
    assert "= help: move the migsafe-gate analysis step before the first setWeight" in out
    assert "no migsafe confirm-promotion webhook" in out
    assert "no migsafe rollback webhook" in out
    assert out.rstrip().endswith("Found 14 ways past the gate in 1 file.")
    assert lint_deploy(path, Path("--exit-zero"))[0] == 0


def test_lint_deploy_reports_unreadable_files_with_their_place(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Rollout\nspec:\n  steps: [a, b\n")
    code, out = lint_deploy(broken, tmp_path / "missing.yaml")
    assert code == 2
    assert re.search(rf"{re.escape(str(broken))}:4:1: not valid YAML", out), out
    assert f"{tmp_path / 'missing.yaml'}: cannot read" in out
    assert "Traceback" not in out


LATE_GATE = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  strategy:
    canary:
      steps:
        - analysis:
            templates:
              - templateName: error-rate
        - setWeight: 10
        - analysis:
            templates:
              - templateName: migsafe-gate
            dryRun:
              - metricName: schema-gate
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop-dry-elsewhere
spec:
  strategy:
    canary:
      steps:
        - analysis:
            templates:
              - templateName: migsafe-gate
              - templateName: error-rate
            dryRun:
              - metricName: error-rate
        - setWeight: 10
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: gate-as-job
spec:
  dryRun:
    - metricName: ".*"
  metrics:
    - name: schema
      provider:
        job:
          spec:
            template:
              spec:
                containers:
                  - name: gate
                    image: registry.example.com/migsafe:0.1.0
                    args: ["gate", "--release", "2.0.0"]
"""


def test_lint_deploy_wants_the_gate_itself_before_traffic_and_not_in_dry_run() -> None:
    """An error-rate analysis first does not count as the gate; dryRun on the gate metric,
    in a step or in the template, is a bypass; dryRun on another metric is not."""
    from migsafe.deploy_lint import check_text

    found = [(b.line, b.column, b.rule) for b in check_text(LATE_GATE, "late.yaml")]
    assert found == [
        (12, 11, "analysis-after-weight"),
        (17, 17, "gate-dry-run"),
        (41, 7, "gate-dry-run"),
    ]
