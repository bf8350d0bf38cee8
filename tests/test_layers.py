"""Data flows one way (docs/architecture.md): no module imports a layer it may not.

Each layer below lists the layers it may import besides itself and the shared core
(``checks``, ``errors``, ``io``, ``manifest``, ``png``); ``studies`` and ``cli`` may import
anything. ``models/`` and ``train/`` are also held to the whole order, bottom to top, and
to no import cycle.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "latentdyn"
SHARED = {"checks", "errors", "io", "manifest", "png"}
MAY_IMPORT = {
    "data": set(),
    "models": {"data"},
    "dynamics": {"data", "models"},
    "train": {"data", "models", "dynamics", "analysis"},
    "analysis": {"data", "models", "dynamics"},
    "sweep": {"data", "models", "train", "analysis"},
    "figures": {"analysis"},
    "reporting": {"analysis", "figures"},
    "explore": {"data", "models", "dynamics", "analysis", "train.runs"},
}


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("latentdyn.")}


def allowed(layer: str, module: str) -> bool:
    target = module.split(".")[1:]
    if target[0] in SHARED | {layer}:
        return True
    return any(target[:len(rule.split("."))] == rule.split(".") for rule in MAY_IMPORT[layer])


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_layer_imports_only_what_it_may(layer):
    files = [SRC / f"{layer}.py"] if (SRC / f"{layer}.py").is_file() else \
        sorted((SRC / layer).rglob("*.py"))
    assert files
    bad = {f"{f.relative_to(SRC)}: {m}" for f in files for m in imports(f)
           if not allowed(layer, m)}
    assert not bad, sorted(bad)


def test_the_rule_catches_a_backward_import():
    assert not allowed("analysis", "latentdyn.train.trainer")
    assert not allowed("models", "latentdyn.analysis.mi")
    assert not allowed("models", "latentdyn.train.runs")
    assert allowed("train", "latentdyn.manifest")
    assert not allowed("train", "latentdyn.reporting.report")
    assert not allowed("train", "latentdyn.figures.generic")


# bottom to top: a module may import its own layer and the layers below it
ORDER = ["core", "data", "models", "dynamics", "analysis", "train", "sweep", "figures",
         "reporting", "explore", "studies", "cli"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    return "core" if top in SHARED else top


def import_graph() -> dict[str, set[str]]:
    """Every module of the package -> the package modules it imports (lazy imports in
    functions too; ``from X import name`` counts as an import of X, or of X.name when
    that is a module)."""
    files = {module_name(f): f for f in SRC.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found = [f"{node.module}.{a.name}" for a in node.names]
                targets.update(t if t in files else node.module for t in found)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


@pytest.mark.parametrize("layer", ["models", "train"])
def test_models_and_train_import_nothing_above_them(layer):
    graph = import_graph()
    mine = [m for m in graph if layer_of(m) == layer]
    assert mine
    bad = sorted(f"{m} -> {t}" for m in mine for t in graph[m]
                 if layer_of(t) in ORDER and ORDER.index(layer_of(t)) > ORDER.index(layer))
    assert not bad, bad
    if layer == "models":  # core and data only
        assert not [t for m in mine for t in graph[m]
                    if layer_of(t) not in ("core", "data", "models")]


def test_no_import_cycle_runs_through_models_or_train():
    graph = import_graph()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            for t in graph.get(m, ()):
                if t == goal:
                    return True
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return False

    cycles = sorted(m for m in graph if layer_of(m) in ("models", "train") and reaches(m, m))
    assert not cycles, cycles
