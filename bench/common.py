"""Helpers shared by the benchmarks: the machine's measured fp32 matmul peak and
model FLOP counts. Benchmarks print ratios measured in the same run."""

from __future__ import annotations

import platform
import time

import torch


def matmul_peak_gflops(sizes=(1024, 2048, 3072), repeats: int = 5, device="cpu") -> float:
    """Best fp32 GFLOP/s of square matrix products on ``device``."""
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)
        for _ in range(2):
            a @ b
        for _ in range(repeats):
            _sync(device)
            t = time.perf_counter()
            a @ b
            _sync(device)
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def vae_train_flops_per_image(d=784, h=1024, nz=100, samples=2) -> float:
    """Matmul FLOPs of one training step per image: forward, weight gradients, and input
    gradients of every layer but the first (the data needs no gradient)."""
    enc = d * h + h * 2 * nz
    dec = samples * (nz * h + h * d)
    fwd = 2 * (enc + dec)
    return fwd + fwd + (fwd - 2 * d * h)


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}"
