"""Imports go one way: cli -> (planning, running, report, doctor) -> (resources, state, results,
summary_digest, summaries) -> (engines, outputs, config, audio, emulator) -> (errors, names, secrets,
cancel).

Every ``import`` of the package is read with ``ast`` (inside functions and ``if TYPE_CHECKING``
too, so a lazy import cannot dodge a rule): none may reach a higher layer, and neither the modules
nor the packages may import each other in a circle. A failure names the offending import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import batchscribe

PACKAGE = Path(batchscribe.__file__).parent
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__", "cli"),  # entry points and the command line
    ("planning", "running", "report", "doctor"),
    ("resources", "state", "results", "summary_digest", "summaries"),
    ("engines", "outputs", "config", "audio", "emulator"),
    ("errors", "names", "secrets", "cancel", "__init__"),
)
LAYER = {unit: depth for depth, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """The layer unit: the first name under batchscribe (``__main__`` for entry points)."""
    if module.endswith(".__main__"):
        return "__main__"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of batchscribe in ``path``, wherever it stands."""
    return sorted(set(_imports(path)))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("batchscribe"):
            for alias in node.names:  # `from batchscribe.x import y`: x.y when y is a module, else x
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists()
                yield node.lineno, candidate if is_module else node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("batchscribe"))


def graph() -> dict[str, set[tuple[str, str]]]:
    """module -> {(imported module, "path:line")}."""
    edges: dict[str, set[tuple[str, str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        edges[module_name(path)] = {
            (target, f"{path.relative_to(PACKAGE.parent)}:{line}") for line, target in imports(path)
        }
    return edges


def test_no_import_reaches_a_higher_layer() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = unit_of(module_name(path))
        for line, target in imports(path):
            theirs = unit_of(target)
            if theirs != mine and LAYER[theirs] < LAYER[mine]:
                upward.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} ({mine} -> {theirs})"
                )
    assert upward == [], "imports running up the layers:\n" + "\n".join(upward)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_in_a_circle() -> None:
    edges = graph()
    # A module's own packages run before it whatever it imports: those edges are not circles.
    plain = {m: {t for t, _ in targets if t in edges and not m.startswith(f"{t}.") and t != m}
             for m, targets in edges.items()}  # fmt: skip
    circles = cycles(plain)
    where = [
        f"{where}: {module} imports {target}"
        for circle in circles for module in circle
        for target, where in sorted(edges[module]) if target in plain[module] and target in circle
    ]  # fmt: skip
    assert circles == [], "modules in a circle:\n" + "\n".join(where)


def test_no_packages_import_each_other_in_a_circle() -> None:
    edges = graph()
    units: dict[str, set[str]] = {}
    for module, targets in edges.items():
        mine = unit_of(module)
        units.setdefault(mine, set()).update(unit_of(t) for t, _ in targets if unit_of(t) != mine)
    circles = cycles(units)
    where = [
        f"{where}: {module} imports {target}"
        for circle in circles for module, targets in sorted(edges.items()) if unit_of(module) in circle
        for target, where in sorted(targets) if unit_of(target) in circle and unit_of(target) != unit_of(module)
    ]  # fmt: skip
    assert circles == [], "packages in a circle:\n" + "\n".join(where)
