"""Helm releases: ``helm history -o json`` for the history, ``helm rollback`` to undo.

Each revision's release is its chart's ``app_version``.
"""

from __future__ import annotations

import json
from typing import Any

from migsafe.deploy.base import Deployer, Revision
from migsafe.deploy.run import DeployError, Runner, reading, redact


class Helm(Deployer):
    kind = "helm"

    def __init__(
        self,
        name: str,
        runner: Runner,
        *,
        namespace: str | None = None,
        context: str | None = None,
        binary: str = "helm",
    ) -> None:
        super().__init__(runner)
        self.name, self.namespace, self.context = name, namespace, context
        self.binary = binary

    def helm(self, *args: str) -> list[str]:
        argv = [self.binary, *args]
        if self.namespace:
            argv += ["--namespace", self.namespace]
        if self.context:
            argv += ["--kube-context", self.context]
        return argv

    def _json(self, argv: list[str], *, keep: bool = True) -> Any:
        text = self.runner.run(argv, keep=keep)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            shown = redact(text[:200], self.runner.secrets)
            raise DeployError(f"{' '.join(argv)}: expected JSON, got {shown!r} ({exc})") from None

    def _release(self, entry: Any) -> str | None:
        """Helm prints ``MISSING`` for a revision whose chart metadata is lost."""
        version = str(entry.get("app_version") or "")
        return version if version and version != "MISSING" else None

    def history(self) -> list[Revision]:
        argv = self.helm("history", self.name, "--output", "json", "--max", "256")
        entries = self._json(argv)
        if not isinstance(entries, list):
            raise DeployError(f"helm history {self.name}: expected a JSON list of revisions")
        with reading(" ".join(argv)):
            ordered = sorted(entries, key=lambda e: int(str(e["revision"])))
            return [
                Revision(self._release(e), str(e["revision"]), e.get("status") == "deployed")
                for e in ordered
            ]

    def current(self) -> str | None:
        deployed = [r for r in self.history() if r.current]
        return deployed[-1].release if deployed else None

    def undo(self, to: str) -> None:
        revision = self.revision_of(to).revision
        seconds = max(1, int(self.runner.timeout))
        self.runner.run(
            self.helm("rollback", self.name, revision, "--wait", "--timeout", f"{seconds}s"),
            timeout=seconds + 30,
        )

    def wait(self) -> None:
        # Not kept in the record: helm status prints the release's values, secrets included.
        argv = self.helm("status", self.name, "--output", "json")
        status = self._json(argv, keep=False)
        with reading(" ".join(argv)):
            state = (status.get("info") or {}).get("status")
        if state != "deployed":
            raise DeployError(
                f"helm release {self.name} is {state!r} after the rollback, not deployed"
            )
