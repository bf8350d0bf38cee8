"""Data flows one way (docs/architecture.md): no module imports a layer it may not.

Each layer below lists the layers it may import besides itself and the shared
``checks``, ``errors`` and ``io``; ``reproduce`` and ``cli`` may import anything.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "latentdyn"
SHARED = {"checks", "errors", "io", "manifest"}
MAY_IMPORT = {
    "data": set(),
    "models": set(),
    "dynamics": {"data", "models"},
    "train": {"data", "models", "figures.samples"},
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
    assert not allowed("analysis", "latentdyn.train.tasks")
    assert not allowed("models", "latentdyn.analysis.mi")
    assert allowed("train", "latentdyn.manifest")
    assert not allowed("train", "latentdyn.reporting.report")
