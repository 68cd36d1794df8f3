"""The import graph of `mockserver/` points one way: entry -> pipeline -> handlers -> domain -> store, with no cycle
and no handler borrowing from another. Imports only for type hints (`if TYPE_CHECKING:`) are not dependencies."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "mockserver"

# Highest layer first; a module may import from its own layer or below. Every module must be placed.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry", ("__init__", "app", "backend", "cli", "cli_guard", "cli_catalog", "cli_ssh", "cli_blobs", "admin", "pytest_plugin", "testing",
               "demo", "server", "portal", "proxy", "cli_store", "testing_postgres")),
    ("pipeline", ("spec", "dispatch", "upload_request", "jsonbody", "drf_errors", "control.middleware",
                  "control.guard")),
    ("handlers", ("handlers", "control", "control.handlers", "control.catalog_settings", "call", "views",
                  "serialize", "schemas", "responses", "errors", "pagination", "ranges")),
    ("domain", ("domain", "runner", "control.faults")),
    ("store", ("store", "timefmt", "config", "version")),
]
HANDLER_MODULES = ("handlers.", "control.handlers", "control.catalog_settings")
SHARED_BY_HANDLERS = ("handlers", "call", "views")  # the package index, the handler interface, shaping views


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def layer_of(module: str) -> int:
    best = None
    for rank, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"mockserver/{module.replace('.', '/')}.py is in no layer: add it to LAYERS"
    return best[0]


def _runtime_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    found: list[ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ROOT.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name.split(".") if path.name == "__init__.py" and name != "__init__" else name.split(".")[:-1]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join([*base, *(node.module.split(".") if node.module else [])]) or "__init__"
            for alias in node.names:
                member = f"{target}.{alias.name}" if target != "__init__" else alias.name
                targets.add(member if member in paths else target)
        edges[name] = {t for t in targets if t in paths and t != name}
    return edges


EDGES = graph()


def test_every_module_has_a_layer() -> None:
    for module in EDGES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(EDGES))
def test_imports_point_down(module: str) -> None:
    upward = [t for t in EDGES[module] if layer_of(t) < layer_of(module)]
    names = [name for name, _ in LAYERS]
    assert not upward, f"{module} ({names[layer_of(module)]}) imports " + ", ".join(
        f"{t} ({names[layer_of(t)]})" for t in sorted(upward))


@pytest.mark.parametrize("module", sorted(m for m in EDGES if m.startswith(HANDLER_MODULES)))
def test_handlers_do_not_borrow_from_each_other(module: str) -> None:
    borrowed = [t for t in EDGES[module] if t.startswith(HANDLER_MODULES) and t not in SHARED_BY_HANDLERS]
    assert not borrowed, f"{module} imports the handlers of {borrowed}: move what they share to views or call"


def _absolute_imports(module: str) -> set[str]:
    path = ROOT / (module.replace(".", "/") + ".py")
    path = path if path.exists() else ROOT / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return found | {node.module.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and not node.level and node.module}


@pytest.mark.parametrize("module", sorted(m for m in EDGES if layer_of(m) > 0))
def test_flask_stays_at_the_entry(module: str) -> None:
    """The API's request path is werkzeug alone (app.ApiFront); Flask serves only the portal and the docs."""
    assert "flask" not in _absolute_imports(module), f"{module} imports flask: only the entry layer may"


def test_the_fault_step_uses_the_dispatchers_admission() -> None:
    """Faults and the journal take the route and tenant the dispatcher found: they never match routes themselves."""
    assert not EDGES["control.middleware"] & {"spec", "dispatch", "domain.tenants"}


def test_no_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in EDGES[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(EDGES):
        if node not in index:
            connect(node)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_imports() -> None:
    """Guards the test above against passing vacuously: known edges are found."""
    assert "dispatch" in EDGES["app"] and "store.db" in EDGES["domain.tenants"]
