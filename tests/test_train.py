import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import latentdyn
from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.sweep import read_summary, run_sweep
from latentdyn.train import TrainConfig, TrainingDiverged, VAEEnsemble, train, train_ensemble
from latentdyn.train.hooks import Callback, StopAt

pytestmark = pytest.mark.usefixtures("one_torch_thread")

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


# --- exact resumption: stopped or killed at a chosen point, resumed, the same run ---------
# 5 epochs whose learning rate steps at epochs 3 and 4 (0-based 2 and 3): factors
# 1, 1, 0.2, 0.1, 0.1. Stopping after epoch 3 or 4 stops right after a step.
STEPPED = dict(lr_factors=[1.0, 0.2, 0.1], lr_milestones=[0.3, 0.6])
FAMILY_DATA = "synthetic:k=3,m=12,side=8,test=6"  # 36 images: 3 steps of 12 per epoch
FAMILY = dict(dataset=FAMILY_DATA, epochs=5, batch_size=12, device="cpu", **STEPPED)
KINDS = ("vae", "vmi", "gan", "gan-encoder", "classifier")


def checkpoint_state(run: Path) -> dict:
    """Every tensor of the final checkpoint: weights, Adam moments and steps, RNG states."""
    return load_file(str(run / "checkpoint.safetensors"))


def assert_same_run(ref: Path, run: Path, what: str = "") -> None:
    """Bit for bit: the weights, the last checkpoint's optimizer and RNG state, and every
    metric of every epoch (but its wall time)."""
    assert_same_weights(ref, run)
    a, b = checkpoint_state(ref), checkpoint_state(run)
    assert a.keys() == b.keys(), what
    for k in a:
        assert torch.equal(a[k], b[k]), f"{what}: {k}"
    rows = [[{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(p)]
            for p in (ref, run)]
    assert rows[0] == rows[1], what


def read_metrics(run: Path) -> list[dict]:
    from latentdyn.train.runs import read_metrics as read

    return read(run)


@pytest.fixture(scope="module")
def family_inputs(tmp_path_factory):
    """The runs the GAN's encoder is built from (a GAN and a classifier)."""
    root = tmp_path_factory.mktemp("inputs")
    const = dict(FAMILY, epochs=1, lr_factors=[1.0], lr_milestones=[])
    train(TrainConfig(model="classifier", model_options={
        "conv1": 2, "conv2": 2, "dense": 4, "num_classes": 3}, **const), root / "clf",
        progress=False)
    train(TrainConfig(model="gan", nz=3, model_options={
        "g_width": 8, "d_width": 4, "grid": 4, "diversity_samples": 8}, **const),
        root / "gan", progress=False)
    return root


def family_config(kind: str, inputs: Path) -> TrainConfig:
    opts = {
        "vae": dict(nz=3, hidden=8),
        "vmi": dict(nz=3, hidden=8, model_options={"arch": "fc", "n_cat": 3, "q_hidden": 8}),
        "gan": dict(nz=3, model_options={"g_width": 8, "d_width": 4, "grid": 4,
                                         "diversity_samples": 8,
                                         "classifier": str(inputs / "clf")}),
        "gan-encoder": dict(nz=3, model_options={
            "gan": str(inputs / "gan"), "classifier": str(inputs / "clf"), "g_width": 8,
            "e_width": 2, "e_hidden": 4}),
        "classifier": dict(model_options={"conv1": 2, "conv2": 2, "dense": 4,
                                          "num_classes": 3}),
    }[kind]
    return TrainConfig(model=kind, **opts, **FAMILY)


def test_the_schedule_steps_inside_the_resumption_tests():
    cfg = TrainConfig(**FAMILY)
    assert [cfg.lr_at(e) / cfg.lr for e in range(5)] == pytest.approx([1, 1, .2, .1, .1])


@pytest.mark.parametrize("kind", KINDS)
def test_resume_is_exact_from_every_epoch_boundary(kind, family_inputs, tmp_path):
    """Stopped after each epoch (1..4, including those right after each learning-rate
    step) and resumed: the run equals the uninterrupted one bit for bit (issue 21:
    the resumed run stepped the rate a second time)."""
    ref = train(family_config(kind, family_inputs), tmp_path / "ref", progress=False)
    for k in range(1, 5):
        part = tmp_path / f"stop{k}"
        train(family_config(kind, family_inputs), part, progress=False, stop_after_epoch=k)
        assert json.loads((part / "manifest.json").read_text())["status"] == "stopped"
        train(family_config(kind, family_inputs), part, progress=False, resume=True)
        assert_same_run(ref, part, f"{kind} stopped after epoch {k}")


@pytest.mark.parametrize("kind", KINDS)
def test_resume_is_exact_from_inside_an_epoch(kind, family_inputs, tmp_path):
    """Interrupted at a chosen step inside an epoch, in a run that checkpoints every 2
    epochs: in epoch 4 (its checkpoint is from epoch 2, before the first learning-rate
    step, so the resumption replays epoch 3 across that step) and in epoch 5 (its
    checkpoint, from epoch 4, holds the second step's rate). Resuming restarts from the
    checkpoint and ends as the uninterrupted run."""
    cfg = lambda: replace(family_config(kind, family_inputs), checkpoint_every=2)  # noqa: E731
    ref = train(cfg(), tmp_path / "ref", progress=False)
    for epoch, saved in ((3, 2), (4, 4)):  # 0-based epoch of the cut; its checkpoint
        part = tmp_path / f"cut{epoch}"
        with pytest.raises(KeyboardInterrupt):
            train(cfg(), part, progress=False, callbacks=[StopAt(epoch, 1)])
        manifest = json.loads((part / "manifest.json").read_text())
        assert manifest["status"] == "interrupted"
        assert [r["epoch"] for r in read_metrics(part)] == list(range(1, saved + 1))
        train(cfg(), part, progress=False, resume=True)
        assert_same_run(ref, part, f"{kind} interrupted in epoch {epoch + 1}")


KILL_AT = """
import os, signal
import torch
from latentdyn.train.hooks import Callback
torch.set_num_threads(1)  # as the module's tests (and quicker on a shared machine)

class KillAt(Callback):  # SIGKILL this process after a chosen step: no cleanup at all
    def on_step_end(self, epoch, step):
        if (epoch, step) == ({epoch}, {step}):
            os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sigkill_mid_epoch_then_resume(tmp_path):
    """A process killed with SIGKILL at a chosen step inside the first epoch of each new
    learning rate resumes from its last checkpoint to the uninterrupted run, bit for
    bit (the kill is a hook at a step, so it lands at the same point on any machine)."""
    cfg = dict(TINY, epochs=6, hidden=256, nz=8, batch_size=4)  # 120 images: 30 steps
    assert [TrainConfig(**cfg).lr_at(e) for e in range(6)] == pytest.approx(
        [5e-4] * 3 + [1e-4] * 2 + [5e-5])
    ref = train(TrainConfig(**cfg), tmp_path / "ref", progress=False)
    for epoch, step in ((3, 14), (5, 0)):  # 0-based: the first epochs of 1e-4 and 5e-5
        out = tmp_path / f"killed{epoch}"
        script = KILL_AT.format(epoch=epoch, step=step) + (
            "from latentdyn.train import TrainConfig, train\n"
            f"train(TrainConfig(**{cfg!r}), {str(out)!r}, progress=False,"
            " callbacks=[KillAt()])\n")
        proc = subprocess.run([sys.executable, "-c", script], timeout=600)
        assert proc.returncode == -signal.SIGKILL
        assert not (out / "model.safetensors").exists()
        assert json.loads((out / "manifest.json").read_text())["status"] == "running"
        # the SIGKILL left a readable checkpoint of the epoch before
        assert load_file(str(out / "checkpoint.safetensors"))
        assert [r["epoch"] for r in read_metrics(out)] == list(range(1, epoch + 1))
        train(TrainConfig(**cfg), out, progress=False, resume=True)
        assert_same_run(ref, out, f"killed in epoch {epoch + 1} after step {step + 1}")


def test_stop_at_names_its_point_and_callbacks_see_every_step(tmp_path):
    seen = []

    class Record(Callback):
        def on_epoch_start(self, epoch, epochs):
            seen.append(("start", epoch))

        def on_step_end(self, epoch, step):
            seen.append((epoch, step))

        def on_epoch_end(self, epoch, members):
            seen.append(("end", epoch, members[0].rows[-1]["epoch"]))

    cfg = TrainConfig(**{**TINY, "epochs": 2})  # 120 images in batches of 16: 8 steps
    train(cfg, tmp_path / "r", progress=False, callbacks=[Record()])
    assert seen == [("start", 0), *[(0, s) for s in range(8)], ("end", 0, 1),
                    ("start", 1), *[(1, s) for s in range(8)], ("end", 1, 2)]
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "s", progress=False, callbacks=[StopAt(1, 3)])
    assert [r["epoch"] for r in read_metrics(tmp_path / "s")] == [1]
    assert not Callback.wants_steps() and Record.wants_steps()


ENS = dict(dataset=DATA, nz=3, hidden=16, epochs=5, batch_size=8, device="cpu", **STEPPED)


def ensemble_configs() -> list[TrainConfig]:
    return [TrainConfig(**ENS, seed=0), TrainConfig(**ENS, seed=1, lr=1e-3),
            TrainConfig(**ENS, seed=2, lr=1e-3)]


def test_ensemble_resume_is_exact_from_every_epoch_boundary_and_inside_one(tmp_path):
    refs = [tmp_path / "ref" / str(i) for i in range(3)]
    train_ensemble(ensemble_configs(), refs)
    for k in range(1, 5):
        outs = [tmp_path / f"stop{k}" / str(i) for i in range(3)]
        res = train_ensemble(ensemble_configs(), outs, stop_after_epoch=k)
        assert {r["status"] for r in res} == {"stopped"}
        train_ensemble(ensemble_configs(), outs)
        for ref, out in zip(refs, outs):
            assert_same_run(ref, out, f"ensemble stopped after epoch {k}")
    for epoch in (2, 3):  # inside the first epoch of each new rate
        outs = [tmp_path / f"cut{epoch}" / str(i) for i in range(3)]  # checkpoint: epoch before
        with pytest.raises(KeyboardInterrupt):
            train_ensemble(ensemble_configs(), outs, callbacks=[StopAt(epoch, 2)])
        train_ensemble(ensemble_configs(), outs)
        for ref, out in zip(refs, outs):
            assert_same_run(ref, out, f"ensemble interrupted in epoch {epoch + 1}")


def test_sweep_resume_is_exact_from_every_epoch_boundary_and_inside_one(tmp_path, monkeypatch):
    grid = {**ENS, "nz": [2, 3], "lr": [5e-4, 1e-3], "checkpoint_every": 2}
    ref = run_sweep(grid, tmp_path / "ref", progress=False, ll_k=0).parent
    points = [r["point"] for r in read_summary(ref)]
    for k in range(1, 5):
        out = tmp_path / f"stop{k}"
        run_sweep(grid, out, progress=False, ll_k=0, stop_after_epoch=k)
        assert {r["status"] for r in read_summary(out)} == {"stopped"}
        run_sweep(grid, out, progress=False, ll_k=0)
        for p in points:
            assert_same_run(ref / p, out / p, f"sweep stopped after epoch {k}, {p}")
    # interrupted at a chosen optimisation step: 15 steps an epoch, the 50th step of the
    # first group (nz 2, both rates) is inside epoch 4 (the first of the second rate);
    # its checkpoint is from epoch 2, so the resumption replays epoch 3 (the first rate step)
    step, calls = VAEEnsemble.train_step, []

    def counted(self, x, eps):
        calls.append(1)
        if len(calls) == 50:
            raise KeyboardInterrupt
        return step(self, x, eps)

    monkeypatch.setattr(VAEEnsemble, "train_step", counted)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(grid, out, progress=False, ll_k=0)
    monkeypatch.setattr(VAEEnsemble, "train_step", step)
    for p in points[:2]:
        assert [r["epoch"] for r in read_metrics(out / p)] == [1, 2]
    run_sweep(grid, out, progress=False, ll_k=0)
    for p in points:
        assert_same_run(ref / p, out / p, f"sweep interrupted, {p}")


def test_keeping_freed_memory_changes_no_weight(tmp_path):
    """The loop sets glibc's allocator to keep freed memory (latentdyn.train.memory):
    trained with and without that setting, in fresh processes, the runs are the same bit
    for bit (tensors are aligned alike wherever they are allocated)."""
    cfg = dict(TINY, epochs=2, hidden=256, nz=8, batch_size=4)
    said = {}
    for keep in (False, True):
        script = (
            "import torch; torch.set_num_threads(1)\n"
            "from latentdyn.train import TrainConfig, memory, train\n"
            + ("" if keep else "memory._done.append(False)\n")
            + f"train(TrainConfig(**{cfg!r}), {str(tmp_path / str(keep))!r}, progress=False)\n"
            "print(memory.keep_freed_memory())\n")
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        said[keep] = proc.stdout.split()[-1]
    assert said[False] == "False"
    if sys.platform.startswith("linux") and said[True] == "False":
        pytest.skip("not glibc: nothing to compare")
    assert_same_run(tmp_path / "False", tmp_path / "True", "memory kept or not")


# --- cadence: how often a run evaluates and checkpoints changes no number (issue 24) -------
def assert_same_but_cadence(ref: Path, run: Path, epochs: int, what: str) -> None:
    """``run`` (tested after its last epoch only) equals ``ref`` (tested every epoch) bit
    for bit: weights, the final checkpoint, every training metric and the last test."""
    assert_same_weights(ref, run)
    a, b = checkpoint_state(ref), checkpoint_state(run)
    assert a.keys() == b.keys(), what
    for k in a:
        assert torch.equal(a[k], b[k]), f"{what}: {k}"
    rows_ref, rows = read_metrics(ref), read_metrics(run)
    assert [r["epoch"] for r in rows] == list(range(1, epochs + 1)), what
    tests = [k for k in rows_ref[-1] if k.startswith("test_")]
    assert tests, what  # the reference evaluates every epoch; this run only at the end
    for r_ref, r in zip(rows_ref, rows):
        mine = {k: v for k, v in r.items() if k != "seconds" and v not in ("", None)}
        assert not set(tests) & set(mine) or r["epoch"] == epochs, what
        assert mine == {k: v for k, v in r_ref.items() if k in mine}, what
    assert {k: rows[-1][k] for k in tests} == {k: rows_ref[-1][k] for k in tests}, what


@pytest.mark.parametrize("kind", KINDS)
def test_evaluating_and_checkpointing_less_often_changes_no_number(kind, family_inputs,
                                                                    tmp_path):
    """The studies test once after the last epoch and checkpoint every few epochs
    (nagano2017: every 10) instead of both after every epoch: the run is the same bit
    for bit (evaluation draws from its own generator, a checkpoint reads the state)."""
    cfg = family_config(kind, family_inputs)
    ref = train(cfg, tmp_path / "ref", progress=False)
    run = train(replace(cfg, eval_every=cfg.epochs, checkpoint_every=2), tmp_path / "run",
                progress=False)
    assert_same_but_cadence(ref, run, cfg.epochs, kind)


def test_ensemble_evaluating_and_checkpointing_less_often_changes_no_number(tmp_path):
    refs = [tmp_path / "ref" / str(i) for i in range(3)]
    outs = [tmp_path / "run" / str(i) for i in range(3)]
    train_ensemble(ensemble_configs(), refs)
    train_ensemble([replace(c, eval_every=c.epochs, checkpoint_every=3)
                    for c in ensemble_configs()], outs)
    for ref, out in zip(refs, outs):
        assert_same_but_cadence(ref, out, ENS["epochs"], f"ensemble {out.name}")


def test_the_nagano2017_networks_test_once_and_checkpoint_every_few_epochs(monkeypatch):
    """What the two cadence tests above hold for is what the main job trains with: the
    VAE, the latent-size sweep and the CNN of the quick profile."""
    from latentdyn.studies.nagano2017 import latent_size
    from latentdyn.studies.nagano2017.params import HierarchyParams, vae_config
    from latentdyn.studies.nagano2017.profiles import CHECKPOINT_EVERY, PROFILES

    assert 1 < CHECKPOINT_EVERY
    quick = PROFILES["quick"]
    cfg = vae_config(HierarchyParams(nz=100), quick.epochs, "mnist-embedded", "cpu")
    assert (cfg.eval_every, cfg.checkpoint_every) == (quick.epochs, CHECKPOINT_EVERY)
    seen = {}

    class Seen(Exception):
        pass

    def sweep(grid, *a, **k):
        seen["sweep"] = grid
        raise Seen

    def trained(config, *a, **k):
        seen["classifier"] = config
        raise Seen

    monkeypatch.setattr(latent_size, "run_sweep", sweep)
    monkeypatch.setattr(latent_size, "ensure_trained", trained)
    data, prof = load_dataset("mnist-embedded"), quick.latent_size
    with pytest.raises(Seen):
        latent_size.sweep_stage(Path("unused"), data, prof, data_dir=None, seed=0,
                                device="cpu", progress=False)
    assert (seen["sweep"]["eval_every"], seen["sweep"]["checkpoint_every"]) == (
        prof.epochs, CHECKPOINT_EVERY)
    with pytest.raises(Seen):
        latent_size.classifier_stage(Path("unused"), data, data_dir=None,
                                     epochs=prof.classifier_epochs, seed=0, device="cpu",
                                     progress=False)
    c = seen["classifier"]
    assert (c.eval_every, c.checkpoint_every) == (prof.classifier_epochs, CHECKPOINT_EVERY)
