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
    socket: Path | None = None
    servers: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 300.0
    secrets: tuple[str, ...] = ()


# [tool.migsafe.deploy]: the deployer options a rollback job would otherwise pass each time.
SETTINGS = {
    "deployer": str,
    "name": str,
    "namespace": str,
    "context": str,
    "container": str,
    "socket": str,
    "servers": dict,
    "undo-cmd": str,
    "current-cmd": str,
    "history-cmd": str,
    "wait-cmd": str,
    "weight-cmd": str,
    "timeout": float,
}


def check_settings(value: object, where: str) -> dict[str, object]:
    """``[tool.migsafe.deploy]`` checked key by key, as the command-line option names
    (``undo_cmd``) with their values; a ``ValueError`` says what is wrong."""
    if not isinstance(value, dict):
        raise ValueError(f"{where}: deploy must be a table of deployer options")
    checked: dict[str, object] = {}
    for key, item in value.items():
        kind = SETTINGS.get(key)
        if kind is None:
            raise ValueError(
                f"{where}: unknown key {key!r} in [tool.migsafe.deploy]; known keys: "
                + ", ".join(SETTINGS)
            )
        if kind is float:
            ok = isinstance(item, int | float) and not isinstance(item, bool) and item >= 1
        elif kind is dict:
            ok = isinstance(item, dict) and all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in item.items()
            )
        else:
            ok = isinstance(item, str) and bool(item)
        if not ok:
            what = {
                float: "a number of seconds, 1 or more",
                dict: 'a table of server = "release"',
            }.get(kind, "a non-empty string")
            raise ValueError(f"{where}: deploy.{key} must be {what}, got {item!r}")
        if key == "deployer" and item not in KINDS:
            raise ValueError(f"{where}: deploy.deployer must be one of {', '.join(KINDS)}")
        checked[key.replace("-", "_")] = item
    return checked


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
        )
    from migsafe.deploy.kubectl import Argo, Kubectl

    adapter = Argo if kind == "argo" else Kubectl
    return adapter(
        options.name,
        runner,
        namespace=options.namespace,
        context=options.context,
        container=options.container,
    )
