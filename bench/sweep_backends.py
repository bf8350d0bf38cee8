"""Sweep backends: the same grid on the process backend (``--workers 2``) and on the
Ray backend with 2 workers (a local Ray instance of 2 CPUs, 1 CPU per task), in the
same run.

The grid (default Nz 2, 5, 10, 20 x lr 5e-4, 1e-3: 8 paper-sized VAEs, 784-1024-Nz,
tanh, batch 100, L = 2) is split the same way by both backends (``workers`` 2), so each
side trains the same jobs with one torch thread each; the script checks that both
sweeps end with the same summary (all but the wall time) and the same weights. The
Ray side is timed twice on one instance: the first sweep (its workers start and import
torch, as in a fresh command) and the next (warm workers); the time to start the
instance is printed too.

    python bench/sweep_backends.py [--nz 2,5,10,20] [--lr 5e-4,1e-3] [--epochs 2]
        [--hidden 1024] [--train-images 10000] [--test-images 10000] [--ll-k 0]
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
from common import machine  # noqa: E402

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.sweep import read_summary, run_sweep  # noqa: E402

WORKERS = 2


def subset(data, n_train: int | None, n_test: int | None):
    return replace(data, train_images=data.train_images[:n_train],
                   train_labels=data.train_labels[:n_train],
                   test_images=data.test_images[:n_test], test_labels=data.test_labels[:n_test])


def timed(grid: dict, out: Path, data, ll_k: int, **backend) -> float:
    t0 = time.perf_counter()
    run_sweep(grid, out, workers=WORKERS, ll_k=ll_k, progress=False, dataset=data, **backend)
    return time.perf_counter() - t0


def same_results(a: Path, b: Path) -> tuple[bool, float]:
    """(summaries equal but for the wall time, largest weight difference)."""
    from safetensors.torch import load_file

    ra, rb = read_summary(a), read_summary(b)
    equal = [{k: v for k, v in r.items() if k != "wall_s"} for r in ra] == \
        [{k: v for k, v in r.items() if k != "wall_s"} for r in rb]
    worst = 0.0
    for r in ra:
        wa = load_file(str(a / r["point"] / "model.safetensors"))
        wb = load_file(str(b / r["point"] / "model.safetensors"))
        worst = max(worst, max(float((wa[k] - wb[k]).abs().max()) for k in wa))
    return equal, worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nz", default="2,5,10,20")
    ap.add_argument("--lr", default="5e-4,1e-3")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--train-images", type=int, default=None, help="default: all 10 000")
    ap.add_argument("--test-images", type=int, default=None, help="default: all 10 000")
    ap.add_argument("--ll-k", type=int, default=0, help="IWAE samples in the summary (0: none)")
    args = ap.parse_args()
    import ray

    data = subset(load_dataset("mnist-embedded"), args.train_images, args.test_images)
    grid = {"dataset": data.name, "hidden": args.hidden, "epochs": args.epochs,
            "device": "cpu", "nz": args.nz, "lr": args.lr, "batch_size": [100], "seed": [0]}
    n_points = len(args.nz.split(",")) * len(args.lr.split(","))
    torch.set_num_threads(WORKERS)  # the process backend gives each worker 1 thread
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        local = timed(grid, root / "local", data, args.ll_k)
        t0 = time.perf_counter()  # a fresh instance of 2 CPUs, as a new command starts it
        ray.init(address="local", num_cpus=WORKERS, include_dashboard=False,
                 log_to_driver=False)
        start = time.perf_counter() - t0
        cold = timed(grid, root / "ray-cold", data, args.ll_k, backend="ray", cpus_per_task=1)
        warm = timed(grid, root / "ray-warm", data, args.ll_k, backend="ray", cpus_per_task=1)
        ray.shutdown()
        equal, worst = same_results(root / "local", root / "ray-warm")
        equal_cold, worst_cold = same_results(root / "local", root / "ray-cold")
    n_train = len(data.train_labels)
    print(f"machine: {machine()}, Ray {ray.__version__}")
    print(f"grid: {n_points} VAEs {data.dim}-{args.hidden}-Nz (Nz {args.nz}, lr {args.lr}, "
          f"batch 100, L = 2), {args.epochs} epoch(s) on {n_train} images, ll_k {args.ll_k}; "
          f"{WORKERS} workers of 1 thread on each side")
    print(f"{'process backend (--workers 2)':>42}: {local:8.2f} s")
    print(f"{'Ray: start a 2-CPU instance (ray.init)':>42}: {start:8.2f} s")
    print(f"{'Ray: first sweep (workers start cold)':>42}: {cold:8.2f} s")
    print(f"{'Ray: next sweep (workers warm)':>42}: {warm:8.2f} s")
    print(f"ratio Ray / process: {warm / local:.2f}x warm, {cold / local:.2f}x cold, "
          f"{(start + cold) / local:.2f}x with the start of the instance")
    print(f"same summary and weights as the process backend: running {equal} "
          f"(largest weight difference {worst:.1e}), fresh {equal_cold} ({worst_cold:.1e})")


if __name__ == "__main__":
    main()
