"""Deployer adapters behind one interface (:class:`~migsafe.deploy.base.Deployer`):
``kubectl`` Deployments, ``argo`` Rollouts, ``helm`` releases, ``haproxy`` server weights and
``command`` templates. :func:`make` builds one from :class:`Options`.

This module stays light (the command line imports it for the choices of ``--deployer``);
the adapters load when :func:`make` needs one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migsafe.deploy.base import Deployer

KINDS = ("kubectl", "argo", "helm", "haproxy", "command")


@dataclass(frozen=True)
class Options:
    """What locates the workload: ``name`` is the Deployment, Rollout, Helm release or
    HAProxy backend; ``servers`` maps HAProxy servers to releases; ``commands`` holds the
    command templates; ``timeout`` bounds every command and the wait, in seconds."""

    kind: str
    name: str | None = None
    namespace: str | None = None
    context: str | None = None
    container: str | None = None
    binary: str | None = None
    socket: Path | None = None
    servers: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 300.0
    secrets: tuple[str, ...] = ()


def make(options: Options) -> Deployer:
    """The adapter ``options`` describe; :class:`DeployError` when something it needs is
    missing."""
    from migsafe.deploy.run import DeployError, Runner

    runner = Runner(options.timeout, options.secrets)
    kind = options.kind
    if kind not in KINDS:
        raise DeployError(f"unknown deployer {kind!r}; one of {', '.join(KINDS)}")
    if kind == "command":
        from migsafe.deploy.command import Command

        return Command(options.commands, runner)
    if not options.name:
        what = {"kubectl": "Deployment", "argo": "Rollout", "helm": "Helm release"}
        raise DeployError(
            f"the {kind} deployer needs --name: the {what.get(kind, 'HAProxy backend')}"
        )
    if kind == "haproxy":
        from migsafe.deploy.haproxy import HAProxy

        if options.socket is None:
            raise DeployError("the haproxy deployer needs --socket: HAProxy's stats socket")
        return HAProxy(options.socket, options.name, options.servers, runner)
    if kind == "helm":
        from migsafe.deploy.helm import Helm

        return Helm(
            options.name,
            runner,
            namespace=options.namespace,
            context=options.context,
            binary=options.binary or "helm",
        )
    from migsafe.deploy.kubectl import Argo, Kubectl

    adapter = Argo if kind == "argo" else Kubectl
    return adapter(
        options.name,
        runner,
        namespace=options.namespace,
        context=options.context,
        container=options.container,
        binary=options.binary or "kubectl",
    )
