"""Snapshots (issue 20): weights at chosen optimiser steps, written, listed in the
manifest, kept and exact across --resume, loaded as RUN@STEP by every --model."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from latentdyn.cli import main
from latentdyn.errors import ConfigError
from latentdyn.sweep import run_sweep
from latentdyn.train import TrainConfig, train
from latentdyn.train.hooks import StopAt
from latentdyn.train.snapshots import parse_snapshots, saved_steps, snapshot_path, snapshot_steps
from latentdyn.train.sources import open_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "synthetic:k=4,m=30,side=6,test=10"  # 120 images: 8 steps of 16 per epoch
TINY = dict(dataset=DATA, nz=3, hidden=16, epochs=4, batch_size=16, device="cpu")


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def test_snapshot_steps_log_and_listed():
    assert snapshot_steps("log", 32) == [1, 2, 4, 8, 16, 32]
    assert snapshot_steps("log", 40) == [1, 2, 4, 8, 16, 32, 40]
    assert snapshot_steps([5, 100], 32) == [5]
    assert snapshot_steps(None, 32) == []
    assert parse_snapshots("100, 7") == [7, 100] and parse_snapshots("none") is None
    for bad in ("0", "x", "3,3", [1.5], -1):
        with pytest.raises(ConfigError, match="snapshots"):
            parse_snapshots(bad)


def test_snapshots_written_listed_and_equal_the_final_weights(tmp_path):
    run = train(TrainConfig(**TINY, snapshots="log"), tmp_path / "run", progress=False)
    assert saved_steps(run) == [1, 2, 4, 8, 16, 32]
    listed = manifest(run)["snapshots"]
    assert [s["step"] for s in listed] == [1, 2, 4, 8, 16, 32]
    assert listed[3] == {"step": 8, "epoch": 1.0, "file": "snapshots/step-000000008.safetensors"}
    last, final = load_file(str(snapshot_path(run, 32))), load_file(str(run / "model.safetensors"))
    assert all(torch.equal(last[k], final[k]) for k in final)
    first = load_file(str(snapshot_path(run, 1)))
    assert not all(torch.equal(first[k], final[k]) for k in final)
    # a run without snapshots writes none and its config reads as before
    plain = train(TrainConfig(**TINY), tmp_path / "plain", progress=False)
    assert "snapshots" not in json.loads((plain / "config.json").read_text())
    assert not (plain / "snapshots").exists() and "snapshots" not in manifest(plain)


@pytest.mark.parametrize("stop", [(1, 2), (2, 7)])
def test_killed_and_resumed_writes_the_same_snapshots(tmp_path, stop):
    cfg = dict(TINY, snapshots=[3, 9, 13, 20, 31])
    full = train(TrainConfig(**cfg), tmp_path / "full", progress=False)
    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):  # killed mid-epoch, after some snapshots
        train(TrainConfig(**cfg), part, progress=False, callbacks=[StopAt(*stop)])
    assert saved_steps(part)  # some were written before the kill
    train(TrainConfig(**cfg), part, progress=False, resume=True)
    assert saved_steps(part) == saved_steps(full) == [3, 9, 13, 20, 31]
    assert [s["step"] for s in manifest(part)["snapshots"]] == [3, 9, 13, 20, 31]
    for step in saved_steps(full):
        a, b = load_file(str(snapshot_path(full, step))), load_file(str(snapshot_path(part, step)))
        assert all(torch.equal(a[k], b[k]) for k in a), step


def test_run_at_step_loads_the_snapshot_and_refuses_an_unsaved_step(tmp_path):
    run = train(TrainConfig(**TINY, snapshots=[4, 16]), tmp_path / "run", progress=False)
    src = open_model(f"{run}@4", "cpu")
    saved = load_file(str(snapshot_path(run, 4)))
    assert all(torch.equal(v, saved[k]) for k, v in src.model.state_dict().items())
    assert src.config.nz == 3 and src.path == f"{run}@4"
    with pytest.raises(ConfigError, match=r"no snapshot at step 5 .*saved: 4, 16"):
        open_model(f"{run}@5", "cpu")
    plain = train(TrainConfig(**TINY), tmp_path / "plain", progress=False)
    with pytest.raises(ConfigError, match="saved no snapshots"):
        open_model(f"{plain}@4", "cpu")


def test_cli_snapshots_and_model_at_step(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", DATA, "--nz", "2", "--hidden", "8", "--epochs", "2",
                 "--batch-size", "16", "--device", "cpu", "--quiet", "--snapshots", "log",
                 "--out", str(out)]) == 0
    assert saved_steps(out) == [1, 2, 4, 8, 16]
    capsys.readouterr()
    rc = main(["dynamics", "--model", f"{out}@3", "--out", str(tmp_path / "d.npz"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error:") and "no snapshot at step 3" in err \
        and len(err.strip().splitlines()) == 1
    assert main(["dynamics", "--model", f"{out}@4", "--out", str(tmp_path / "d.npz"),
                 "--quiet", "--steps", "3", "--device", "cpu"]) == 0
    assert (tmp_path / "d.npz").is_file()
    assert main(["train", "--dataset", DATA, "--epochs", "1", "--snapshots", "0,5",
                 "--out", str(tmp_path / "bad"), "--quiet", "--device", "cpu"]) == 2


def test_sweep_points_write_snapshots(tmp_path):
    grid = {"dataset": DATA, "epochs": 2, "hidden": 16, "nz": [2, 3], "batch_size": [16],
            "device": "cpu", "snapshots": "log"}
    run_sweep(grid, tmp_path / "sweep", progress=False, ll_k=0)
    points = sorted(p for p in (tmp_path / "sweep").iterdir() if (p / "config.json").is_file())
    assert len(points) == 2
    for p in points:  # the ensemble's members each write their own
        assert saved_steps(p) == [1, 2, 4, 8, 16]
        single = train(TrainConfig.from_dict(json.loads((p / "config.json").read_text())),
                       tmp_path / f"single-{p.name}", progress=False)
        for step in (2, 16):
            a = load_file(str(snapshot_path(p, step)))
            b = load_file(str(snapshot_path(single, step)))
            assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a), (p.name, step)
