"""No pickles (docs/reliability.md): nothing in the package unpickles. ``torch.load`` is
called only with ``weights_only=True``, ``np.load`` only with ``allow_pickle=False``, and
no module imports a pickle reader (pickle, cloudpickle, dill, joblib, shelve, marshal,
pandas' read_pickle). A pythae folder of cloudpickled networks is loaded by pythae itself,
and only with --trust-pickles (tests/test_adapters.py)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "latentdyn"
PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve",
                  "marshal"}


def _keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else kw.value
    return None


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def unpickling(source: str, where: str = "<source>") -> list[str]:
    """Every place in ``source`` that can unpickle: ``where:line what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        found += [f"{where}:{node.lineno} imports {n}" for n in names if n in PICKLE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = _dotted(node.func)
        if func in ("torch.load", "torch.serialization.load") and \
                _keyword(node, "weights_only") is not True:
            found.append(f"{where}:{node.lineno} {func} without weights_only=True")
        if func in ("np.load", "numpy.load") and _keyword(node, "allow_pickle") is not False:
            found.append(f"{where}:{node.lineno} {func} without allow_pickle=False")
        if func.endswith("read_pickle") or func.endswith("pickle.loads"):
            found.append(f"{where}:{node.lineno} {func}")
    return found


def test_nothing_is_unpickled():
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50
    found = [f for path in files
             for f in unpickling(path.read_text(), str(path.relative_to(SRC)))]
    assert not found, found


@pytest.mark.parametrize("source, what", [
    ("import torch\ntorch.load('m.pt')", "without weights_only=True"),
    ("import torch\ntorch.load('m.pt', weights_only=False)", "without weights_only=True"),
    ("import numpy as np\nnp.load('a.npz')", "without allow_pickle=False"),
    ("import numpy as np\nnp.load('a.npz', allow_pickle=True)", "without allow_pickle=False"),
    ("import pickle", "imports pickle"),
    ("from cloudpickle import loads", "imports cloudpickle"),
    ("import pandas as pd\npd.read_pickle('x')", "read_pickle"),
])
def test_the_check_finds_each_way_to_unpickle(source, what):
    found = unpickling(source)
    assert len(found) == 1 and what in found[0], found
    assert not unpickling("import torch, numpy as np\ntorch.load('m', weights_only=True)\n"
                          "np.load('a', allow_pickle=False)")
