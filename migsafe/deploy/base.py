"""The one interface every deployer adapter implements.

A rollback needs five things from whatever puts code in front of users: which release runs
now (:meth:`Deployer.current`), which releases it can go back to (:meth:`Deployer.history`),
going back (:meth:`Deployer.undo`), waiting until that is done (:meth:`Deployer.wait`) and,
for deployers that split traffic, moving traffic (:meth:`Deployer.set_weight`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from migsafe.deploy.run import CommandRecord, DeployError, Runner


@dataclass(frozen=True)
class Revision:
    """One thing the deployer can go back to: the release it runs (None when it cannot be
    told), the deployer's own id for it, and whether it is the one running now."""

    release: str | None
    revision: str
    current: bool = False


class Deployer(ABC):
    kind: str = ""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    @property
    def records(self) -> list[CommandRecord]:
        return self.runner.records

    @abstractmethod
    def current(self) -> str | None:
        """The release running now, None when the deployer cannot tell."""

    @abstractmethod
    def history(self) -> list[Revision]:
        """What the deployer can go back to, oldest first."""

    @abstractmethod
    def undo(self, to: str) -> None:
        """Put release ``to`` back; :class:`DeployError` when the deployer does not have it."""

    @abstractmethod
    def wait(self) -> None:
        """Return once the last change is complete; :class:`DeployTimeout` when it is not
        within the time limit."""

    def set_weight(self, release: str, weight: int) -> None:
        """Send ``weight`` percent of the traffic to ``release``, the rest to the others."""
        raise DeployError(f"the {self.kind} deployer does not split traffic by weight")

    def revision_of(self, release: str) -> Revision:
        """The newest revision running ``release`` that is not the current one."""
        found = [r for r in self.history() if r.release == release and not r.current]
        if not found:
            known = sorted({r.release for r in self.history() if r.release})
            raise DeployError(
                f"the {self.kind} deployer has no earlier revision running release {release} "
                f"(releases in its history: {', '.join(known) or 'none'})"
            )
        return found[-1]
