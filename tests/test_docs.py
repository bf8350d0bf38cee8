"""The code in the documentation runs: every ``python`` block of the documents below,
in order, in one namespace per document, in a fresh working folder.

A block preceded by ``<!-- module: NAME -->`` is the source of a module: it is written
to ``NAME.py`` on the import path (so later blocks import it), as a new file in the
package would be.
"""

import importlib
import re
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["docs/architecture.md"]
BLOCK = re.compile(r"(?:<!--\s*module:\s*(?P<module>[\w.]+)\s*-->\s*\n)?```(?P<lang>\w*)\n"
                   r"(?P<code>.*?)\n```", re.S)


def python_blocks(text: str) -> list[tuple[str | None, str]]:
    return [(m["module"], m["code"]) for m in BLOCK.finditer(text) if m["lang"] == "python"]


@pytest.mark.parametrize("doc", DOCS)
def test_python_blocks_run(doc, tmp_path, monkeypatch):
    blocks = python_blocks((ROOT / doc).read_text())
    assert blocks, f"{doc} has no python block"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modules").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    torch.set_num_threads(1)
    namespace: dict = {"__name__": "__docs__"}
    added = []
    try:
        for module, code in blocks:
            if module:
                (tmp_path / "modules" / f"{module}.py").write_text(code + "\n")
                importlib.invalidate_caches()
                added.append(module)
            else:
                exec(compile(code, doc, "exec"), namespace)
    finally:
        for module in added:
            sys.modules.pop(module, None)


def test_block_parser_sees_modules():
    text = "x\n<!-- module: a.b -->\n```python\nA = 1\n```\n\n```bash\nls\n```\n```python\nB\n```"
    assert python_blocks(text) == [("a.b", "A = 1"), (None, "B")]
