"""Attractor analysis throughput: batched Jacobians of the latent map against a
per-point loop, and the fixed-point search from 1 000 starts.

Paper-sized VAE (784-1024-100, tanh), trained for ``--train-epochs`` epochs on the
embedded MNIST first (default 1, so that the map is that of a model, not of random
weights: how fast the iteration converges depends on it; 0 keeps the random init).
Prints, measured in the same run:

* Jacobians of F(z) = E_q[z | E_p[x | z]] per second at training memories:
  ``jacobians(method="rev")`` (vmap(jacrev)) and ``"fwd"`` (vmap(jacfwd)) on
  ``--points`` points, against the per-point loop ``torch.autograd.functional.jacobian``
  (``jacobians_loop``) and a loop of ``torch.func.jacrev`` on single points, on
  ``--loop-points`` points -> ratios (target >= 5x against the per-point loop);
* the fixed-point search (:func:`latentdyn.dynamics.attractors.find_fixed_points`) from
  ``--starts`` starts (corrupted training images' encodings, memories, the concepts):
  wall time, iterations, fixed points (target <= 60 s for 1 000 starts on 2 CPU cores),
  and its worst case (every start iterating ``--max-steps`` steps) from the measured
  cost of one step.

    python bench/attractors_throughput.py [--points 200] [--loop-points 20] [--starts 1000]

Run it on a quiet machine: other processes on the same cores distort every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import _sync, machine  # noqa: E402

from latentdyn.analysis import build_hierarchy  # noqa: E402
from latentdyn.analysis.attractors import (  # noqa: E402
    CANDIDATE_FACTOR,
    DEDUP_FACTOR,
    hierarchy_scale,
)
from latentdyn.data import corrupt, load_dataset  # noqa: E402
from latentdyn.dynamics.attractors import (  # noqa: E402
    apply_map,
    find_fixed_points,
    jacobians,
    jacobians_loop,
)
from latentdyn.models.inference import encode_all  # noqa: E402


def timed(fn, device, rounds: int = 1) -> float:
    best = float("inf")
    for _ in range(rounds):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return best


def model_of(args, data, device):
    """The paper's VAE after ``--train-epochs`` epochs on the embedded MNIST."""
    import tempfile

    from latentdyn.models import VAE, VAEConfig
    from latentdyn.train import TrainConfig, train
    from latentdyn.train.runs import load_run

    if args.train_epochs == 0:
        torch.manual_seed(0)
        return VAE(VAEConfig(input_dim=data.dim, hidden=1024, nz=args.nz)).to(device).eval()
    with tempfile.TemporaryDirectory() as tmp:
        train(TrainConfig(nz=args.nz, epochs=args.train_epochs, device=str(device)),
              Path(tmp) / "vae", progress=False)
        return load_run(Path(tmp) / "vae", device=device).model


def jacrev_loop(model, z) -> None:
    from torch.func import jacrev

    from latentdyn.dynamics.attractors.map import _single

    f = _single(model)
    with torch.enable_grad():
        for i in range(z.shape[0]):
            jacrev(f)(z[i])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--points", type=int, default=200, help="points for the batched Jacobians")
    ap.add_argument("--loop-points", type=int, default=20, help="points for the loops")
    ap.add_argument("--chunk", type=int, default=128, help="points per vmap chunk")
    ap.add_argument("--starts", type=int, default=1000)
    ap.add_argument("--max-steps", type=int, default=500)
    ap.add_argument("--train-epochs", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2, help="best of this many timings each")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_before = os.getloadavg()[0]
    data = load_dataset("mnist-embedded")
    model = model_of(args, data, device)
    hier = build_hierarchy(model, data.train_images, data.train_labels)
    z = hier.memories[:max(args.points, args.loop_points)]

    jacobians(model, z[:4], chunk_size=args.chunk)  # warm up
    t_rev = timed(lambda: jacobians(model, z[:args.points], method="rev",
                                    chunk_size=args.chunk), device, args.rounds)
    t_fwd = timed(lambda: jacobians(model, z[:args.points], method="fwd",
                                    chunk_size=args.chunk), device, args.rounds)
    t_loop = timed(lambda: jacobians_loop(model, z[:args.loop_points]), device, args.rounds)
    t_jr = timed(lambda: jacrev_loop(model, z[:args.loop_points].to(device)), device,
                 args.rounds)
    rate = {"rev": args.points / t_rev, "fwd": args.points / t_fwd,
            "loop": args.loop_points / t_loop, "jacrev loop": args.loop_points / t_jr}

    g = torch.Generator().manual_seed(0)
    n_corrupt = max(0, args.starts - hier.num_classes - args.starts // 4)
    x = corrupt(data.train_images[:n_corrupt], "swap", 0.2, generator=g)
    starts = torch.cat([hier.concepts, hier.memories[:args.starts // 4], encode_all(model, x)])
    starts = starts[:args.starts]
    t0 = time.perf_counter()
    tol = 1e-3 * hierarchy_scale(hier).scale  # as latentdyn attractors: 1e-3 of the scale
    fp = find_fixed_points(model, starts, max_steps=args.max_steps, tol=tol,
                           candidate_tol=CANDIDATE_FACTOR * tol, dedup_tol=DEDUP_FACTOR * tol)
    t_search = time.perf_counter() - t0
    t_step = timed(lambda: apply_map(model, starts), device, args.rounds)

    print(f"machine: {machine()}, device {device}")
    print(f"load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
          "(other work on the same cores distorts every figure)")
    print(f"VAE 784-1024-{args.nz}, trained {args.train_epochs} epoch(s); Jacobians at "
          "training memories")
    for name, r in rate.items():
        print(f"  {name:12s} {r:10.1f} Jacobians/s")
    print(f"ratio vmap(jacrev) / per-point loop: {rate['rev'] / rate['loop']:.1f}x "
          f"(target >= 5x); / jacrev loop: {rate['rev'] / rate['jacrev loop']:.1f}x; "
          f"vmap(jacfwd) / loop: {rate['fwd'] / rate['loop']:.1f}x")
    print(f"fixed-point search, {starts.shape[0]} starts: {t_search:.1f} s (target <= 60 s); "
          f"{int(fp.steps.max())} iterations at most, mean {fp.steps.double().mean():.1f}; "
          f"{fp.n} fixed points ({int(fp.stable.sum())} attracting), "
          f"{int((fp.assignment >= 0).sum())} starts reached one")
    print(f"worst case (every start {args.max_steps} steps): about "
          f"{t_step * args.max_steps:.1f} s of iteration ({t_step * 1e3:.1f} ms per step)")


if __name__ == "__main__":
    main()
