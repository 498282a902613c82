"""One exception tree: every public exception class of execo, execo_g5k and execo_engine
derives from execo.ExecoError, and the tree drawn in the errors module's docstring names each
of them."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import execo
import execo_engine
import execo_g5k
from execo import ExecoError
from execo._core import _errors


def public_modules() -> list[ModuleType]:
    found = []
    for package in (execo, execo_g5k, execo_engine):
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            if info.name.endswith(("__main__", ".demo", ".cli")):
                continue
            found.append(importlib.import_module(info.name))
    return found


def public_exceptions() -> dict[str, type[BaseException]]:
    out: dict[str, type[BaseException]] = {}
    for module in public_modules():
        for name in getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")]):
            obj = getattr(module, name, None)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                out[f"{module.__name__}.{name}"] = obj
    return out


def test_there_are_public_exceptions_to_check() -> None:
    names = {cls.__name__ for cls in public_exceptions().values()}
    assert {"ExecoError", "ProcessesFailed", "G5kApiError", "OarError", "EngineError"} <= names


@pytest.mark.parametrize("where", sorted(public_exceptions()))
def test_every_public_exception_derives_from_execo_error(where: str) -> None:
    assert issubclass(public_exceptions()[where], ExecoError), where


def test_the_tree_in_the_docstring_names_every_public_exception() -> None:
    doc = _errors.__doc__ or ""
    missing = {cls.__name__ for cls in public_exceptions().values()} - set(
        doc.replace(",", " ").split()
    )
    assert not missing, f"not drawn in execo._core._errors: {sorted(missing)}"
