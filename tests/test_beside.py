"""Work beside a training (latentdyn.train.beside): a child process on a share of the
threads, the threads given back when it ends; and the latent-size sweep of
``reproduce nagano2017`` trained that way, with the numbers of a sweep trained after."""

import contextlib
import json
import os
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from latentdyn.cli import main
from latentdyn.sweep.backends import LocalBackend
from latentdyn.train.beside import Beside

DATA = "synthetic:m=20,side=6,test=5"  # 10 concepts, 200 memories of 36 pixels


@contextlib.contextmanager
def torch_threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def two_threads():
    with torch_threads(2):
        yield


def recording_run(jobs: list):
    """LocalBackend.run that also collects the jobs it is given (the points trained here)."""
    run = LocalBackend.run
    return lambda self, js, bar: (jobs.extend(js), run(self, js, bar))


def write_threads(path: str) -> None:
    """What the child sees: its pid and its torch threads."""
    with open(path, "w") as f:
        json.dump({"pid": os.getpid(), "threads": torch.get_num_threads()}, f)


def fail() -> None:
    raise RuntimeError("this line must not reach stderr")


def test_the_child_runs_on_its_threads_and_this_process_gets_them_back(two_threads, tmp_path):
    out = tmp_path / "child.json"
    with Beside(write_threads, (str(out),), threads=1) as beside:
        assert torch.get_num_threads() == 1  # the other thread, while the child runs
        assert beside.wait()
        assert torch.get_num_threads() == 2
    seen = json.loads(out.read_text())
    assert seen["threads"] == 1 and seen["pid"] != os.getpid()
    record = beside.record()
    assert record["exitcode"] == 0 and record["threads"] == 1 and record["others"] == 1
    assert torch.get_num_threads() == 2


def test_the_callback_gives_the_threads_back_once_the_child_has_ended(two_threads, tmp_path):
    with Beside(write_threads, (str(tmp_path / "c.json"),), threads=1) as beside:
        beside.process.join()  # ended, not yet noticed
        assert torch.get_num_threads() == 1 and beside.ended is None
        beside.callback.on_advance(4, 10, 1, None)  # what the training loop calls
        assert torch.get_num_threads() == 2 and beside.poll()


def test_a_failing_child_prints_nothing_and_says_so(two_threads, capfd):
    with Beside(fail) as beside:
        assert not beside.wait()
    assert beside.exitcode == 1 and torch.get_num_threads() == 2
    assert "must not reach" not in capfd.readouterr().err


def test_an_error_here_stops_the_child(two_threads):
    with pytest.raises(KeyboardInterrupt):
        with Beside(time.sleep, (600,)) as beside:
            raise KeyboardInterrupt
    assert not beside.process.is_alive() and beside.exitcode != 0
    assert torch.get_num_threads() == 2


PARENT = """
import os, sys, time
from latentdyn.train.beside import Beside
b = Beside(time.sleep, (600,)).__enter__()
print(b.process.pid, flush=True)
os.kill(os.getpid(), 9)
"""


def test_the_child_ends_when_its_parent_is_killed():
    done = subprocess.run([sys.executable, "-c", PARENT], capture_output=True, text=True,
                          timeout=120)
    pid = int(done.stdout.split()[0])
    for _ in range(600):  # the child notices at once; allow a slow machine 60 s
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail("the child outlived its killed parent")


# ------------------------------------------------------------------- the study
def _reproduce(out, *extra) -> int:
    return main(["reproduce", "nagano2017", "--profile", "smoke", "--dataset", DATA, "--nz", "6",
                 "--out", str(out), "--quiet", "--device", "cpu", *map(str, extra)])


def _sweep(folder) -> tuple[list, dict]:
    rows = [line.split(",")[:-2] for line in  # without wall_s and ensemble
            (folder / "sweep" / "summary.csv").read_text().splitlines()]
    weights = {p.name: load_file(p / "model.safetensors")
               for p in sorted((folder / "sweep").iterdir()) if p.is_dir()}
    return rows, weights


@pytest.fixture(scope="module")
def beside_run(tmp_path_factory):
    """A smoke run with the sweep beside the VAE (two threads), and the jobs the sweep
    stage of this process trained."""
    trained_here = []
    run = LocalBackend.run
    LocalBackend.run = recording_run(trained_here)
    try:
        with torch_threads(2):
            out = tmp_path_factory.mktemp("beside") / "run"
            assert _reproduce(out) == 0
    finally:
        LocalBackend.run = run
    return out, trained_here


def _same_sweep(a, b) -> None:
    rows, weights = _sweep(a)
    rows2, weights2 = _sweep(b)
    assert rows == rows2 and weights.keys() == weights2.keys()
    for name in weights:
        for key in weights[name]:
            assert torch.equal(weights[name][key], weights2[name][key]), (name, key)


def _claim_values(folder) -> list:
    return [c["run_value"] for c in json.loads((folder / "claims.json").read_text())["claims"]]


def test_the_sweep_trains_beside_the_vae_with_the_numbers_of_a_sweep_trained_after(
        beside_run, two_threads, tmp_path, monkeypatch):
    beside, trained_here = beside_run
    manifest = json.loads((beside / "manifest.json").read_text())
    assert manifest["sweep_beside"]["exitcode"] == 0 and manifest["sweep_beside"]["threads"] == 1
    assert trained_here == []  # the child trained every point; this process none
    assert json.loads((beside / "sweep" / "sweep.json").read_text())["status"] == "completed"

    # the VAE given: nothing to train beside, the sweep trains after it, one thread a point
    jobs = []
    monkeypatch.setattr(LocalBackend, "run", recording_run(jobs))
    after = tmp_path / "after"
    assert _reproduce(after, "--model", beside / "model") == 0
    assert "sweep_beside" not in json.loads((after / "manifest.json").read_text())
    assert jobs and json.loads((after / "sweep" / "sweep.json").read_text())[
        "backend"] == {"name": "local", "workers": 2, "threads": 1}
    _same_sweep(beside, after)
    assert _claim_values(beside) == _claim_values(after)


def test_a_run_interrupted_while_the_sweep_trains_beside_resumes_to_the_same_numbers(
        beside_run, two_threads, tmp_path, monkeypatch):
    from latentdyn.studies.nagano2017 import models
    from latentdyn.train.hooks import StopAt

    plain = models.ensure_trained

    def stopped(*args, callbacks=(), **kwargs):  # Ctrl-C in the VAE's second epoch
        return plain(*args, callbacks=[*callbacks, StopAt(1, 0)], **kwargs)

    monkeypatch.setattr(models, "ensure_trained", stopped)
    out = tmp_path / "run"
    assert _reproduce(out) == 130
    monkeypatch.setattr(models, "ensure_trained", plain)
    assert _reproduce(out) == 0
    beside, _ = beside_run
    for name in ("model.safetensors", "checkpoint.safetensors"):
        a, b = load_file(beside / "model" / name), load_file(out / "model" / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
    _same_sweep(beside, out)
    assert _claim_values(beside) == _claim_values(out)


def test_no_overlap_trains_the_sweep_after_the_vae_on_every_thread(two_threads, tmp_path):
    out = tmp_path / "seq"
    assert _reproduce(out, "--no-overlap") == 0
    assert "sweep_beside" not in json.loads((out / "manifest.json").read_text())
    assert json.loads((out / "sweep" / "sweep.json").read_text())["backend"] == {
        "name": "local", "workers": 1, "threads": 2}
