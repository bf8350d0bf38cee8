"""Sweep throughput: paper-sized VAEs trained as one ensemble against the same models
trained one after another with ``train()``, in the same run.

Models: 784-1024-Nz (tanh, batch 100, L = 2, Adam with the paper's stepped rate), Nz = 100
by default, seeds × learning rates (8 models by default: 4 seeds × lr 5e-4, 1e-3, so the
ensemble also exercises per-model learning rates). Each side trains every model for the
same epochs on the embedded MNIST (10 000 training images) with the test ELBO after the
last epoch and one checkpoint per model, exactly as a sweep does; the summary's
log-likelihood is not part of the timing. The script checks that both sides end with the
same weights.

    python bench/sweep_throughput.py [--models 8] [--epochs 1] [--device cpu]
        [--train-images 10000] [--test-images 10000] [--rounds 1]

GFLOP/s counts the matrix products of training (forward, weight gradients and input
gradients but the first layer's) and of the test-ELBO evaluation (forward only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import _sync, machine, matmul_peak_gflops, vae_train_flops_per_image  # noqa: E402

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.train import train_ensemble  # noqa: E402
from latentdyn.train import TrainConfig, train  # noqa: E402


def subset(data, n_train: int | None, n_test: int | None):
    return replace(data, train_images=data.train_images[:n_train],
                   train_labels=data.train_labels[:n_train],
                   test_images=data.test_images[:n_test], test_labels=data.test_labels[:n_test])


def configs(args) -> list[TrainConfig]:
    lrs = [5e-4, 1e-3]
    base = TrainConfig(nz=args.nz, hidden=args.hidden, epochs=args.epochs, batch_size=100,
                       device=args.device, eval_every=args.epochs,
                       checkpoint_every=args.epochs)
    return [replace(base, lr=lrs[i % len(lrs)], seed=i // len(lrs)) for i in range(args.models)]


def one_by_one(cfgs, data, root: Path, device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    for i, cfg in enumerate(cfgs):
        train(cfg, root / f"solo{i}", progress=False, dataset=data)
    _sync(device)
    return time.perf_counter() - t0


def ensemble(cfgs, data, root: Path, device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    train_ensemble(cfgs, [root / f"ens{i}" for i in range(len(cfgs))], dataset=data)
    _sync(device)
    return time.perf_counter() - t0


def max_weight_difference(root: Path, n: int) -> float:
    from safetensors.torch import load_file

    worst = 0.0
    for i in range(n):
        a = load_file(str(root / f"solo{i}" / "model.safetensors"))
        b = load_file(str(root / f"ens{i}" / "model.safetensors"))
        worst = max(worst, max(float((a[k] - b[k]).abs().max()) for k in a))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-images", type=int, default=None, help="default: all 10 000")
    ap.add_argument("--test-images", type=int, default=None, help="default: all 10 000")
    ap.add_argument("--rounds", type=int, default=1, help="alternate, keep the best of each")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = subset(load_dataset("mnist-embedded"), args.train_images, args.test_images)
    peak_before = matmul_peak_gflops(device=device)
    cfgs = configs(args)
    n_train, n_test = len(data.train_labels), len(data.test_labels)
    d, h, nz, L = data.dim, args.hidden, args.nz, 2
    eval_flops = 2 * (d * h + h * 2 * nz + L * (nz * h + h * d))
    flops = args.models * (vae_train_flops_per_image(d, h, nz, L) * n_train * args.epochs
                           + eval_flops * n_test)

    best = {"one by one (train)": float("inf"), "ensemble": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        warm = subset(data, 200, 200)  # first-use costs (imports, kernels) out of the timing
        train(replace(cfgs[0], epochs=1), Path(tmp) / "warm", progress=False, dataset=warm)
        train_ensemble([replace(c, epochs=1) for c in cfgs[:2]],
                       [Path(tmp) / "warm0", Path(tmp) / "warm1"], dataset=warm)
        for r in range(args.rounds):
            root = Path(tmp) / f"round{r}"
            best["one by one (train)"] = min(best["one by one (train)"],
                                             one_by_one(cfgs, data, root, device))
            best["ensemble"] = min(best["ensemble"], ensemble(cfgs, data, root, device))
            diff = max_weight_difference(root, len(cfgs))
    # the best of two measurements, before and after (a busy machine lowers either)
    peak = max(peak_before, matmul_peak_gflops(device=device))
    print(f"machine: {machine()}, device {device}")
    print(f"models: {args.models} x {d}-{h}-{nz} (L = {L}, batch 100, lr 5e-4/1e-3), "
          f"{args.epochs} epoch(s) on {n_train} images, test ELBO on {n_test}")
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s")
    for name, sec in best.items():
        gf = flops / sec / 1e9
        print(f"{name:>20}: {sec:8.2f} s  {args.models * n_train * args.epochs / sec:8.0f} "
              f"images/s  {gf:7.1f} GFLOP/s  {gf / peak:6.1%} of peak")
    ratio = best["one by one (train)"] / best["ensemble"]
    target = "5x on a GPU" if device.type == "cuda" else "1.0x on CPU"
    print(f"ratio one-by-one / ensemble: {ratio:.2f}x (target >= {target})")
    print(f"largest weight difference ensemble vs train(): {diff:.2e}")


if __name__ == "__main__":
    main()
