"""User code for the Grid'5000 layer's actions and helpers, as the docs write it: mypy
--strict checks this file. A misspelled keyword must be a type error: each
``type: ignore[call-arg]`` below must stay needed (mypy warns about unused ignores)."""

from __future__ import annotations

import pytest

from execo import Host, PortForwarder
from execo_g5k import (
    Deployment,
    DeployResult,
    G5kAutoPortForwarder,
    KaconsoleProcess,
    Kadeployer,
    g5k_configuration,
)


def build() -> tuple[Kadeployer, KaconsoleProcess]:
    k = Kadeployer(Deployment(["node-1"], env_name="debian11-min"), timeout=600)
    hosts: set[Host] = k.deployed_hosts | k.undeployed_hosts
    assert not hosts
    reasons: dict[str, str] = k.reasons
    assert not reasons
    console = KaconsoleProcess("node-1", console_user="root", connection_timeout=5)
    return k, console


def test_typed_constructors_refuse_misspelled_keywords() -> None:
    k, console = build()
    assert isinstance(k.result(), DeployResult) and console.node == Host("node-1")
    with pytest.raises(TypeError):
        Kadeployer(Deployment(["n"], env_name="e"), timout=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        KaconsoleProcess("n", pasword="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        PortForwarder("h", "r", 1, transprt="ssh")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        G5kAutoPortForwarder("s", "h", 1, insde=True)  # type: ignore[call-arg]
    value: object = g5k_configuration["default_timeout"]
    assert value == 900.0
