"""The core's import graph: no cycles, and no module imports from a layer above its own (the
pipeline reads top-down: foundations, then the stages in order, then what composes them). Every
import run at some point counts, those inside functions included; ``if TYPE_CHECKING:`` blocks
(annotations only) do not."""

from __future__ import annotations

import ast

from conftest import REPO

CORE = REPO / "core"

# Lowest first. A module may import its own layer's modules and any layer below, never above.
LAYERS = [
    ("node",),  # runs on render nodes with the standard library alone
    ("redact", "errors", "dirs", "layout", "progress", "enums", "hookspecs", "plugins", "jobrecord", "private",
     "credentials", ""),
    ("discovery",),
    ("rendersettings",),
    ("sync",),
    ("paths",),
    ("jobs",),
    ("settings",),
    ("cost", "scout", "notify"),  # prices and estimates, scout checks, notifications: above settings
    ("backends",),
    ("watch", "report"),  # what happens to a submitted job: the gate, the agent's process; the report
    ("pipeline",),
    ("hosts", "agent", "joblist"),  # the agent runs the pipeline for hosts; the job list reads it
    ("commands", "cli", "__main__"),
]


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted((CORE / "azrender").rglob("*.py")):
        parts = path.relative_to(CORE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = (ast.parse(path.read_text(encoding="utf-8")), path.name == "__init__.py")
    return found


def imports(found) -> dict[str, set[str]]:
    """Module -> the azrender modules it imports (``from a import b`` counts b when b is a module)."""

    def known(name: str) -> str:
        while name not in found:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, (tree, is_package) in found.items():
        package = name if is_package else name.rpartition(".")[0]
        targets = set()
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names if a.name.split(".")[0] == "azrender"}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                if base.split(".")[0] != "azrender":
                    continue
                targets |= {known(f"{base}.{a.name}") if f"{base}.{a.name}" in found else known(base) for a in node.names}
        graph[name] = targets - {name}
    return graph


def _runtime_nodes(tree):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def layer(module: str) -> int:
    first = module.split(".")[1] if "." in module else ""
    found = [n for n, names in enumerate(LAYERS) if first in names]
    assert found, f"{module}: add azrender.{first} to LAYERS in {__name__}, above everything it imports"
    return found[0]


def test_no_module_imports_from_a_layer_above_its_own():
    graph = imports(modules())
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if layer(b) > layer(a))
    assert upward == []
    node = sorted(f"{a} -> {b}" for a, targets in graph.items() if a.startswith("azrender.node")
                  for b in targets if not b.startswith("azrender.node"))
    assert node == [], "node code runs with the standard library and itself only"


def test_no_import_cycles():
    graph = imports(modules())
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while not component or v not in component:
                component.add(stack.pop())
            on_stack.difference_update(component)
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_graph_sees_imports_inside_functions():
    graph = imports(modules())
    assert "azrender.backends.choose" in graph["azrender.pipeline"]  # imported inside plan_submission
    assert "azrender.discovery.blend" in graph["azrender.discovery.builtin"]
