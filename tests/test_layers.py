"""Data flows one way (docs/architecture.md): the house reads top-down, every layer may
import only itself and the layers below it, with no exceptions, and no module imports
itself back through a circle.

The layers, bottom to top; every module of ``src/latentdyn`` belongs to exactly one.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "latentdyn"

# bottom to top
LAYERS = [
    ("core", {"errors", "checks", "io", "manifest", "png", "_version"}),
    ("data", {"data"}),
    ("models", {"models"}),
    ("dynamics", {"dynamics"}),
    ("analysis", {"analysis"}),
    ("train", {"train"}),
    ("sweep", {"sweep"}),
    ("figures", {"figures"}),
    ("reporting", {"reporting"}),
    ("explore", {"explore"}),
    ("studies", {"studies"}),
    ("cli", {"cli"}),
]
# the package's own __init__ re-exports load_run for the Python API; it sits on top
TOP = {"__init__"}
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_of(path: Path) -> str:
    """The first component below ``latentdyn`` (``train``, ``io``, ``__init__``)."""
    return path.relative_to(SRC).with_suffix("").parts[0]


def imports(path: Path) -> set[str]:
    """The latentdyn modules ``path`` imports (relative imports resolved)."""
    out = set()
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            if base.startswith("latentdyn"):
                if base != "latentdyn":  # `from latentdyn import io` imports latentdyn.io
                    out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("latentdyn"))
    return out


def existing(name: str) -> str | None:
    """The module file a dotted name denotes (a name imported from a module is dropped)."""
    parts = name.split(".")
    while parts:
        p = SRC.parent.joinpath(*parts)
        if p.with_suffix(".py").is_file() or (p / "__init__.py").is_file():
            return ".".join(parts)
        parts = parts[:-1]
    return None


FILES = sorted(SRC.rglob("*.py"))


def layer_rank(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) == 1:
        return None  # the package itself
    return RANK.get(parts[1])


def test_every_module_belongs_to_a_layer():
    unplaced = sorted({package_of(f) for f in FILES} - set(RANK) - TOP)
    assert not unplaced, f"modules in no layer: {unplaced} (add them to LAYERS)"


@pytest.mark.parametrize("layer", [name for name, _ in LAYERS])
def test_layer_imports_only_itself_and_below(layer):
    names = dict(LAYERS)[layer]
    bad = []
    for f in FILES:
        if package_of(f) not in names:
            continue
        mine = RANK[package_of(f)]
        for m in sorted(imports(f)):
            target = layer_rank(m)
            if m == "latentdyn" or (target is not None and target > mine):
                bad.append(f"{f.relative_to(SRC)}: {m}")
    assert not bad, bad


def test_no_import_circles():
    """No module reaches itself through its imports (module level and in functions)."""
    graph = {}
    for f in FILES:
        me = module_name(f)
        graph[me] = {t for m in imports(f) if (t := existing(m)) and t != me
                     and not me.startswith(t + ".")}  # a package's own __init__ is no edge
    circles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not circles, [" -> ".join(c) for c in circles[:5]]


def test_the_rule_catches_a_backward_import_and_a_circle():
    assert layer_rank("latentdyn.train.tasks") > layer_rank("latentdyn.analysis.mi")
    assert layer_rank("latentdyn.cli") > layer_rank("latentdyn.studies.driver")
    assert layer_rank("latentdyn.manifest") < layer_rank("latentdyn.data")
