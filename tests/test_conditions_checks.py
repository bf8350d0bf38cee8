"""The conditions map checks its whole grid before anything is written (issue 21,
items 9 and 10): a value listed twice (in any spelling), a seed or an amount of training
out of range, a Ray address where nothing answers -- each one line naming the
conditions option, and no output folder, manifest or subsets/ left behind; and
--overwrite over another profile's result reaches the sweeps inside it."""

import json
import socket

import pytest

from cli_helpers import cli, one_error_line


pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMOKE = ["conditions", "--profile", "smoke", "--device", "cpu", "--quiet"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("args, message", [
    (["--noises", "swap,swap"], "--noises: 'swap' is the same value"),
    (["--modes", "sampling,deterministic,sampling"], "--modes: 'sampling'"),
    (["--sizes", "20,020"], "--sizes: 20"),
    (["--sizes", "all,20,all"], "--sizes: 'all'"),
    (["--training", "epochs=1,epochs=01"], "--training: 'epochs=1'"),
    (["--training", "steps=4, steps=4"], "--training: 'steps=4'"),
    (["--latent-sizes", "2,2"], "--latent-sizes: 2 is"),
    (["--seeds", "0,0"], "--seeds: 0 is"),
    (["--datasets", "digits,digits"], "--datasets: 'digits'"),
    (["--seeds", "4294967296"], "--seeds: give non-negative integers, at most 4294967295"),
    (["--training", "steps=99999999999999999999"], "--training steps=99999999999999999999"),
    (["--training", "epochs=3000000000"], "--training epochs=3000000000"),
])
def test_the_grid_is_checked_before_anything_is_written(tmp_path, capsys, args, message):
    out = tmp_path / "c"
    assert cli(*SMOKE, *args, "--out", out) == 2
    err = one_error_line(capsys)
    assert message in err and "--nz" not in err and "--seed:" not in err
    assert "checkpoint_every" not in err
    assert not out.exists()


def test_two_spellings_of_one_data_file_are_one_value(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.npz").write_bytes(b"")
    assert cli(*SMOKE, "--datasets", "npz:a.npz,npz:./a.npz", "--out", tmp_path / "c") == 2
    assert "--datasets: 'npz:a.npz' and 'npz:./a.npz' are the same" in one_error_line(capsys)
    assert not (tmp_path / "c").exists()


def test_an_address_where_nothing_answers_is_refused_first(tmp_path, capsys):
    pytest.importorskip("ray")
    out, port = tmp_path / "c", _free_port()
    assert cli(*SMOKE, "--backend", "ray", "--address", f"127.0.0.1:{port}",
               "--out", out) == 2
    err = one_error_line(capsys)
    assert f"cannot connect to Ray at 127.0.0.1:{port}" in err and "nothing answers" in err
    assert not out.exists()


GRID = ["--sizes", "all", "--training", "epochs=1", "--latent-sizes", 2, "--seeds", 0,
        "--noises", "swap", "--modes", "deterministic", "--trials", 2, "--steps", 3,
        "--device", "cpu", "--quiet"]


def test_overwrite_over_another_profile_reaches_its_sweeps(tmp_path, capsys):
    """smoke, then quick over it: the quick profile's hidden width makes another sweep
    in the same group folder; with --overwrite it replaces it."""
    import numpy as np

    from latentdyn.data import load_dataset

    ds = load_dataset("synthetic:k=3,m=8,side=6,test=3")
    np.savez(tmp_path / "toy.npz", images=ds.train_images.numpy(),
             labels=ds.train_labels.numpy())
    grid = [*GRID, "--datasets", f"npz:{tmp_path / 'toy.npz'}"]
    out = tmp_path / "c"
    assert cli("conditions", "--profile", "smoke", *grid, "--out", out) == 0
    sweeps = out / "sweeps"
    (group,) = [p for p in sweeps.iterdir()]
    assert json.loads((group / "sweep.json").read_text())["options"]["hidden"] == 16
    capsys.readouterr()
    assert cli("conditions", "--profile", "quick", *grid, "--out", out) == 2
    assert "another setting" in one_error_line(capsys)
    assert cli("conditions", "--profile", "quick", *grid, "--out", out, "--overwrite") == 0
    assert json.loads((group / "sweep.json").read_text())["options"]["hidden"] == 1024
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["profile"] == "quick"
    # the same grid again with --overwrite: its sweep is reused, not trained again
    weights = {p.name: p.read_bytes() for p in group.rglob("model.safetensors")}
    assert cli("conditions", "--profile", "quick", *grid, "--out", out, "--overwrite") == 0
    assert {p.name: p.read_bytes() for p in group.rglob("model.safetensors")} == weights
