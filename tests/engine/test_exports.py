"""The public names of execo_engine: __all__ is exactly what is exported, from the package."""

from __future__ import annotations

import inspect

import execo_engine


def test_all_lists_the_public_names() -> None:
    public = {name for name in vars(execo_engine) if not name.startswith("_")}
    assert set(execo_engine.__all__) == public


def test_public_objects_claim_the_package_as_their_module() -> None:
    for name in execo_engine.__all__:
        obj = getattr(execo_engine, name)
        module = getattr(obj, "__module__", "execo_engine")
        if isinstance(obj, type) or inspect.isfunction(obj):
            assert module == "execo_engine", name
