"""The package's shape, checked: small modules, arrows one way, no private names across packages.

Imports are read from the source (module level and inside functions alike), so a lazy
import that closes a cycle counts as one.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "neurosim"
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, mods: dict[str, Path]) -> list[tuple[str, str]]:
    """(module imported, name imported or "") for every neurosim import in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.startswith("neurosim")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neurosim"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.append((sub, "") if sub in mods else (node.module, a.name))
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        edges = set()
        for target, _ in _imports(path, mods):
            while target not in mods and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in mods and target != name and not name.startswith(target + "."):
                edges.add(target)  # a submodule importing its own package's __init__ is not an arrow back
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_lazy_imports_included() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modules_stay_small() -> None:
    big = {n: len(p.read_text().splitlines()) for n, p in _modules().items()}
    assert {n: k for n, k in big.items() if k > MAX_LINES} == {}


def test_no_private_names_cross_packages() -> None:
    mods = _modules()
    crossings = []
    for name, path in mods.items():
        home = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for target, imported in _imports(path, mods):
            private = imported.startswith("_") or any(p.startswith("_") for p in target.split(".")[1:])
            owner = target.rsplit(".", 1)[0] if not imported else target
            if private and not (owner == home or owner.startswith(home + ".") or home.startswith(owner)):
                crossings.append(f"{name} imports {target}{'.' + imported if imported else ''}")
    assert crossings == []
