"""Repeated-inference throughput: run_dynamics against a per-trial Python loop.

Paper-sized VAE (784-1024-100, tanh; random init, since speed does not depend on the
weights), deterministic dynamics, T = 80. Prints, measured in the same run:

* trial-steps/s of run_dynamics vs. each trial run separately through the same
  protocol functions (on a subset of the trials) -> ratio (target >= 50x);
* achieved matmul GFLOP/s of the encoder + decoder forward passes as a fraction of
  the machine's fp32 matmul peak (target >= 50 %);
* wall time of the whole Fig. 4 sweep: 12 noise levels x 500 trials, swap noise +
  dynamics, 6000 trajectories (target <= 60 s on 2 CPU cores).

    python bench/dynamics_throughput.py [--device cpu] [--chunks 512,1024,2048] [--rounds 2]

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
from common import _sync, machine, matmul_peak_gflops  # noqa: E402

from latentdyn.data.corruption import corrupt  # noqa: E402
from latentdyn.dynamics import run_dynamics  # noqa: E402
from latentdyn.models import VAE, VAEConfig  # noqa: E402
from latentdyn.models.protocol import data_mean, latent_mean  # noqa: E402

D, H, NZ, T = 784, 1024, 100, 80


def flops_per_trial(steps: int = T, d: int = D, h: int = H, nz: int = NZ) -> float:
    """Matmul FLOPs of one trajectory: steps + 1 encodes (784-1024-2nz) and steps decodes."""
    enc = 2 * (d * h + h * 2 * nz)
    dec = 2 * (nz * h + h * d)
    return (steps + 1) * enc + steps * dec


def images(n: int) -> tuple[torch.Tensor, str]:
    """Up to n training '6's of the embedded MNIST (repeated), or random images."""
    try:
        from latentdyn.data import load_dataset

        data = load_dataset("mnist-embedded")
        sixes = data.train_images[data.train_labels == 6].reshape(-1, D).float()
        return sixes[torch.arange(n) % len(sixes)], "embedded MNIST '6's"
    except Exception as e:  # the bench only needs inputs of the right shape
        return torch.rand(n, D), f"random images ({type(e).__name__} loading MNIST)"


def timed(fn, device) -> float:
    _sync(device)
    t = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t


def per_trial_loop(model, x0: torch.Tensor, steps: int, device) -> None:
    """The naive way: each trial on its own, step by step."""
    with torch.no_grad():
        for i in range(x0.shape[0]):
            x = x0[i:i + 1].to(device)
            z = latent_mean(model, x)
            for _ in range(steps):
                z = latent_mean(model, data_mean(model, z))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--trials", type=int, default=2048, help="trials for the batched rate")
    ap.add_argument("--loop-trials", type=int, default=16, help="trials for the per-trial loop")
    ap.add_argument("--chunks", default="512,1024,2048", help="chunk sizes to try")
    ap.add_argument("--rounds", type=int, default=2, help="best of this many timings each")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=D, hidden=H, nz=NZ)).to(device).eval()
    x0, source = images(6000)
    flops = flops_per_trial()
    chunks = [int(c) for c in args.chunks.split(",")]
    levels = torch.linspace(0.0, 1.0, 12)
    load_before = os.getloadavg()[0]

    def sweep(chunk):  # the whole Fig. 4 sweep: 12 noise levels x 500 trials
        g = torch.Generator().manual_seed(0)
        x = torch.cat([corrupt(x0[:500], "swap", float(p), generator=g) for p in levels])
        return run_dynamics(model, x, steps=T, chunk_size=chunk)

    run_dynamics(model, x0[:256], steps=4, chunk_size=256)  # warm up
    per_trial_loop(model, x0[:2], 4, device)
    # Rounds alternate every measurement and keep the best of each, so that load from
    # other processes distorts the ratios as little as it can.
    peak, loop_s, sweep_s, secs = 0.0, float("inf"), float("inf"), dict.fromkeys(chunks, 1e30)
    for _ in range(args.rounds):
        peak = max(peak, matmul_peak_gflops(device=device))
        loop_s = min(loop_s, timed(
            lambda: per_trial_loop(model, x0[:args.loop_trials], T, device), device))
        for chunk in chunks:
            secs[chunk] = min(secs[chunk], timed(
                lambda: run_dynamics(model, x0[:args.trials], steps=T, chunk_size=chunk), device))
        best_chunk = min(secs, key=secs.get)
        sweep_s = min(sweep_s, timed(lambda: sweep(best_chunk), device))
    loop_rate = args.loop_trials * T / loop_s
    rates = {c: (args.trials * T / sec, args.trials * flops / sec / 1e9) for c, sec in secs.items()}
    rate, gflops = rates[best_chunk]

    print(f"machine: {machine()}, device {device}")
    print(f"load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
          "(other work on the same cores distorts every figure)")
    print(f"inputs: {source}; VAE {D}-{H}-{NZ}, deterministic, T = {T}")
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s")
    print(f"per-trial loop ({args.loop_trials} trials): {loop_rate:10.0f} trial-steps/s")
    for chunk, (r, gf) in rates.items():
        mark = " <- best" if chunk == best_chunk else ""
        print(f"run_dynamics chunk {chunk:5d} ({args.trials} trials): {r:10.0f} trial-steps/s  "
              f"{gf:6.1f} GFLOP/s  {gf / peak:5.1%} of peak{mark}")
    print(f"ratio batched / per-trial: {rate / loop_rate:.1f}x (target >= 50x)")
    print(f"achieved: {gflops:.1f} GFLOP/s = {gflops / peak:.1%} of matmul peak (target >= 50%)")
    print(f"Fig. 4 sweep (12 levels x 500 trials x T = {T}, swap + dynamics): {sweep_s:.1f} s "
          f"(target <= 60 s on 2 CPU cores)")


if __name__ == "__main__":
    main()
