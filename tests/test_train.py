import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import latentdyn
from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.train import TrainConfig, TrainingDiverged, train

DATA = "synthetic:k=4,m=30,side=6,test=10"
TINY = dict(dataset=DATA, nz=3, hidden=16, epochs=4, batch_size=16, device="cpu")


def weights(run: Path) -> dict:
    return load_file(str(run / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_train_writes_run_folder(tmp_path):
    out = train(TrainConfig(**TINY), tmp_path / "run", progress=False)
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "manifest.json", "metrics.csv", "model.safetensors",
            "checkpoint.safetensors"} <= names
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,lr,train_elbo,test_elbo,seconds"
    assert len(lines) == 1 + 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["seed"] == 0 and manifest["config"]["nz"] == 3
    assert manifest["data"]["checksums"] and manifest["wall_time_s"] > 0
    assert {"torch", "latentdyn", "python"} <= set(manifest["versions"])
    # the learning rate steps down at 50 % and 80 % of the epochs
    lrs = [float(line.split(",")[1]) for line in lines[1:]]
    assert lrs == pytest.approx([5e-4, 5e-4, 1e-4, 1e-4])
    ten = TrainConfig(**{**TINY, "epochs": 10})
    assert [ten.lr_at(e) for e in range(10)] == pytest.approx([5e-4] * 5 + [1e-4] * 3 + [5e-5] * 2)
    assert TrainConfig(**{**TINY, "epochs": 1}).lr_at(0) == pytest.approx(5e-4)


def test_training_improves_elbo(tmp_path):
    out = train(TrainConfig(**{**TINY, "epochs": 8, "lr": 1e-2}), tmp_path / "run", progress=False)
    rows = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert float(rows[-1][3]) > float(rows[0][3])  # test ELBO rises
    assert float(rows[-1][2]) > float(rows[0][2])  # and so does the training ELBO


def test_same_seed_same_weights_and_different_seed_differs(tmp_path):
    a = train(TrainConfig(**TINY), tmp_path / "a", progress=False)
    b = train(TrainConfig(**TINY), tmp_path / "b", progress=False)
    assert_same_weights(a, b)
    c = train(TrainConfig(**TINY, seed=1), tmp_path / "c", progress=False)
    assert not torch.equal(weights(a)["decoder_out.bias"], weights(c)["decoder_out.bias"])


def test_stopped_and_resumed_equals_uninterrupted(tmp_path):
    full = train(TrainConfig(**TINY), tmp_path / "full", progress=False)
    part = tmp_path / "part"
    train(TrainConfig(**TINY), part, progress=False, stop_after_epoch=2)
    assert not (part / "model.safetensors").exists()
    assert json.loads((part / "manifest.json").read_text())["status"] == "stopped"
    train(TrainConfig(**TINY), part, progress=False, resume=True)
    assert_same_weights(full, part)
    assert (full / "metrics.csv").read_text().count("\n") == (part / "metrics.csv").read_text().count("\n")


def test_sigkill_mid_epoch_then_resume(tmp_path):
    cfg = dict(TINY, epochs=6, hidden=256, nz=8, batch_size=4)
    ref = train(TrainConfig(**cfg), tmp_path / "ref", progress=False)
    out = tmp_path / "killed"
    script = (
        "import sys; from latentdyn.train import TrainConfig, train; "
        f"train(TrainConfig(**{cfg!r}), {str(out)!r}, progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    ckpt = out / "checkpoint.safetensors"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.05)  # inside the next epoch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ckpt.exists() and not (out / "model.safetensors").exists()
    # the SIGKILL left a readable checkpoint; resuming finishes the run identically
    train(TrainConfig(**cfg), out, progress=False, resume=True)
    assert_same_weights(ref, out)


def test_nan_loss_stops_with_epoch_and_step(tmp_path):
    data = load_dataset(DATA)
    data.train_images[37, 0] = float("nan")  # a corrupt pixel reaches the loss
    cfg = TrainConfig(**TINY)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step \d+"):
        train(cfg, tmp_path / "run", progress=False, dataset=data)
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "diverged"


def test_load_run_returns_model_and_config(tmp_path):
    out = train(TrainConfig(**TINY), tmp_path / "run", progress=False)
    model, config = latentdyn.load_run(out)
    assert config.nz == 3 and model.nz == 3 and not model.training
    x = load_dataset(DATA).test_images[:5]
    assert model.decode(model.encode(x)[0]).shape == x.shape


def test_load_run_rejects_weights_of_another_architecture(tmp_path):
    a = train(TrainConfig(**TINY), tmp_path / "a", progress=False)
    b = train(TrainConfig(**{**TINY, "nz": 5}), tmp_path / "b", progress=False)
    (a / "model.safetensors").write_bytes((b / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="another architecture"):
        latentdyn.load_run(a)


def test_config_validation():
    for bad in ({"nz": 0}, {"nz": -1}, {"epochs": -1}, {"batch_size": 0}, {"lr": 0},
                {"lr_milestones": [0.8, 0.5]}, {"device": "tpu"}):
        with pytest.raises(ConfigError):
            TrainConfig(**{**TINY, **bad}).validate()


# --- the command line --------------------------------------------------------------
def cli(*args) -> int:
    return main([str(a) for a in args])


TINY_ARGS = ["--dataset", DATA, "--nz", 3, "--hidden", 16, "--epochs", 2, "--batch-size", 16,
             "--device", "cpu", "--quiet"]


def test_cli_train_end_to_end_and_config_roundtrip(tmp_path, capsys):
    assert cli("train", *TINY_ARGS, "--out", tmp_path / "a") == 0
    assert "test ELBO" in capsys.readouterr().out
    # a run's config.json is a valid --config and repeats the run exactly
    assert cli("train", "--config", tmp_path / "a" / "config.json", "--quiet",
               "--out", tmp_path / "b") == 0
    assert_same_weights(tmp_path / "a", tmp_path / "b")


def test_cli_toml_and_yaml_configs(tmp_path):
    (tmp_path / "c.toml").write_text(f'dataset = "{DATA}"\nnz = 2\nhidden = 8\nepochs = 1\n'
                                     'batch-size = 16\ndevice = "cpu"\n')
    assert cli("train", "--config", tmp_path / "c.toml", "--quiet", "--out", tmp_path / "t") == 0
    cfg = json.loads((tmp_path / "t" / "config.json").read_text())
    assert cfg["nz"] == 2 and cfg["batch_size"] == 16
    (tmp_path / "c.yaml").write_text(f"dataset: '{DATA}'\nnz: 2\nhidden: 8\nepochs: 1\n")
    # the command line overrides the file
    assert cli("train", "--config", tmp_path / "c.yaml", "--nz", 4, "--quiet", "--device", "cpu",
               "--out", tmp_path / "y") == 0
    assert json.loads((tmp_path / "y" / "config.json").read_text())["nz"] == 4


def test_cli_resume_picks_up_config(tmp_path):
    out = tmp_path / "r"
    cfg = TrainConfig(dataset=DATA, nz=3, hidden=16, epochs=3, batch_size=16, device="cpu")
    train(cfg, out, progress=False, stop_after_epoch=1)
    assert cli("train", "--out", out, "--resume", "--quiet") == 0
    assert (out / "model.safetensors").exists()
    assert (out / "metrics.csv").read_text().count("\n") == 4


@pytest.mark.parametrize("args, message", [
    (["--nz", 0], "nz must be a positive integer"),
    (["--nz", -2], "nz must be a positive integer"),
    (["--epochs", -1], "epochs must be a non-negative integer"),
    (["--dataset", "imagenet"], "unknown data set 'imagenet'"),
    (["--lr-milestones", "0.9,0.2"], "lr_milestones"),
])
def test_cli_bad_options_one_line_exit_2(tmp_path, capsys, args, message):
    base = [a for a in TINY_ARGS]
    assert cli("train", *base, *args, "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x" / "config.json").exists()


def test_cli_refuses_to_clobber_a_different_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli("train", *TINY_ARGS, "--out", out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert cli("train", *TINY_ARGS, "--nz", 4, "--out", out) == 2
    err = capsys.readouterr().err
    assert "already holds a different run" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # --resume with a different config is refused too, and leaves it untouched
    assert cli("train", *TINY_ARGS, "--nz", 4, "--out", out, "--resume") == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # --overwrite replaces it
    assert cli("train", *TINY_ARGS, "--nz", 4, "--out", out, "--overwrite") == 0
    assert json.loads((out / "config.json").read_text())["nz"] == 4


def test_cli_resume_rejects_checkpoint_from_another_architecture(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    cfg = TrainConfig(dataset=DATA, nz=3, hidden=16, epochs=3, batch_size=16, device="cpu")
    train(cfg, a, progress=False, stop_after_epoch=1)
    train(replace(cfg, nz=6), b, progress=False, stop_after_epoch=1)
    (a / "checkpoint.safetensors").write_bytes((b / "checkpoint.safetensors").read_bytes())
    assert cli("train", "--out", a, "--resume", "--quiet") == 2
    err = capsys.readouterr().err.strip()
    assert "another architecture" in err and "\n" not in err


def test_cli_help_everywhere():
    for cmd in ([], ["train"], ["data"]):
        assert cli(*cmd, "--help") == 0
