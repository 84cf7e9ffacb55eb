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
