"""What a training-time x data-size map costs with snapshots (one run per size, its
weights saved at the map's steps) against one model per amount of training (the
conditions map before issue 20), on the same grid.

For each size n of ``--sizes`` (nested subsets of ``--dataset``) and the steps
``--first``, 2 ``--first``, ... up to ``--steps``: trains one run with ``snapshots`` at
those steps, then one run per step (each trained from scratch for that many steps at
the same constant learning rate), through :func:`latentdyn.train.train`. Prints the
optimiser steps and the process CPU time of each way and their ratio, and checks that
the snapshot at step s and the run trained for s steps hold the same weights (the
snapshots are the models the map would otherwise train).

    python bench/transition_snapshots.py [--sizes 200,400,800] [--steps 1024] [--hidden 64]

CPU time is reported (not wall time) because the machine may be shared.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import machine  # noqa: E402

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.studies.conditions.grid import subset  # noqa: E402
from latentdyn.studies.transition.profiles import log_steps  # noqa: E402
from latentdyn.train import TrainConfig, train  # noqa: E402
from latentdyn.train.snapshots import snapshot_path  # noqa: E402


def _config(args, n: int, steps: int, snapshots=None) -> TrainConfig:
    spe = -(-n // args.batch)
    return TrainConfig(dataset=args.dataset, nz=args.nz, hidden=args.hidden,
                       epochs=-(-steps // spe), batch_size=args.batch, lr=5e-4,
                       lr_factors=[1.0], lr_milestones=[], device="cpu",
                       checkpoint_every=10**6, eval_every=10**6, snapshots=snapshots)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist-embedded")
    ap.add_argument("--sizes", default="200,400,800")
    ap.add_argument("--steps", type=int, default=1024)
    ap.add_argument("--first", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--nz", type=int, default=14)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(args.dataset)
    grid = log_steps(args.steps, args.first)
    print(machine())
    print(f"grid: sizes {args.sizes}, snapshots at {list(grid)}, hidden {args.hidden}, "
          f"Nz {args.nz}, batch {args.batch}")
    totals = {"snapshots": [0, 0.0], "one model per amount": [0, 0.0]}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            sub = subset(data, n)
            spe = -(-n // args.batch)
            t0 = time.process_time()
            run = train(_config(args, n, args.steps, list(grid)), Path(tmp) / f"snap-{n}",
                        progress=False, dataset=sub)
            totals["snapshots"][0] += _config(args, n, args.steps).epochs * spe
            totals["snapshots"][1] += time.process_time() - t0
            for s in grid:
                if s % spe:
                    continue  # a run of whole epochs ends at s only when spe divides s
                t0 = time.process_time()
                one = train(_config(args, n, s), Path(tmp) / f"one-{n}-{s}", progress=False,
                            dataset=sub)
                totals["one model per amount"][0] += s
                totals["one model per amount"][1] += time.process_time() - t0
                from safetensors.torch import load_file
                a = load_file(str(snapshot_path(run, s)))
                b = load_file(str(one / "model.safetensors"))
                same = all(torch.equal(a[k], b[k]) for k in a)
                print(f"n = {n}, step {s}: snapshot == model trained {s} steps: {same}")
    for name, (steps, cpu) in totals.items():
        print(f"{name:>22}: {steps:>8} optimiser steps, {cpu:8.1f} s CPU")
    a, b = totals["snapshots"], totals["one model per amount"]
    print(f"one model per amount / snapshots: {b[0] / a[0]:.2f}x the steps, "
          f"{b[1] / a[1]:.2f}x the CPU time (the amounts whose step is a whole number "
          "of epochs at every size)")


if __name__ == "__main__":
    main()
