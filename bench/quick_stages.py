"""The training stages of the quick ``reproduce nagano2017``, before and after issue 24.

Three stages of the quick profile train networks: the Nz = 100 VAE (190 epochs), the
latent-size sweep (8 Nz x 10 epochs, then the IWAE bound and active units of each), and
the CNN of Fig. B.2 (3 epochs). Issue 24 changed how they train, not what they compute:

* *before*: a test pass and a checkpoint (weights, Adam state, RNG) after every epoch,
  and glibc's default handling of freed memory (every step faults its memory back in);
* *after*: the test pass only after the last epoch, a checkpoint every
  ``CHECKPOINT_EVERY`` epochs (``studies/nagano2017/profiles.py``), and freed memory kept
  for the next step (``latentdyn.train.memory``).

Each stage is measured in its units (one training step, one test pass, one checkpoint,
the sweep's evaluation of a model) by worker processes, *before* and *after* in turn,
each unit the best of ``--rounds`` (CPU time of one thread by default, so that a shared
machine barely moves the figures; ``--clock wall --threads 2`` on a quiet machine), and
the stage's time is put together from its units and its profile's counts (a checkpoint
is timed on the wall clock: writing and syncing the file is most of it). The ratio
after / before of each stage is measured in one run; docs/benchmarks.md multiplies the
seconds of a full run by it. The arithmetic limit of each stage (its matrix-product
FLOPs at the machine's square-matmul peak) is printed beside.

    python bench/quick_stages.py [--rounds 3] [--images 2000] [--clock cpu|wall]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import (  # noqa: E402
    CLOCKS,
    classifier_flops_per_image,
    machine,
    square_peak,
    vae_eval_flops_per_image,
    vae_train_flops_per_image,
)

EPOCHS, SWEEP_NZ, SWEEP_EPOCHS, CLF_EPOCHS = 190, (2, 5, 8, 10, 14, 20, 50, 100), 10, 3
LL_K, LL_IMAGES, N_TRAIN, N_TEST, BATCH = 100, 500, 10000, 10000, 100


# ------------------------------------------------------------------ the worker's units
def _member(config, data, folder):
    from latentdyn.train.loop import begin_member, open_member
    from latentdyn.train.trainer import make_task

    task = make_task(config, data.dim, torch.device("cpu"))
    m = open_member(config, folder, task, torch.device("cpu"), resume=False)
    begin_member(m, data, "cpu")
    return m


def units(kind: str, nz: int, data, n_images: int, n_test: int, clock) -> dict:
    """Seconds of one training step, one test pass and one checkpoint of ``kind``
    (``vae``: the trainer's runner; ``sweep``: the ensemble runner with one member, as
    the sweep trains each Nz; ``classifier``), and of the sweep's evaluation."""
    from latentdyn.train import TrainConfig
    from latentdyn.train.ensemble import EnsembleRunner
    from latentdyn.train.loop import TaskRunner, checkpoint

    model = "classifier" if kind == "classifier" else "vae"
    config = TrainConfig(model=model, dataset=data.name, nz=nz, device="cpu", epochs=EPOCHS,
                         lr=1e-3 if kind != "vae" else 5e-4)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        m = _member(config, data, Path(tmp) / "run")
        runner = EnsembleRunner([m]) if kind == "sweep" else TaskRunner([m])
        runner.set_lr(0)
        x, y = data.train_images[:n_images], data.train_labels[:n_images]
        idx = torch.randperm(n_images, generator=torch.Generator().manual_seed(0))[None]
        steps = n_images // BATCH
        runner.step(idx[:, :BATCH], x, y)  # first step: the optimizer's state
        # a test pass first: before issue 24 every epoch followed one, and what it freed
        # changed where the next epoch's steps found their memory
        t = clock()  # over the first ``n_test`` test images, scaled to all
        runner.evaluate(data.test_images[:n_test], data.test_labels[:n_test])
        out["test"] = (clock() - t) * N_TEST / n_test
        t = clock()
        for s in range(steps):
            runner.step(idx[:, s * BATCH:(s + 1) * BATCH], x, y)
        out["step"] = (clock() - t) / steps
        t = time.perf_counter()  # wall time: writing and syncing the file is most of it
        checkpoint(m, 1)
        out["checkpoint"] = time.perf_counter() - t
        if kind == "sweep":  # the IWAE bound and active units of a trained point
            from latentdyn.sweep.jobs import _evaluate

            t = clock()
            _evaluate([m.task.model], [config], data, "cpu", LL_K, LL_IMAGES)
            out["evaluate"] = clock() - t
    return out


def worker(args) -> None:
    """One process: its variant's malloc setting, then the units of every stage."""
    from latentdyn.data import load_dataset
    from latentdyn.train import memory

    if args.worker == "before":
        memory._done.append(False)  # glibc's defaults, as before issue 24
    else:
        memory.keep_freed_memory()
    torch.set_num_threads(args.threads)
    clock = CLOCKS[args.clock]
    data = load_dataset("mnist-embedded")
    n, t = args.images, args.test_images
    res = {"vae": units("vae", 100, data, n, t, clock),
           "classifier": units("classifier", 100, data, n // 4, t, clock)}
    for nz in SWEEP_NZ:
        res[f"sweep{nz}"] = units("sweep", nz, data, n, t, clock)
    print(json.dumps(res))


# ------------------------------------------------------------------ the stages
def stage_seconds(u: dict, after: bool, every: int) -> dict:
    """Each training stage's seconds from its units: ``after`` tests once and
    checkpoints every ``every`` epochs; before, both after every epoch."""
    steps = N_TRAIN // BATCH

    def run(unit, epochs):
        tests = 1 if after else epochs
        ckpts = max(1, epochs // every) if after else epochs
        return epochs * steps * unit["step"] + tests * unit["test"] + ckpts * unit["checkpoint"]

    sweep = sum(run(u[f"sweep{nz}"], SWEEP_EPOCHS) + u[f"sweep{nz}"]["evaluate"]
                for nz in SWEEP_NZ)
    return {"train Nz=100": run(u["vae"], EPOCHS), "sweep": sweep,
            "classifier": run(u["classifier"], CLF_EPOCHS)}


def sweep_evaluate_flops(nz: int, k: int, ll_images: int, n_train: int, d=784) -> float:
    """The sweep's evaluation of a trained point: the IWAE bound with ``k`` samples of
    ``ll_images`` test images (their encoding, ``k`` decodings each) and the latent
    means of the ``n_train`` training images (active units)."""
    ll = ll_images * (k * vae_eval_flops_per_image(d, nz=nz, samples=1, encoder=False)
                      + vae_eval_flops_per_image(d, nz=nz, samples=0))
    return ll + n_train * vae_eval_flops_per_image(d, nz=nz, samples=0)


def stage_flops() -> dict:
    """Matrix-product FLOPs of each stage (training, test passes after, evaluations)."""
    vae = EPOCHS * N_TRAIN * vae_train_flops_per_image() + N_TEST * vae_eval_flops_per_image()
    sweep = 0.0
    for nz in SWEEP_NZ:
        sweep += SWEEP_EPOCHS * N_TRAIN * vae_train_flops_per_image(nz=nz)
        sweep += N_TEST * vae_eval_flops_per_image(nz=nz)
        sweep += sweep_evaluate_flops(nz, LL_K, LL_IMAGES, N_TRAIN)
    clf = CLF_EPOCHS * N_TRAIN * classifier_flops_per_image(train=True)
    clf += N_TEST * classifier_flops_per_image(train=False)
    return {"train Nz=100": vae, "sweep": sweep, "classifier": clf}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=2000, help="training images timed per unit")
    ap.add_argument("--test-images", type=int, default=2000,
                    help="test images of a timed test pass (scaled to the 10 000)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    ap.add_argument("--worker", choices=("before", "after"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    from latentdyn.studies.nagano2017.profiles import CHECKPOINT_EVERY

    load0 = os.getloadavg()[0]
    best: dict = {"before": None, "after": None}
    for _ in range(args.rounds):
        for variant in best:
            cmd = [sys.executable, __file__, "--worker", variant, "--images", str(args.images),
                   "--test-images", str(args.test_images), "--threads", str(args.threads),
                   "--clock", args.clock]
            got = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                            text=True).stdout.splitlines()[-1])
            if best[variant] is None:
                best[variant] = got
            else:  # the best of each unit over the rounds
                for k, unit in got.items():
                    for name, v in unit.items():
                        best[variant][k][name] = min(best[variant][k][name], v)
    torch.set_num_threads(args.threads)
    peak = square_peak(10, CLOCKS[args.clock])
    before = stage_seconds(best["before"], after=False, every=1)
    after = stage_seconds(best["after"], after=True, every=CHECKPOINT_EVERY)
    flops = stage_flops()
    print(f"machine: {machine()}; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}; "
          f"clock {args.clock}, {args.threads} thread(s), best of {args.rounds} rounds")
    print(f"fp32 square-matmul peak on these threads: {peak:.1f} GFLOP/s")
    for name, unit in (("VAE", best["before"]["vae"]), ("VAE after", best["after"]["vae"]),
                       ("CNN", best["before"]["classifier"]),
                       ("CNN after", best["after"]["classifier"])):
        print(f"  {name:10s} step {unit['step'] * 1e3:7.2f} ms, test pass {unit['test']:6.2f} s,"
              f" checkpoint {unit['checkpoint']:5.3f} s")
    print(f"{'stage':14s} {'before s':>9s} {'after s':>9s} {'after/before':>12s} "
          f"{'limit s':>8s} {'after at % of peak':>18s}")
    for name in before:
        limit = flops[name] / peak / 1e9
        print(f"{name:14s} {before[name]:9.1f} {after[name]:9.1f} "
              f"{after[name] / before[name]:12.3f} {limit:8.1f} {limit / after[name]:18.1%}")


if __name__ == "__main__":
    main()
