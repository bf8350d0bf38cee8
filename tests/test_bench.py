"""The arithmetic the benchmarks divide by: bench/common.py's FLOP counts of the paper
VAE, the sweep's evaluation and the CNN equal what torch's own FLOP counter counts for the
same calls, bench/quick_stages.py puts a stage's seconds together from its units, and
bench/stage_limits.py counts each stage's FLOPs in a rerun of a finished run."""

import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from common import (  # noqa: E402
    classifier_flops_per_image,
    vae_eval_flops_per_image,
    vae_train_flops_per_image,
)
import quick_stages  # noqa: E402
import stage_limits  # noqa: E402

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.train import TrainConfig  # noqa: E402
from latentdyn.train.trainer import make_task  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def counted(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


@pytest.mark.parametrize("nz, samples", [(100, 2), (7, 1), (3, 3)])
def test_vae_flops_are_torchs_count(nz, samples):
    d, h, b = 36, 24, 10
    task = make_task(TrainConfig(device="cpu", nz=nz, hidden=h, n_samples=samples), d,
                     torch.device("cpu"))
    x, y = torch.rand(b, d).bernoulli(), torch.zeros(b, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    assert counted(lambda: task.train_step(x, y, gen)) == b * vae_train_flops_per_image(
        d, h, nz, samples)
    with torch.no_grad():
        assert counted(lambda: task.model.elbo(x, generator=gen)) == b * \
            vae_eval_flops_per_image(d, h, nz, samples)
        assert counted(lambda: task.model.encode(x)) == b * vae_eval_flops_per_image(
            d, h, nz, samples=0)
    # the paper's VAE: 15.3 MFLOP a training image (no gradient of the input)
    assert vae_train_flops_per_image() == 15_302_656


def test_sweep_evaluation_flops_are_torchs_count():
    from latentdyn.sweep.jobs import _evaluate

    data = load_dataset("synthetic:k=3,m=10,side=6,test=8")
    config = TrainConfig(dataset=data.name, device="cpu", nz=4)
    task = make_task(config, data.dim, torch.device("cpu"))
    got = counted(lambda: _evaluate([task.model], [config], data, "cpu", 7, 5))
    want = quick_stages.sweep_evaluate_flops(4, 7, 5, len(data.train_labels), d=data.dim)
    assert got == want


def test_classifier_flops_are_torchs_count():
    task = make_task(TrainConfig(device="cpu", model="classifier"), 784, torch.device("cpu"))
    x, y = torch.rand(4, 784), torch.zeros(4, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    assert counted(lambda: task.train_step(x, y, gen)) == 4 * classifier_flops_per_image(True)
    with torch.no_grad():
        assert counted(lambda: task.model(x)) == 4 * classifier_flops_per_image(False)


def test_stage_seconds_from_units():
    """Before: a test pass and a checkpoint every epoch; after: one test pass, a
    checkpoint every ``every`` epochs; the sweep adds each point's evaluation."""
    unit = {"step": 0.01, "test": 1.0, "checkpoint": 0.1}
    units = {"vae": unit, "classifier": unit,
             **{f"sweep{nz}": {**unit, "evaluate": 2.0} for nz in quick_stages.SWEEP_NZ}}
    steps = quick_stages.N_TRAIN // quick_stages.BATCH
    before = quick_stages.stage_seconds(units, after=False, every=1)
    after = quick_stages.stage_seconds(units, after=True, every=10)
    e = quick_stages.EPOCHS
    assert before["train Nz=100"] == pytest.approx(e * (steps * 0.01 + 1.0 + 0.1))
    assert after["train Nz=100"] == pytest.approx(e * steps * 0.01 + 1.0 + e // 10 * 0.1)
    se, n = quick_stages.SWEEP_EPOCHS, len(quick_stages.SWEEP_NZ)
    assert after["sweep"] == pytest.approx(n * (se * steps * 0.01 + 1.0 + se // 10 * 0.1 + 2))


def test_stage_limits_reruns_the_recorded_command_and_counts_each_stage(tmp_path):
    from latentdyn.cli import main

    assert stage_limits.command_of(["latentdyn", "reproduce", "nagano2017", "--out", "x",
                                    "--quiet", "--epochs", "3", "--out=y", "--overwrite"]) \
        == ["reproduce", "nagano2017", "--epochs", "3"]
    out = tmp_path / "run"
    argv = ["reproduce", "nagano2017", "--profile", "smoke", "--dataset",
            "synthetic:m=20,side=6,test=5", "--nz", "6", "--no-latent-size", "--device", "cpu"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    timings, flops, _ = stage_limits.rerun(out, argv, count=True)
    assert set(flops) <= set(timings) and {"fig2", "fig4", "train"} <= set(timings)
    assert flops["fig2"] > 0 and flops["fig4"] > 0 and flops["train"] == 0  # reused
    plain, none, _ = stage_limits.rerun(out, argv, count=False)
    assert none == {} and set(plain) == set(timings)
