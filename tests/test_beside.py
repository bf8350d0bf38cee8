"""Work beside a training (latentdyn.train.beside): a child process on a share of the
threads, the threads given back when it ends; and the latent-size sweep of
``reproduce nagano2017`` trained that way, with the numbers of a sweep trained after."""

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


@pytest.fixture
def two_threads():
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(n)


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


def test_the_sweep_trains_beside_the_vae_with_the_numbers_of_a_sweep_trained_after(
        two_threads, tmp_path, monkeypatch):
    trained_here = []
    run = LocalBackend.run
    monkeypatch.setattr(LocalBackend, "run",
                        lambda self, jobs, bar: (trained_here.extend(jobs), run(self, jobs, bar)))
    beside = tmp_path / "beside"
    assert _reproduce(beside) == 0
    manifest = json.loads((beside / "manifest.json").read_text())
    assert manifest["sweep_beside"]["exitcode"] == 0 and manifest["sweep_beside"]["threads"] == 1
    assert trained_here == []  # the child trained every point; this process none
    assert json.loads((beside / "sweep" / "sweep.json").read_text())["status"] == "completed"

    # the VAE given: nothing to train beside, the sweep trains after it, one thread a point
    after = tmp_path / "after"
    assert _reproduce(after, "--model", beside / "model") == 0
    assert "sweep_beside" not in json.loads((after / "manifest.json").read_text())
    assert trained_here and json.loads((after / "sweep" / "sweep.json").read_text())[
        "backend"] == {"name": "local", "workers": 2, "threads": 1}
    rows, weights = _sweep(beside)
    rows2, weights2 = _sweep(after)
    assert rows == rows2 and weights.keys() == weights2.keys()
    for name in weights:
        for key in weights[name]:
            assert torch.equal(weights[name][key], weights2[name][key]), (name, key)
    claims = [json.loads((f / "claims.json").read_text())["claims"] for f in (beside, after)]
    assert [c["run_value"] for c in claims[0]] == [c["run_value"] for c in claims[1]]


def test_no_overlap_trains_the_sweep_after_the_vae_on_every_thread(two_threads, tmp_path):
    out = tmp_path / "seq"
    assert _reproduce(out, "--no-overlap") == 0
    assert "sweep_beside" not in json.loads((out / "manifest.json").read_text())
    assert json.loads((out / "sweep" / "sweep.json").read_text())["backend"] == {
        "name": "local", "workers": 1, "threads": 2}
