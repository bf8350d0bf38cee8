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


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def best_times(fns: dict, repeats: int, clock=time.perf_counter) -> dict:
    """The best time of each function over ``repeats`` interleaved rounds (after three
    warm-up calls each). With ``clock=time.process_time`` on one thread, time the
    process waits for a core on a busy machine is not counted."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = clock()
            fn()
            best[k] = min(best[k], clock() - t)
    return best


def square_peak(repeats: int = 20, clock=time.perf_counter, sizes=(1024, 2048)) -> float:
    """:func:`matmul_peak_gflops` timed with ``clock``, best of ``repeats``."""
    out = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        t = best_times({"mm": lambda: a @ b}, repeats, clock)["mm"]
        out = max(out, 2 * n**3 / t / 1e9)
    return out


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


def vae_eval_flops_per_image(d=784, h=1024, nz=100, samples=2, encoder=True) -> float:
    """Matmul FLOPs of a forward pass per image: the encoder (if ``encoder``) and the
    decoder once per sample (``samples=0``: the encoder alone, e.g. latent means)."""
    enc = d * h + h * 2 * nz if encoder else 0
    return 2 * (enc + samples * (nz * h + h * d))


def classifier_flops_per_image(train: bool, side=28, c1=32, c2=64, dense=128, classes=10):
    """FLOPs of the CNN of Fig. B.2 per image (convolutions and dense layers): forward,
    or a training step (forward, weight gradients, input gradients but the first layer's)."""
    s1, s2 = side - 2, side - 4
    conv1 = 2 * s1 * s1 * c1 * 9
    rest = 2 * (s2 * s2 * c2 * c1 * 9 + c2 * (s2 // 2) ** 2 * dense + dense * classes)
    fwd = conv1 + rest
    return fwd + fwd + rest if train else fwd


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}"
