"""The code in the documentation runs: every fenced code block of ``README.md`` and of
every ``docs/*.md``, at toy size, in a fresh working folder per document.

Python blocks (```` ```python ````)
    run in order, in one namespace per document. A block preceded by
    ``<!-- module: NAME -->`` is the source of a module: it is written to ``NAME.py`` on
    the import path (so later blocks import it), as a new file in the package would be.
    Other blocks first go through :data:`PY_TOY` (toy size, see below).

Shell blocks (```` ```bash ````, ``sh``, ``shell``, ``console``)
    Lines ending in ``\\`` are joined; ``# comments`` are dropped; in ``console`` blocks
    only the lines starting ``$ `` are commands (the rest is output). Each line is cut at
    ``&&`` and ``;``. Every part starting ``latentdyn`` runs in-process through
    ``latentdyn.cli.main(argv)``, in document order, after the rewrites below, and must
    exit 0. Every other part must match :data:`SKIPPED` (setup, the test suite, the
    benchmarks, CI, git), else the test fails: a new kind of line has to be added to
    that list on purpose.

Other blocks
    ``text`` blocks (diagrams, formulas) are not code. A block of any other language, or
    with no language, fails :func:`test_every_block_has_a_known_language`.

``<!-- no-run: REASON -->`` before a block skips it; REASON must be given. Keep it rare.

Toy size: the rewrites of a ``latentdyn`` command (:func:`toy_argv`)
    ==========================================  =========================================
    as written                                  runs as
    ==========================================  =========================================
    ``--dataset mnist-embedded|mnist|           ``--dataset`` :data:`TOY_DATASET`
    fashion-mnist``
    (no ``--dataset``, command takes one)       ``--dataset`` :data:`TOY_DATASET` added
    ``--datasets`` of real data sets only       dropped (the smoke profile's own)
    ``--profile quick|paper``                   ``--profile smoke``
    (no ``--profile``, command takes one)       ``--profile smoke`` added
    ``--epochs N``, ``--gan-epochs N``          at most 1 (2 in a document that shows
                                                ``--resume``)
    ``--trials N``                              at most 4
    ``--steps N``                               at most 5
    ``--nz N``, ``--hidden N``                  at most 4, at most 16
    ``--fits N``                                at most 2
    ``--seeds A,B,C,...``                       the first two seeds
    ``--device cuda...``                        ``--device cpu``
    ``mi`` without ``--n-train``/``--n-test``   ``--n-train 200 --n-test 50`` added
    (command takes ``--quiet``)                 ``--quiet`` added
    placeholder ``RUN`` after ``--encoder``,    ``results/toledo2023/runs/<that role>``,
    ``--classifier``, ``--judge``, ``--gan``    the runs of the document's first
                                                reproduction
    a command of :data:`HELP_ONLY`              ``--help`` appended (``latentdyn
    (``explore``: a server)                     explore`` serves until Ctrl-C); the
                                                option names are still checked
    ==========================================  =========================================

    A run folder a document uses but never trains (:data:`GIVEN_RUNS`, e.g.
    ``runs/my-vae``) is a copy of one toy VAE trained once per session. Within a
    document, commands share the folder, so ``runs/vae`` trained by one line is the
    ``runs/vae`` of the next.

Toy size of python blocks (:data:`PY_TOY`): the string literals ``"mnist-embedded"``,
``"mnist"``, ``"fashion-mnist"`` become :data:`TOY_DATASET`; ``TrainConfig(...)`` without
``dataset=`` gets ``dataset=TOY_DATASET``; ``epochs=N`` is at most 2.
"""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import torch

from latentdyn.cli import cli, main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]

# a synthetic hierarchy with digits 0-9 (nagano2017 follows label 6), 8x8 images,
# 60 training and 20 test images: every study runs on it in seconds
TOY_DATASET = "synthetic:k=10,m=6,side=8,test=2"
REAL_DATASETS = {"mnist-embedded", "mnist", "fashion-mnist"}

SHELL = {"bash", "sh", "shell", "console"}
NOT_CODE = {"text"}

# parts of a shell line that are not run, each a prefix of its words; a path prefix
# ends in "/" (``python bench/`` matches ``python bench/train_throughput.py``)
SKIPPED = [
    ("pip", "install"),              # installation
    ("python", "-m", "venv"),        # a virtual environment
    (".", ".venv/bin/activate"),
    ("source", ".venv/bin/activate"),
    ("python", "-m", "pytest"),      # the test suite itself
    ("python", "bench/"),            # benchmarks: minutes, measured on purpose
    ("python", "tools/"),            # tools/smoke_digest.py runs every study (tested there)
    ("diff",),                       # comparing that tool's output
    ("bash", ".ci/run"),             # CI
    ("git",),
    ("cd",),
]

# the placeholder RUN in the documents, by the option it follows
PLACEHOLDERS = {
    "--encoder": "results/toledo2023/runs/encoder",
    "--classifier": "results/toledo2023/runs/classifier",
    "--judge": "results/toledo2023/runs/judge",
    "--gan": "results/toledo2023/runs/gan",
}

# run folders a document uses as given, never trained in it: a copy of the session's toy VAE
GIVEN_RUNS = ["runs/my-vae"]

# commands that cannot finish in a test: they run with --help appended instead, which
# still checks every option name of the line (click refuses an unknown one first)
HELP_ONLY = {("explore",): "serves a page until Ctrl-C"}

CAPS = {"--trials": 4, "--steps": 5, "--nz": 4, "--hidden": 16, "--fits": 2}

BLOCK = re.compile(r"(?:<!--\s*(?P<tag>module|no-run):\s*(?P<arg>[^\n]*?)\s*-->\s*\n)?"
                   r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)\n```", re.S | re.M)


@dataclass
class Block:
    lang: str
    code: str
    line: int
    module: str | None = None
    no_run: str | None = None


def blocks(text: str) -> list[Block]:
    found = []
    for m in BLOCK.finditer(text):
        b = Block(m["lang"], m["code"], text.count("\n", 0, m.start("code")))
        if m["tag"] == "module":
            b.module = m["arg"]
        elif m["tag"] == "no-run":
            b.no_run = m["arg"]
        found.append(b)
    return found


def python_blocks(text: str) -> list[tuple[str | None, str]]:
    return [(b.module, b.code) for b in blocks(text) if b.lang == "python" and b.no_run is None]


# --- shell blocks ---------------------------------------------------------------------

def shell_lines(block: Block) -> list[tuple[int, str]]:
    """(line number, command) of a shell block, continuation lines joined."""
    out, pending, start = [], "", 0
    for k, raw in enumerate(block.code.split("\n")):
        line = raw.rstrip()
        if block.lang == "console" and not pending:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if not pending:
            start = block.line + k + 1
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.strip():
            out.append((start, line.strip()))
    return out


def split_line(line: str) -> list[list[str]]:
    """The words of each part of ``line`` between ``&&`` and ``;``, comments dropped."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    parts, cur = [], []
    for tok in lex:
        if tok in ("&&", ";"):
            parts.append(cur)
            cur = []
        else:
            cur.append(tok)
    parts.append(cur)
    return [p for p in parts if p]


def skipped(words: list[str]) -> bool:
    for prefix in SKIPPED:
        if len(words) >= len(prefix) and all(
                w == p or (p.endswith("/") and w.startswith(p)) for w, p in zip(words, prefix)):
            return True
    return False


def command_of(argv: list[str]) -> click.Command | None:
    """The click command ``argv`` (without the leading ``latentdyn``) names."""
    cmd: click.Command = cli
    ctx = click.Context(cli)
    for word in argv:
        if not isinstance(cmd, click.Group):
            break
        sub = cmd.get_command(ctx, word)
        if sub is None:
            return None
        cmd = sub
    return None if isinstance(cmd, click.Group) else cmd


def option_names(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}


def toy_argv(argv: list[str], epochs: int = 1) -> list[str]:
    """``argv`` (the words after ``latentdyn``) rewritten to toy size (module docstring)."""
    cmd = command_of(argv)
    names = option_names(cmd) if cmd is not None else set()
    out, i = [], 0
    while i < len(argv):
        word = argv[i]
        value = argv[i + 1] if i + 1 < len(argv) else None
        if word == "--datasets" and value is not None and set(value.split(",")) <= set(
                REAL_DATASETS):  # the profile's own (smoke) data sets instead
            i += 2
            continue
        if value is not None and word in ("--dataset", "--profile", "--epochs", "--gan-epochs",
                                          "--device", "--seeds", *CAPS, *PLACEHOLDERS):
            if word == "--dataset" and value in REAL_DATASETS:
                value = TOY_DATASET
            elif word == "--profile" and value in ("quick", "paper"):
                value = "smoke"
            elif word in ("--epochs", "--gan-epochs"):
                value = str(min(int(value), epochs))
            elif word in CAPS:
                value = str(min(int(value), CAPS[word]))
            elif word == "--device" and value.startswith("cuda"):
                value = "cpu"
            elif word == "--seeds":
                value = ",".join(value.split(",")[:2])
            elif word in PLACEHOLDERS and value == "RUN":
                value = PLACEHOLDERS[word]
            out += [word, value]
            i += 2
            continue
        out.append(word)
        i += 1
    if "--profile" in names and "--profile" not in out:
        out += ["--profile", "smoke"]
    if "--dataset" in names and "--dataset" not in out:
        out += ["--dataset", TOY_DATASET]
    if cmd is not None and cmd.name == "mi":
        for opt, v in (("--n-train", "200"), ("--n-test", "50")):
            if opt not in out:
                out += [opt, v]
    if "--quiet" in names and "--quiet" not in out:
        out.append("--quiet")
    if any(tuple(out[:len(words)]) == words for words in HELP_ONLY):
        out.append("--help")
    return out


def doc_commands(doc: str) -> list[tuple[int, list[str]]]:
    """(line, argv) of every ``latentdyn`` command of ``doc``, as written; raises on a
    shell part that is neither a command nor in :data:`SKIPPED`."""
    cmds = []
    for b in blocks((ROOT / doc).read_text()):
        if b.lang not in SHELL or b.no_run is not None:
            continue
        for line_no, line in shell_lines(b):
            for words in split_line(line):
                if words[0] == "latentdyn":
                    assert not {"|", ">", "<", ">>"} & set(words), \
                        f"{doc}:{line_no}: redirection in a latentdyn command: {line}"
                    cmds.append((line_no, words[1:]))
                elif not skipped(words):
                    raise AssertionError(f"{doc}:{line_no}: {' '.join(words)!r} is neither a "
                                         "latentdyn command nor in SKIPPED")
    return cmds


# --- fixtures ---------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Nothing in the documents may reach the network or the user's data folder."""
    def refuse(*args, **kwargs):
        raise OSError("network access in a documentation test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv("LATENTDYN_DATA", str(tmp_path / "data"))
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def toy_vae(tmp_path_factory):
    """One toy VAE run, copied wherever a document uses a run it never trains."""
    root = tmp_path_factory.mktemp("toy-vae")
    out = root / "vae"
    rc = main(["train", "--dataset", TOY_DATASET, "--nz", "4", "--hidden", "16", "--epochs",
               "1", "--device", "cpu", "--quiet", "--out", str(out)])
    assert rc == 0
    return out


# --- the tests --------------------------------------------------------------------------

PY_DOCS = [d for d in DOCS if python_blocks((ROOT / d).read_text())]
SHELL_DOCS = [d for d in DOCS if doc_commands(d)]


@pytest.mark.parametrize("doc", PY_DOCS)
def test_python_blocks_run(doc, tmp_path, monkeypatch):
    blocks_ = python_blocks((ROOT / doc).read_text())
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modules").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    namespace: dict = {"__name__": "__docs__"}
    added = []
    try:
        for module, code in blocks_:
            if module:
                (tmp_path / "modules" / f"{module}.py").write_text(code + "\n")
                importlib.invalidate_caches()
                added.append(module)
            else:
                exec(compile(py_toy(code), doc, "exec"), namespace)
    finally:
        for module in added:
            sys.modules.pop(module, None)


@pytest.mark.parametrize("doc", SHELL_DOCS)
def test_shell_blocks_run(doc, tmp_path, monkeypatch, capsys, toy_vae):
    """Every ``latentdyn`` line of ``doc`` exits 0 at toy size, in order; all failures
    are listed, not only the first."""
    monkeypatch.chdir(tmp_path)
    cmds = doc_commands(doc)
    epochs = 2 if any("--resume" in argv for _, argv in cmds) else 1
    text = (ROOT / doc).read_text()
    for given in GIVEN_RUNS:
        if given in text:
            shutil.copytree(toy_vae, tmp_path / given)
    failures = []
    for line_no, argv in cmds:
        toy = toy_argv(argv, epochs)
        rc = main(toy)
        out = capsys.readouterr()
        if rc != 0:
            err = (out.err.strip().splitlines() or [""])[-1]
            failures.append(f"{doc}:{line_no}: latentdyn {shlex.join(argv)}\n"
                            f"    ran as: latentdyn {shlex.join(toy)}\n"
                            f"    exit {rc}: {err}")
    assert not failures, "\n".join(failures)


def test_every_block_has_a_known_language():
    bad = []
    for doc in DOCS:
        for b in blocks((ROOT / doc).read_text()):
            if b.lang not in {"python", *SHELL, *NOT_CODE}:
                bad.append(f"{doc}:{b.line}: block language {b.lang!r}")
            if b.no_run is not None and not b.no_run.strip():
                bad.append(f"{doc}:{b.line}: <!-- no-run: --> without a reason")
    assert not bad, "\n".join(bad)


def test_every_document_with_code_is_exercised():
    for doc in DOCS:
        code = [b for b in blocks((ROOT / doc).read_text())
                if b.lang not in NOT_CODE and b.no_run is None]
        runs = doc in PY_DOCS or doc in SHELL_DOCS
        only_skipped = all(b.lang in SHELL for b in code)
        assert runs or only_skipped, f"{doc} has code blocks that no test runs"


# --- toy size of python blocks ------------------------------------------------------------

PY_TOY = [
    (re.compile(r"""(["'])(?:mnist-embedded|mnist|fashion-mnist)\1"""), repr(TOY_DATASET)),
    (re.compile(r"\bTrainConfig\((?![^()]*\bdataset=)"), f"TrainConfig(dataset={TOY_DATASET!r}, "),
    (re.compile(r"\bepochs=(\d+)"), lambda m: f"epochs={min(int(m[1]), 2)}"),
]


def py_toy(code: str) -> str:
    for pattern, repl in PY_TOY:
        code = pattern.sub(repl, code)
    return code


# --- the parser itself ------------------------------------------------------------------

def test_block_parser_sees_modules():
    text = "x\n<!-- module: a.b -->\n```python\nA = 1\n```\n\n```bash\nls\n```\n```python\nB\n```"
    assert python_blocks(text) == [("a.b", "A = 1"), (None, "B")]


def test_block_parser_no_run_and_shell_lines():
    text = ("<!-- no-run: needs a GPU -->\n```python\nA\n```\n"
            "```console\n$ latentdyn train \\\n    --nz 2   # note\noutput line\n```\n")
    bs = blocks(text)
    assert [b.no_run for b in bs] == ["needs a GPU", None]
    assert python_blocks(text) == []
    assert [c for _, c in shell_lines(bs[1])] == ["latentdyn train      --nz 2   # note"]
    assert split_line("pip install -e . && latentdyn data list  # x") == [
        ["pip", "install", "-e", "."], ["latentdyn", "data", "list"]]
    assert skipped(["python", "bench/x.py"]) and not skipped(["python", "x.py"])


def test_toy_argv():
    assert toy_argv(["train", "--dataset", "mnist", "--nz", "100", "--epochs", "100"], 2) == [
        "train", "--dataset", TOY_DATASET, "--nz", "4", "--epochs", "2", "--quiet"]
    assert toy_argv(["reproduce", "toledo2023", "--profile", "paper", "--device", "cuda",
                     "--gan", "RUN"]) == [
        "reproduce", "toledo2023", "--profile", "smoke", "--device", "cpu", "--gan",
        PLACEHOLDERS["--gan"], "--dataset", TOY_DATASET, "--quiet"]
    assert toy_argv(["reproduce", "nagano2017"]) == [
        "reproduce", "nagano2017", "--profile", "smoke", "--dataset", TOY_DATASET, "--quiet"]
    assert toy_argv(["explore", "--model", "runs/vae", "--port", "0"])[-1] == "--help"
    assert toy_argv(["transition", "--datasets", "fashion-mnist", "--out", "r"])[:3] == [
        "transition", "--out", "r"]
    assert toy_argv(["transition", "--datasets", "digits"])[:3] == [
        "transition", "--datasets", "digits"]
    assert py_toy('TrainConfig(nz=100, epochs=30)') == (
        f"TrainConfig(dataset={TOY_DATASET!r}, nz=100, epochs=2)")


def test_the_readme_command_table_names_every_registered_command():
    """The README's command table is the docs' list of commands: every study of the
    registry has a row (``latentdyn NAME …``), and no row names a study command that is
    not registered."""
    from latentdyn.studies import GROUPS, STUDIES

    rows = re.findall(r"^\| `latentdyn ([^`]+)`", (ROOT / "README.md").read_text(), re.M)
    named = {" ".join(r.split()[:2]) if r.split()[0] in GROUPS else r.split()[0]
             for r in rows}
    missing = sorted(set(STUDIES) - named)
    assert not missing, f"registered but not in the README's table: {missing}"
    unknown = sorted(n for n in named if n.split()[0] in GROUPS and n not in STUDIES)
    assert not unknown, f"in the README's table but not registered: {unknown}"
