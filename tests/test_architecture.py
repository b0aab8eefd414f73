"""The layer rule of docs/architecture.md, checked on the import graph.

Each top-level folder of ``aptmagic`` sits in one layer; a module may import its own
layer's and lower layers' modules only. Domains share a layer, and the package-level
graph between them must have no cycle. Run this file as a script to print the map."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "aptmagic"

LAYERS: list[set[str]] = [
    {"db", "client", "__init__"},
    {"kit"},
    {"storage", "shared_state", "queue", "inference"},
    {"config"},
    {"api", "serving"},
    {
        "auth",
        "audit",
        "quotas",
        "assets",
        "uploads",
        "jobs",
        "social",
        "moderation",
        "webhooks",
        "alerts",
        "observability",
        "backup",
    },
    {"web", "compat"},
    {"migrations"},
    {"wiring"},
    {"app"},
    {"cli", "worker", "__main__", "config_docs"},
]
LAYER_OF = {name: index for index, layer in enumerate(LAYERS) for name in layer}
# The infrastructure layer's folders are peers that never import each other.
PEERS_APART = {"storage", "shared_state", "queue", "inference"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str) -> set[str]:
    """Every aptmagic module ``path`` imports, at any depth of the file (lazy imports count)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("aptmagic"))
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            if target.startswith("aptmagic"):
                found.add(target)
    return found


def folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        graph[module] = imports_of(path, module)
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in graph.items():
        source = folder(module)
        for target in sorted(targets):
            dest = folder(target)
            if source == dest:
                continue
            upward = LAYER_OF[dest] > LAYER_OF[source]
            peers = source in PEERS_APART and dest in PEERS_APART
            if upward or peers:
                found.append(f"{module} -> {target}")
    return found


def folder_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        for target in targets:
            if folder(module) != folder(target):
                edges[folder(module)].add(folder(target))
    return _cycles(edges)


def module_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    return _cycles({module: {t for t in targets if t in graph} for module, targets in graph.items()})


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_folder_has_a_layer() -> None:
    folders = {folder(module) for module in import_graph()}
    assert folders <= set(LAYER_OF), f"folders with no layer in LAYERS: {sorted(folders - set(LAYER_OF))}"


def test_imports_only_run_downwards() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_loops_between_modules() -> None:
    assert module_cycles(import_graph()) == []


def test_no_cycles_between_folders() -> None:
    assert folder_cycles(import_graph()) == []


def test_only_entry_points_import_the_composition_root() -> None:
    allowed = {"wiring", "app", "cli", "worker"}
    offenders = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if target.startswith("aptmagic.wiring") and folder(module) not in allowed
    ]
    assert offenders == []


if __name__ == "__main__":
    graph = import_graph()
    for line in upward_imports(graph):
        print("upward:", line)
    for cycle in folder_cycles(graph):
        print("folder cycle:", " <-> ".join(cycle))
    for cycle in module_cycles(graph):
        print("module cycle:", " <-> ".join(cycle))
    sys.exit(0)
