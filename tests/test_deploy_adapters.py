"""The kubectl, argo, helm and command adapters: the exact argument lists they run, and
their reading of the tools' real JSON output (recorded under tests/data/deploy/), replayed
by a stand-in executable run as a real subprocess."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from migsafe.deploy import Options, make
from migsafe.deploy.base import Revision
from migsafe.deploy.command import Command
from migsafe.deploy.haproxy import HAProxy, parse_servers_state
from migsafe.deploy.helm import Helm
from migsafe.deploy.kubectl import Argo, Kubectl, release_of
from migsafe.deploy.run import DeployError, DeployTimeout, Runner, redact, redact_argv

DATA = Path(__file__).parent / "data" / "deploy"
Rule = dict[str, object]
Tool = Callable[[str, list[Rule]], str]

K = ["--context", "prod", "--namespace", "shop"]


@pytest.fixture
def tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tool:
    """``tool(name, rules)``: the path of a stand-in ``name`` answering ``rules``."""
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_LOG", str(log))

    def make_tool(name: str, rules: list[Rule]) -> str:
        (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
        monkeypatch.setenv("FAKE_RULES", str(tmp_path / "rules.json"))
        path = tmp_path / name
        path.write_text(
            f'#!/bin/sh\nexec "{sys.executable}" "{DATA / "fake_tool.py"}" "$@"\n',
            encoding="utf-8",
        )
        path.chmod(0o755)
        return str(path)

    return make_tool


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


KUBECTL_READ: list[Rule] = [
    {"argv": [*K, "get", "deployment/web", "--output", "json"],
     "stdout": "kubectl-get-deployment.json"},
    {"argv": [*K, "get", "replicasets", "--selector", "app=web", "--output", "json"],
     "stdout": "kubectl-get-replicasets.json"},
]  # fmt: skip


def kubectl(path: str, timeout: float = 60) -> Kubectl:
    return Kubectl(
        "web", Runner(timeout), namespace="shop", context="prod", container="web", binary=path
    )


def test_kubectl_history_from_replicasets(tool: Tool, tmp_path: Path) -> None:
    deployer = kubectl(tool("kubectl", KUBECTL_READ))
    assert deployer.current() == "2.0.0"
    # Revision 1 has no annotation: its release is the image tag. The canary Deployment's
    # ReplicaSet shares the labels but not the owner, so it is not history.
    assert deployer.history() == [
        Revision("1.9.0", "1"),
        Revision("1.9.1", "2"),
        Revision("2.0.0", "3", current=True),
    ]
    assert calls(tmp_path) == [
        KUBECTL_READ[0]["argv"],
        KUBECTL_READ[0]["argv"],
        KUBECTL_READ[1]["argv"],
    ]


def test_kubectl_undo_and_wait_run_these_commands(tool: Tool, tmp_path: Path) -> None:
    undo = [*K, "rollout", "undo", "deployment/web", "--to-revision=2"]
    wait = [*K, "rollout", "status", "deployment/web", "--timeout=60s"]
    deployer = kubectl(tool("kubectl", [*KUBECTL_READ, {"argv": undo}, {"argv": wait}]))
    deployer.undo("1.9.1")
    deployer.wait()
    assert calls(tmp_path)[-2:] == [undo, wait]
    assert [r.argv[1:] for r in deployer.records][-2:] == [tuple(undo), tuple(wait)]
    with pytest.raises(DeployError, match=r"no earlier revision running release 0\.1\.0"):
        deployer.undo("0.1.0")


def test_kubectl_failure_mid_undo_is_reported_with_its_output(tool: Tool, tmp_path: Path) -> None:
    undo = [*K, "rollout", "undo", "deployment/web", "--to-revision=1"]
    forbidden = (
        'Error from server (Forbidden): deployments.apps "web" is forbidden: User '
        '"system:serviceaccount:shop:deployer" cannot patch resource "deployments"\n'
    )
    deployer = kubectl(tool("kubectl", [*KUBECTL_READ, {"argv": undo, "stderr": forbidden,
                                                        "exit": 1}]))  # fmt: skip
    with pytest.raises(DeployError, match=r"failed with exit code 1: Error from server \(Forb"):
        deployer.undo("1.9.0")
    assert deployer.records[-1].exit_code == 1
    assert "cannot patch" in deployer.records[-1].stderr


ARGO_READ: list[Rule] = [
    {"argv": ["--namespace", "shop", "get", "rollouts.argoproj.io/web", "--output", "json"],
     "stdout": "argo-get-rollout.json"},
    {"argv": ["--namespace", "shop", "get", "replicasets", "--selector", "app=web",
              "--output", "json"],
     "stdout": "argo-get-replicasets.json"},
]  # fmt: skip


def test_argo_history_undo_and_status(tool: Tool, tmp_path: Path) -> None:
    undo = ["argo", "rollouts", "--namespace", "shop", "undo", "web", "--to-revision=2"]
    wait = ["argo", "rollouts", "--namespace", "shop", "status", "web", "--timeout", "90s"]
    path = tool("kubectl", [*ARGO_READ, {"argv": undo}, {"argv": wait}])
    deployer = Argo("web", Runner(90), namespace="shop", binary=path)
    # Revision 3 ran an image pinned by digest: no tag, so no release to tell.
    assert deployer.history() == [
        Revision("1.9.1", "2"),
        Revision(None, "3"),
        Revision("2.0.0", "4", current=True),
    ]
    assert deployer.current() == "2.0.0"
    deployer.undo("1.9.1")
    deployer.wait()
    assert calls(tmp_path)[-2:] == [undo, wait]


HELM_HISTORY: Rule = {
    "argv": ["history", "web", "--output", "json", "--max", "256", "--namespace", "shop"],
    "stdout": "helm-history.json",
}


def test_helm_history_rollback_and_status(tool: Tool, tmp_path: Path) -> None:
    rollback = ["rollback", "web", "3", "--wait", "--timeout", "120s", "--namespace", "shop"]
    status = ["status", "web", "--output", "json", "--namespace", "shop"]
    path = tool("helm", [HELM_HISTORY, {"argv": rollback},
                         {"argv": status, "stdout": "helm-status-deployed.json"}])  # fmt: skip
    deployer = Helm("web", Runner(120), namespace="shop", binary=path)
    # Revision 1's chart metadata is lost: helm prints MISSING, which is no release.
    assert deployer.history() == [
        Revision(None, "1"),
        Revision("1.9.0", "2"),
        Revision("1.9.1", "3"),
        Revision("2.0.0", "4", current=True),
    ]
    assert deployer.current() == "2.0.0"
    deployer.undo("1.9.1")
    deployer.wait()
    assert calls(tmp_path)[-2:] == [rollback, status]


def test_helm_release_left_pending_is_a_failure(tool: Tool) -> None:
    status = ["status", "web", "--output", "json", "--namespace", "shop"]
    path = tool("helm", [{"argv": status, "stdout": "helm-status-pending.json"}])
    with pytest.raises(DeployError, match="'pending-rollback' after the rollback"):
        Helm("web", Runner(10), namespace="shop", binary=path).wait()


def test_release_of_a_template() -> None:
    def template(image: str) -> dict[str, object]:
        return {"spec": {"containers": [{"name": "web", "image": image}]}}

    assert release_of(template("localhost:5000/web:1.2.3")) == "1.2.3"
    assert release_of(template("localhost:5000/web")) is None
    assert release_of(template("web:1.2.3@sha256:" + "0" * 64)) == "1.2.3"


def test_command_templates_are_split_before_filling_in(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    deployer = Command(
        {
            "undo": f"{sys.executable} -c 'import sys; open(sys.argv[1], \"w\").write(sys.argv[2])'"
            f" {out} {{release}}",
            "current": "echo 2.0.0",
            "history": "printf '1.9.1\\n2.0.0\\n'",
        },
        Runner(30),
    )
    deployer.undo("1.9.1; rm -rf /")
    assert out.read_text(encoding="utf-8") == "1.9.1; rm -rf /"
    assert deployer.history() == [Revision("1.9.1", "1.9.1"), Revision("2.0.0", "2.0.0", True)]
    with pytest.raises(DeployError, match="does not split traffic"):
        deployer.set_weight("2.0.0", 10)


def test_commands_are_time_limited() -> None:
    deployer = make(Options("command", commands={"undo": "sleep 5"}, timeout=1))
    with pytest.raises(DeployTimeout, match=r"`sleep 5` did not finish within 1 s"):
        deployer.undo("1.0.0")
    assert deployer.records[-1].exit_code is None


def test_missing_tool_and_missing_options_are_clear() -> None:
    with pytest.raises(DeployError, match="not installed or not on PATH"):
        Helm("web", Runner(10), binary="/nonexistent/helm").history()
    with pytest.raises(DeployError, match="needs --name: the Deployment"):
        make(Options("kubectl"))
    with pytest.raises(DeployError, match="needs an undo command"):
        make(Options("command"))


def test_credentials_never_reach_the_records() -> None:
    argv = ["deploy", "--token", "abc123", "--password=hunter2", "https://u:pw1@example.com/x"]
    assert redact_argv(argv) == (
        "deploy", "--token", "***", "--password=***", "https://u:***@example.com/x"
    )  # fmt: skip
    assert redact("api_key=zzz9 sent; also s3cret", ("s3cret",)) == "api_key=*** sent; also ***"
    assert redact("Authorization: Bearer eyJhbGciOi.x-y_z") == "Authorization: Bearer ***"
    runner = Runner(30, secrets=("s3cret",))
    runner.run([sys.executable, "-c", "print('the password is s3cret')"])
    assert runner.records[-1].stdout == "the password is ***\n"
    assert "s3cret" not in " ".join(runner.records[-1].argv)


def test_helm_failure_mid_rollback_is_reported(tool: Tool) -> None:
    rollback = ["rollback", "web", "2", "--wait", "--timeout", "30s", "--namespace", "shop"]
    stderr = "Error: release web failed: timed out waiting for the condition\n"
    path = tool("helm", [HELM_HISTORY, {"argv": rollback, "stderr": stderr, "exit": 1}])
    deployer = Helm("web", Runner(30), namespace="shop", binary=path)
    with pytest.raises(DeployError, match="timed out waiting for the condition"):
        deployer.undo("1.9.0")
    assert [r.exit_code for r in deployer.records] == [0, 1]


def test_haproxy_servers_state_is_read_by_its_header() -> None:
    text = (DATA / "haproxy-show-servers-state.txt").read_text(encoding="utf-8")
    state = parse_servers_state(text, "app")
    assert {s.name: (s.weight, s.operational) for s in state.values()} == {
        "blue": (90, 2),
        "green": (10, 2),
    }
    with pytest.raises(DeployError, match="unexpected `show servers state` output"):
        parse_servers_state("Unknown command.\n", "app")


def test_haproxy_without_its_socket_is_a_clear_error(tmp_path: Path) -> None:
    deployer = HAProxy(tmp_path / "nope.sock", "app", {"blue": "1.0.0"}, Runner(5))
    with pytest.raises(DeployError, match="cannot talk to HAProxy's Runtime API at"):
        deployer.set_weight("1.0.0", 100)
    with pytest.raises(DeployError, match=r"no server of backend app runs release 9\.0"):
        deployer.set_weight("9.0", 100)


def test_secret_shapes_in_json_env_and_headers_are_redacted() -> None:
    shapes = {
        '{"token": "tk-1", "password":"pw-2"}': '{"token": "***", "password":"***"}',
        '{"name":"DB_PASSWORD","value":"pw-3"}': '{"name":"DB_PASSWORD","value":"***"}',
        '{"value": "sk-4", "name": "STRIPE_KEY"}': '{"value": "***", "name": "STRIPE_KEY"}',
        '{"name":"LOG_LEVEL","value":"debug"}': '{"name":"LOG_LEVEL","value":"debug"}',
        "- name: AWS_SECRET_ACCESS_KEY\n  value: ak-5\n- name: PORT\n  value: 80":
            "- name: AWS_SECRET_ACCESS_KEY\n  value: ***\n- name: PORT\n  value: 80",
        "Authorization: Token tok-6": "Authorization: Token ***",
        '"apiKey":"k-7"': '"apiKey":"***"',
    }  # fmt: skip
    for text, hidden in shapes.items():
        assert redact(text) == hidden


DEPLOYMENT_WITH_SECRETS = json.dumps(
    {"metadata": {"uid": "u1", "annotations": {"deployment.kubernetes.io/revision": "3"}},
     "spec": {"selector": {"matchLabels": {"app": "web"}},
              "template": {"metadata": {"annotations": {"migsafe.io/release": "2.0.0"}},
                           "spec": {"containers": [{"name": "web", "image": "web:2.0.0",
                                    "env": [{"name": "DB_PASSWORD", "value": "pw-in-env"}]}]}}}}
)  # fmt: skip


def test_kubectl_get_output_stays_out_of_the_records(tool: Tool) -> None:
    """A failing undo's incident record holds what ran, but not the Deployment (its
    environment holds secrets) nor a token echoed in an error."""
    undo = [*K, "rollout", "undo", "deployment/web", "--to-revision=2"]
    rules = [
        {"argv": KUBECTL_READ[0]["argv"], "text": DEPLOYMENT_WITH_SECRETS},
        KUBECTL_READ[1],
        {"argv": undo, "exit": 1,
         "stderr": 'error: {"kind":"Status","token":"tk-secret"} Authorization: Token tk-2\n'},
    ]  # fmt: skip
    deployer = kubectl(tool("kubectl", rules))
    assert deployer.current() == "2.0.0"
    with pytest.raises(DeployError) as failed:
        deployer.undo("1.9.1")
    record = json.dumps([r.to_json() for r in deployer.records])
    for secret in ("pw-in-env", "tk-secret", "tk-2", "DB_PASSWORD"):
        assert secret not in record
        assert secret not in str(failed.value)
    assert deployer.records[0].stdout.endswith("characters, not kept)")


@pytest.mark.parametrize(
    ("name", "rules", "call", "message"),
    [
        ("kubectl", [{"argv": KUBECTL_READ[0]["argv"], "text": "{}"}], "current",
         "kubectl --context prod --namespace shop get deployment/web --output json` printed "
         "output migsafe cannot read: no 'spec'"),
        ("kubectl", [{"argv": KUBECTL_READ[0]["argv"], "text": "[1]"}], "history",
         "expected a JSON object, got list"),
        ("helm", [{"argv": HELM_HISTORY["argv"], "text": '[{"revision": "x"}]'}], "history",
         "printed output migsafe cannot read: invalid literal for int()"),
        ("helm", [{"argv": ["status", "web", "--output", "json", "--namespace", "shop"],
                   "text": '{"info": "deployed"}'}], "wait",
         "printed output migsafe cannot read: 'str' object has no attribute 'get'"),
    ],
)  # fmt: skip
def test_unexpected_deployer_output_is_a_clear_error(
    tool: Tool, name: str, rules: list[Rule], call: str, message: str
) -> None:
    path = tool(name, rules)
    deployer = (
        kubectl(path) if name == "kubectl" else Helm("web", Runner(30), namespace="shop",
                                                     binary=path)
    )  # fmt: skip
    with pytest.raises(DeployError) as failed:
        getattr(deployer, call)()
    assert message in str(failed.value)
