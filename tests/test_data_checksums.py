"""Results are tied to the data they were computed from (issue 21, items 1 and 12): a
run records where its data file is (an absolute path, so it loads from any folder) and
its md5; a command that reads the run again on that data, after the file changed, is
refused in one line; a sweep point or a conditions model trained on the old file is
trained again (they are caches); a run resumed on other data is refused."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import cli, one_error_line

from latentdyn.data import load_dataset

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def write_npz(path: Path, seed: int) -> None:
    """A small labelled set (a synthetic hierarchy of ``seed``) as an npz file."""
    ds = load_dataset(f"synthetic:k=3,m=10,side=6,test=4,seed={seed}")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=ds.train_images.numpy(), labels=ds.train_labels.numpy(),
             test_images=ds.test_images.numpy(), test_labels=ds.test_labels.numpy(),
             image_shape=np.asarray(ds.image_shape))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def train(out, dataset, *extra) -> int:
    return cli("train", "--dataset", dataset, "--nz", 2, "--hidden", 8, "--epochs", 1,
               "--batch-size", 10, "--device", "cpu", "--quiet", "--out", out, *extra)


ATTX = ["--p", "0,0.5", "--trials", 2, "--steps", 3, "--memories", 3, "--starts", 3,
        "--max-steps", 10, "--device", "cpu", "--quiet"]


@pytest.fixture
def trained(tmp_path, monkeypatch):
    """A run trained on ``data/cur.npz`` given relative to the working folder."""
    work = tmp_path / "work"
    write_npz(work / "data" / "cur.npz", seed=0)
    monkeypatch.chdir(work)
    assert train("runs/r", "npz:data/cur.npz") == 0
    monkeypatch.chdir(tmp_path)  # every later command runs from another folder
    return work / "runs" / "r", work / "data" / "cur.npz"


def test_a_relative_data_path_is_recorded_so_it_loads_from_anywhere(trained, tmp_path):
    run, data = trained
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"] == f"npz:{data}"  # absolute
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["data"]["checksums"] == {"cur.npz": md5(data)}
    assert cli("attractors", "--model", run, "--out", tmp_path / "a", *ATTX) == 0
    assert cli("mi", "--model", run, "--device", "cpu", "--quiet", "--fits", 1,
               "--steps", 5) == 0


@pytest.mark.parametrize("command", [
    ["attractors", *ATTX, "--out", "{tmp}/a"],
    ["dynamics", "--trials", 2, "--steps", 3, "--device", "cpu", "--quiet",
     "--out", "{tmp}/d.npz"],
    ["mi", "--source", "posterior", "--device", "cpu", "--quiet", "--fits", 1, "--steps", 5],
])
def test_a_run_whose_data_changed_is_refused(trained, tmp_path, capsys, command):
    run, data = trained
    old = md5(data)
    write_npz(data, seed=1)  # other images and labels under the same name
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in command]
    assert cli(*args[:1], "--model", run, *args[1:]) == 2
    err = one_error_line(capsys)
    assert "data changed" in err and old in err and md5(data) in err and str(run) in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "d.npz").exists()


def test_resuming_on_changed_data_is_refused(tmp_path, capsys):
    data = tmp_path / "cur.npz"
    write_npz(data, seed=0)
    out = tmp_path / "r"
    assert cli("train", "--dataset", f"npz:{data}", "--nz", 2, "--hidden", 8, "--epochs",
               3, "--batch-size", 10, "--device", "cpu", "--quiet", "--out", out) == 0
    (out / "model.safetensors").unlink()  # an unfinished run
    manifest = (out / "manifest.json").read_bytes()
    write_npz(data, seed=1)
    assert cli("train", "--dataset", f"npz:{data}", "--nz", 2, "--hidden", 8, "--epochs",
               3, "--batch-size", 10, "--device", "cpu", "--quiet", "--out", out,
               "--resume") == 2
    assert "data changed" in one_error_line(capsys)
    assert (out / "manifest.json").read_bytes() == manifest


def test_the_explorer_refuses_a_run_whose_data_changed(trained):
    from latentdyn.errors import LatentdynError
    from latentdyn.explore.loading import load_explorer

    run, data = trained
    load_explorer([run])
    write_npz(data, seed=1)
    with pytest.raises(LatentdynError, match="data changed"):
        load_explorer([run])


def _weights(folder: Path) -> str:
    return md5(folder / "model.safetensors")


def test_a_sweep_trains_again_what_it_trained_on_old_data(tmp_path):
    data = tmp_path / "cur.npz"
    write_npz(data, seed=0)
    out = tmp_path / "sw"
    args = ["sweep", "--dataset", f"npz:{data}", "--nz", "2,3", "--hidden", 8, "--epochs", 1,
            "--batch", 10, "--ll-k", 0, "--device", "cpu", "--quiet", "--out", out]
    assert cli(*args) == 0
    points = sorted(p for p in out.iterdir() if p.is_dir())
    before = {p.name: _weights(p) for p in points}
    summary = (out / "summary.csv").read_text()
    assert cli(*args) == 0  # the same data: every point reused
    assert {p.name: _weights(p) for p in points} == before
    write_npz(data, seed=1)
    assert cli(*args) == 0
    after = {p.name: _weights(p) for p in points}
    assert all(after[k] != before[k] for k in before)  # every point trained again
    assert (out / "summary.csv").read_text() != summary
    for p in points:
        recorded = json.loads((p / "manifest.json").read_text())["data"]["checksums"]
        assert recorded == {"cur.npz": md5(data)}


def test_conditions_evaluates_again_what_it_computed_on_old_data(tmp_path):
    data = tmp_path / "cur.npz"
    write_npz(data, seed=0)
    out = tmp_path / "cond"
    args = ["conditions", "--profile", "smoke", "--datasets", f"npz:{data}", "--sizes",
            "20,all", "--training", "epochs=1", "--latent-sizes", 2, "--noises", "swap",
            "--modes", "deterministic", "--device", "cpu", "--quiet", "--out", out]
    assert cli(*args) == 0
    cells = (out / "data" / "cells.csv").read_text()
    write_npz(data, seed=1)
    assert cli(*args) == 0
    assert (out / "data" / "cells.csv").read_text() != cells
    record = json.loads((out / "manifest.json").read_text())["data"]
    assert record[f"npz:{data}"]["checksums"] == {"cur.npz": md5(data)}
