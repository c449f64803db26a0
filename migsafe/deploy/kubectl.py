"""Kubernetes Deployments through ``kubectl``, and Argo Rollouts through ``kubectl argo
rollouts``.

Both keep their history as ReplicaSets owned by the workload, each annotated with its
revision number (``deployment.kubernetes.io/revision``, ``rollout.argoproj.io/revision``)
and holding the pod template it ran. The release of a template is its
``migsafe.io/release`` annotation — which travels with the template, so it comes back with
an undo — or else the tag of its container image. Undo is to a revision number; waiting is
``rollout status`` with a timeout.
"""

from __future__ import annotations

import json
from typing import Any

from migsafe.deploy.base import Deployer, Revision
from migsafe.deploy.run import DeployError, Runner, reading, redact

RELEASE_ANNOTATION = "migsafe.io/release"


def release_of(template: Any, container: str | None = None) -> str | None:
    """The release a pod template runs: its annotation, else its container's image tag."""
    meta = template.get("metadata") or {}
    annotated = (meta.get("annotations") or {}).get(RELEASE_ANNOTATION)
    if annotated:
        return str(annotated)
    containers = (template.get("spec") or {}).get("containers") or []
    chosen = [c for c in containers if container is None or c.get("name") == container]
    if not chosen:
        return None
    image = str(chosen[0].get("image", "")).split("@", 1)[0]
    name, colon, tag = image.rpartition(":")
    return tag if colon and "/" not in tag and name else None


def _json(text: str, what: str, secrets: tuple[str, ...] = ()) -> Any:
    try:
        found = json.loads(text)
    except json.JSONDecodeError as exc:
        shown = redact(text[:200], secrets)
        raise DeployError(f"{what}: expected JSON output, got: {shown!r} ({exc})") from None
    if not isinstance(found, dict):
        raise DeployError(f"{what}: expected a JSON object, got {type(found).__name__}")
    return found


class Kubectl(Deployer):
    """A Deployment, ``name`` in ``namespace``."""

    kind = "kubectl"
    resource = "deployment"
    revision_annotation = "deployment.kubernetes.io/revision"
    owner_kind = "Deployment"

    def __init__(
        self,
        name: str,
        runner: Runner,
        *,
        namespace: str | None = None,
        context: str | None = None,
        container: str | None = None,
        binary: str = "kubectl",
    ) -> None:
        super().__init__(runner)
        self.name, self.namespace, self.context = name, namespace, context
        self.container, self.binary = container, binary

    def kubectl(self, *args: str) -> list[str]:
        argv = [self.binary]
        if self.context:
            argv += ["--context", self.context]
        if self.namespace:
            argv += ["--namespace", self.namespace]
        return argv + list(args)

    def _get(self, argv: list[str]) -> Any:
        """The object ``kubectl get -o json`` prints; not kept in the record (it holds the
        pod template, environment included)."""
        return _json(self.runner.run(argv, keep=False), " ".join(argv), self.runner.secrets)

    def _workload_argv(self) -> list[str]:
        return self.kubectl("get", f"{self.resource}/{self.name}", "--output", "json")

    def _workload(self) -> Any:
        return self._get(self._workload_argv())

    def current(self) -> str | None:
        workload = self._workload()
        with reading(" ".join(self._workload_argv())):
            return release_of(workload["spec"]["template"], self.container)

    def history(self) -> list[Revision]:
        workload = self._workload()
        with reading(" ".join(self._workload_argv())):
            return self._history(workload)

    def _history(self, workload: Any) -> list[Revision]:
        labels = (workload["spec"].get("selector") or {}).get("matchLabels") or {}
        if not labels:
            raise DeployError(
                f"{self.resource}/{self.name} has no spec.selector.matchLabels to find its "
                "ReplicaSets by"
            )
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        argv = self.kubectl("get", "replicasets", "--selector", selector, "--output", "json")
        sets = self._get(argv).get("items") or []
        uid = workload["metadata"].get("uid")
        now = (workload["metadata"].get("annotations") or {}).get(self.revision_annotation)
        found: list[tuple[int, Revision]] = []
        for rs in sets:
            meta = rs.get("metadata") or {}
            owners = meta.get("ownerReferences") or []
            if not any(
                o.get("kind") == self.owner_kind and (o.get("uid") == uid or uid is None)
                for o in owners
            ):
                continue
            number = (meta.get("annotations") or {}).get(self.revision_annotation)
            if number is None or not str(number).isdigit():
                continue
            release = release_of(rs["spec"]["template"], self.container)
            found.append((int(number), Revision(release, str(number), str(number) == now)))
        return [r for _, r in sorted(found, key=lambda item: item[0])]

    def undo_argv(self, revision: str) -> list[str]:
        return self.kubectl(
            "rollout", "undo", f"{self.resource}/{self.name}", f"--to-revision={revision}"
        )

    def wait_argv(self, seconds: int) -> list[str]:
        return self.kubectl(
            "rollout", "status", f"{self.resource}/{self.name}", f"--timeout={seconds}s"
        )

    def undo(self, to: str) -> None:
        self.runner.run(self.undo_argv(self.revision_of(to).revision))

    def wait(self) -> None:
        seconds = max(1, int(self.runner.timeout))
        # The command's own timeout ends the watch; ours is the backstop if it hangs.
        self.runner.run(self.wait_argv(seconds), timeout=seconds + 30)


class Argo(Kubectl):
    """An Argo Rollouts Rollout, through the ``kubectl argo rollouts`` plugin."""

    kind = "argo"
    resource = "rollout"
    revision_annotation = "rollout.argoproj.io/revision"
    owner_kind = "Rollout"

    def _workload_argv(self) -> list[str]:
        return self.kubectl("get", f"rollouts.argoproj.io/{self.name}", "--output", "json")

    def plugin(self, *args: str) -> list[str]:
        argv = [self.binary, "argo", "rollouts"]
        if self.context:
            argv += ["--context", self.context]
        if self.namespace:
            argv += ["--namespace", self.namespace]
        return argv + list(args)

    def undo_argv(self, revision: str) -> list[str]:
        return self.plugin("undo", self.name, f"--to-revision={revision}")

    def wait_argv(self, seconds: int) -> list[str]:
        return self.plugin("status", self.name, "--timeout", f"{seconds}s")
