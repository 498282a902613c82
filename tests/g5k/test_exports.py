"""Every public module's __all__ lists exactly its public names, and execo_g5k re-exports
them all."""

from __future__ import annotations

import importlib
import types

import pytest

import execo_g5k

PUBLIC = [
    "api", "planning", "charter", "config", "oar", "oargrid", "kadeploy", "utils", "topology",
]  # fmt: skip


@pytest.mark.parametrize("name", PUBLIC)
def test_all_matches_public_names(name):
    module = importlib.import_module(f"execo_g5k.{name}")
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and not isinstance(v, types.ModuleType)
        and n not in ("annotations", "TYPE_CHECKING")
    }
    assert set(module.__all__) == public


def test_package_reexports_the_public_modules():
    expected = set()
    for name in ("api", "planning", "charter", "oar", "oargrid", "kadeploy", "utils"):
        expected |= set(importlib.import_module(f"execo_g5k.{name}").__all__)
    expected |= {"G5kConfiguration", "load_g5k_configuration", "set_g5k_configuration"}
    expected |= {"G5kConfigKeyError", "G5kSettings", "g5k_configuration"}
    expected |= {"current_g5k_configuration", "G5kGraph", "g5k_graph", "treemap"}
    expected |= {"default_frontend_connection_params", "default_oarsh_oarcp_params"}
    assert set(execo_g5k.__all__) == expected
    for name in execo_g5k.__all__:
        assert getattr(execo_g5k, name) is not None


def test_oarsh_params_are_the_core_ones():
    import execo
    import execo_g5k.config

    assert execo_g5k.default_oarsh_oarcp_params is execo.default_oarsh_oarcp_params
    assert execo_g5k.config.default_oarsh_oarcp_params is execo.default_oarsh_oarcp_params
    assert execo_g5k.default_frontend_connection_params is execo.default_frontend_connection_params
