"""The shape of the code: no import circle anywhere in src/ (every import counts: module
level, inside functions, under TYPE_CHECKING, and imports of a package, which run its
``__init__``), and dependencies that point one way, from the upper layers to the lower ones
(docs/design.md, "Layers")."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"

# Lowest first; a module may import its own layer and the layers below, never above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("execo._core",)),
    ("transports", ("execo._transports",)),
    ("actions", ("execo._actions",)),
    ("display", ("execo._display",)),
    (
        "public execo",
        (
            "execo",
            "execo.testing",
            "execo.config",
            "execo.host",
            "execo.process",
            "execo.action",
            "execo.report",
            "execo.time_utils",
            "execo.substitutions",
        ),
    ),
    ("testbed", ("execo.testbed",)),
    ("grid5000 and engine", ("execo_g5k", "execo_engine")),
    ("applications", ("execo.demo", "execo.cli", "execo.__main__")),
]


def modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = modules()


def imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules of ours that ``node`` makes Python run, beyond the packages every module
    runs first (its own ancestors): ``from pkg import sub`` is an edge to the submodule
    ``pkg.sub``; ``from pkg import name`` an edge to ``pkg`` itself (its ``__init__``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".")
            if not is_package:
                base.pop()
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join([*base, *([node.module] if node.module else [])])
        else:
            prefix = node.module or ""
        names = [
            f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names
        ]
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            yield name


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, (path, is_package) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges[m].update(imported(m, is_package, node))
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer)
    for number, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                best = max(best, (len(prefix), number))
    assert best[1] >= 0, f"{module} belongs to no layer: add it to LAYERS"
    return best[1]


def test_zero_import_circles() -> None:
    assert circles(graph()) == []


def test_the_checker_sees_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_every_module_has_a_layer() -> None:
    for m in MODULES:
        layer_of(m)


def test_dependencies_point_down() -> None:
    upward = [
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
        for m, targets in graph().items()
        for t in targets
        if layer_of(t) > layer_of(m)
    ]
    assert upward == []


def test_only_the_public_layer_imports_package_inits() -> None:
    """Inside execo, modules import the module that defines a name, never ``execo`` itself
    (whose ``__init__`` imports everything): that keeps the circles visible."""
    inits = {m for m, (_, is_package) in MODULES.items() if is_package}
    offenders = [
        f"{m} imports {t}"
        for m, targets in graph().items()
        if layer_of(m) < layer_of("execo")
        for t in targets
        if t in inits
    ]
    assert offenders == []
