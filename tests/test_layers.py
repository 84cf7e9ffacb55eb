"""Imports go downward only (DESIGN.md): a module never imports from a layer above its own."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "phqwatch"

LAYER = {
    "errors": 0,
    "config": 0,
    "phq9": 0,
    "transcripts": 1,
    "datasets": 2,
    "models": 2,
    "safety": 2,
    "teacher": 2,
    "training": 3,
    "evaluation": 3,
    "monitoring": 4,
    "reports": 4,
    "chat": 4,
    "store": 5,
    "server": 6,
    "cli": 7,
    "__init__": 7,
}
#: store is persistence only: it knows nothing of models, monitoring, reports or the web.
STORE_MAY_IMPORT = {"errors", "config", "phq9", "transcripts", "store"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("phqwatch"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from phqwatch import x
                found.update(a.name for a in node.names if a.name in LAYER)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("phqwatch."):
                    found.add(a.name.split(".")[1])
    return found


def test_every_top_level_module_has_a_layer():
    tops = {
        p.stem if p.is_file() else p.name for p in PKG.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    assert tops <= set(LAYER), f"give these a layer in tests/test_layers.py and DESIGN.md: {tops - set(LAYER)}"


def test_imports_go_downward_only():
    problems = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        own = rel.parts[0].removesuffix(".py")
        for target in _imports(path):
            if target not in LAYER or target == own:
                continue
            if LAYER[target] > LAYER[own]:
                problems.append(f"{rel} imports phqwatch.{target} (layer {LAYER[target]} > {LAYER[own]})")
            if own == "store" and target not in STORE_MAY_IMPORT:
                problems.append(f"{rel} (store) imports phqwatch.{target}")
    assert not problems, "\n".join(sorted(problems))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, function bodies included, except `if TYPE_CHECKING:` blocks (annotations only, never run)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo.extend(child.orelse)
            else:
                todo.append(child)
    return out


def _module_imports(path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, name imported from it or None, line) for every phqwatch import that runs."""
    me, found = _module_name(path), []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
            if node.level:
                module = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:
                sub = f"{module}.{a.name}"
                found.append((sub, None, node.lineno) if sub in MODULES else (module, a.name, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names]
    return [f for f in found if f[0] in MODULES and f[0] != me]


def test_no_import_cycles_between_modules():
    """No module reaches itself through imports, top-level or inside functions (DESIGN.md)."""
    graph = {m: {t for t, _, _ in _module_imports(p)} for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = stack[stack.index(v) :]
            del stack[stack.index(v) :]
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, "modules that import each other (directly or in a loop):\n" + "\n".join(map(str, cycles))


def test_no_private_name_is_imported_from_another_module():
    """A `_name` is its module's own; what another module needs gets a public name."""
    problems = [
        f"{_module_name(p)}:{line} imports {name} from {module}"
        for p in MODULES.values()
        for module, name, line in _module_imports(p)
        if name and name.startswith("_") and not name.startswith("__")
    ]
    assert not problems, "\n".join(sorted(problems))
