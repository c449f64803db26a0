"""Any other deployer, through command templates the user writes.

A template is split like a shell command line (``shlex``) first and its placeholders
(``{release}``, ``{weight}``) filled in each argument afterwards, so a release name can never
become extra arguments or shell syntax: no shell runs. ``undo`` is required; ``current``
prints the running release, ``history`` one release per line (oldest first), ``wait``
returns once the change is done, ``weight`` moves traffic.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from migsafe.deploy.base import Deployer, Revision
from migsafe.deploy.run import DeployError, Runner

TEMPLATES = ("undo", "current", "history", "wait", "weight")


def render(template: str, values: Mapping[str, object]) -> list[str]:
    try:
        parts = shlex.split(template)
    except ValueError as exc:
        raise DeployError(f"command template {template!r}: {exc}") from None
    try:
        return [part.format_map({k: str(v) for k, v in values.items()}) for part in parts]
    except (KeyError, IndexError, ValueError) as exc:
        raise DeployError(
            f"command template {template!r}: unknown placeholder {exc}; use "
            + ", ".join("{" + k + "}" for k in values)
        ) from None


class Command(Deployer):
    kind = "command"

    def __init__(self, templates: Mapping[str, str], runner: Runner) -> None:
        super().__init__(runner)
        unknown = sorted(set(templates) - set(TEMPLATES))
        if unknown:
            raise DeployError(f"unknown command template(s): {', '.join(unknown)}")
        if not templates.get("undo"):
            raise DeployError("the command deployer needs an undo command: --undo-cmd TEMPLATE")
        self.templates = dict(templates)

    def _run(self, name: str, **values: object) -> str | None:
        template = self.templates.get(name)
        if not template:
            return None
        return self.runner.run(render(template, values))

    def current(self) -> str | None:
        out = self._run("current")
        return out.strip() or None if out is not None else None

    def history(self) -> list[Revision]:
        out = self._run("history")
        now = self.current()
        if out is None:
            return []
        releases = [line.strip() for line in out.splitlines() if line.strip()]
        return [Revision(r, r, r == now) for r in releases]

    def undo(self, to: str) -> None:
        self._run("undo", release=to)

    def wait(self) -> None:
        self._run("wait")

    def set_weight(self, release: str, weight: int) -> None:
        if self._run("weight", release=release, weight=weight) is None:
            super().set_weight(release, weight)
