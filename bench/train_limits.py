"""The arithmetic limit of training the paper VAE on this machine, one step taken apart.

A training step of the paper VAE (784-1024-100, tanh, batch 100, L = 2, fused Adam) is
eleven matrix products (forward, weight gradients, input gradients; the data needs no
gradient) plus the rest: the activations, the loss, Adam over 2.9 M parameters and
autograd's bookkeeping. This benchmark times, on the same threads and in the same run:

* the fp32 square-matrix peak (``bench/common.py``), the figure "share of peak" divides by;
* each of the eleven products alone, with the shapes and transposes the step issues
  (the best of many repeats: the speed the kernel reaches on that shape);
* their sum (the step if everything else were free: the products' own limit);
* Adam alone, forward + backward alone, and the whole step (``VAETask.train_step``);
* the whole step under ``torch.profiler``: the products' time *inside* it, which can be
  slower than alone (their operands leave the caches between the other passes).

It prints each product's share of the square peak, the products' limit, and where the
rest of the step's time goes. Times are the best of ``--repeats`` (interleaved rounds),
so a shared machine slows the figures less than it slows a single timing; the load
average is printed beside them. ``--clock cpu`` times with this process's CPU time
instead of the wall clock: on one thread a busy machine then barely moves the figures
(time the process waits for a core is not counted), which is how the figures in
docs/benchmarks.md taken on a shared machine were measured; with more threads CPU time
also counts the threads' waiting, so use the wall clock on a quiet machine there.

``--compile`` also times the step with the loss compiled by ``torch.compile`` (fused
element-wise kernels; they round differently, so it prints how far its gradients are
from eager's) and the compile's own seconds.

    python bench/train_limits.py [--repeats 60] [--threads N] [--clock wall|cpu] [--compile]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import (  # noqa: E402
    CLOCKS,
    best_times,
    machine,
    matmul_peak_gflops,
    square_peak,
    vae_train_flops_per_image,
)

B, L, D, H, Z = 100, 2, 784, 1024, 100


def products() -> dict:
    """name -> (function, FLOPs): the matrix products of one step, as autograd issues
    them (``addmm`` forward with the bias; ``mm`` for the gradients)."""
    t = torch.randn
    x, h, z, hd = torch.rand(B, D), t(B, H), t(L * B, Z), t(L * B, H)
    w1, w2, w3, w4 = t(H, D), t(2 * Z, H), t(H, Z), t(D, H)
    b1, b2, b3, b4 = t(H), t(2 * Z), t(H), t(D)
    g1, g2, g3, g4 = t(B, H), t(B, 2 * Z), t(L * B, H), t(L * B, D)
    f = 2 * B
    return {
        "encoder 784->1024 forward": (lambda: torch.addmm(b1, x, w1.t()), f * D * H),
        "encoder 784->1024 dW": (lambda: g1.t().mm(x), f * D * H),
        "encoder 1024->200 forward": (lambda: torch.addmm(b2, h, w2.t()), f * H * 2 * Z),
        "encoder 1024->200 dW": (lambda: g2.t().mm(h), f * H * 2 * Z),
        "encoder 1024->200 dX": (lambda: g2.mm(w2), f * H * 2 * Z),
        "decoder 100->1024 forward": (lambda: torch.addmm(b3, z, w3.t()), L * f * Z * H),
        "decoder 100->1024 dW": (lambda: g3.t().mm(z), L * f * Z * H),
        "decoder 100->1024 dX": (lambda: g3.mm(w3), L * f * Z * H),
        "decoder 1024->784 forward": (lambda: torch.addmm(b4, hd, w4.t()), L * f * H * D),
        "decoder 1024->784 dW": (lambda: g4.t().mm(hd), L * f * H * D),
        "decoder 1024->784 dX": (lambda: g4.mm(w4), L * f * H * D),
    }


def step_parts():
    """The whole step, forward + backward, and Adam alone, on the trainer's own task."""
    from latentdyn.train import TrainConfig
    from latentdyn.train.trainer import make_task

    task = make_task(TrainConfig(device="cpu"), D, torch.device("cpu"))
    x, y = torch.rand(B, D).bernoulli(), torch.zeros(B, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    model, opt = task.model, task.optimizers["adam"]
    eps = torch.randn(L, B, Z)

    def fwd_bwd():
        opt.zero_grad(set_to_none=True)
        model.loss(x, eps).backward()

    fwd_bwd()
    return {"whole step (VAETask.train_step)": lambda: task.train_step(x, y, gen),
            "forward + backward": fwd_bwd, "Adam (fused)": opt.step}


def inside_step(step, n: int = 50) -> dict:
    """The whole step under ``torch.profiler`` for ``n`` steps: the products' own time
    inside it (``aten::mm`` and ``aten::addmm``), fused Adam's, and everything else, in
    seconds per step; the products alone (above) may run faster than among the rest."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(10):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            step()
    self_s = {e.key: e.self_cpu_time_total / 1e6 / n for e in prof.key_averages()}
    total = sum(self_s.values())
    mm = self_s.get("aten::mm", 0.0) + self_s.get("aten::addmm", 0.0)
    adam = self_s.get("aten::_fused_adam_", 0.0)
    return {"step": total, "products": mm, "adam": adam, "rest": total - mm - adam}


def compiled_step(repeats: int, clock) -> dict:
    """Fused kernels: the step with the loss compiled by ``torch.compile`` (inductor's
    fused element-wise C++ kernels around the same products) against the eager step, on
    the trainer's task; the seconds the first compiled call took (the compile), and the
    largest difference between the two ways' gradients of one step."""
    import time

    from latentdyn.train import TrainConfig
    from latentdyn.train.trainer import make_task

    task = make_task(TrainConfig(device="cpu"), D, torch.device("cpu"))
    model, opt = task.model, task.optimizers["adam"]
    x, eps = torch.rand(B, D).bernoulli(), torch.randn(L, B, Z)
    fused_loss = torch.compile(model.loss)

    def grads(loss_fn) -> list:
        opt.zero_grad(set_to_none=True)
        loss_fn(x, eps).backward()
        return [p.grad.clone() for p in model.parameters()]

    eager_g = grads(model.loss)
    t = time.perf_counter()
    fused_g = grads(fused_loss)
    compile_s = time.perf_counter() - t
    diff = max(float((a - b).abs().max()) for a, b in zip(eager_g, fused_g))

    def step(loss_fn):
        def run():
            opt.zero_grad(set_to_none=True)
            loss_fn(x, eps).backward()
            opt.step()
        return run

    times = best_times({"eager": step(model.loss), "compiled": step(fused_loss)}, repeats,
                       clock)
    return {**times, "compile_s": compile_s, "grad_diff": diff}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=60)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    ap.add_argument("--compile", action="store_true",
                    help="also time the step with the loss compiled (fused kernels)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = CLOCKS[args.clock]
    load0 = os.getloadavg()[0]
    peak = square_peak(max(5, args.repeats // 4), clock)
    prods = products()
    times = best_times({k: fn for k, (fn, _) in prods.items()}, args.repeats, clock)
    step_fns = step_parts()
    parts = best_times(step_fns, args.repeats, clock)
    peak = max(peak, square_peak(max(5, args.repeats // 4), clock))
    if args.clock == "wall":  # bench/common.py's figure, as the other benchmarks report it
        peak = max(peak, matmul_peak_gflops())
    print(f"machine: {machine()}; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}; "
          f"clock: {args.clock}")
    print(f"fp32 square-matmul peak: {peak:.1f} GFLOP/s")
    total_t = total_f = 0.0
    for k, (_, flops) in prods.items():
        t = times[k]
        total_t, total_f = total_t + t, total_f + flops
        print(f"  {k:28s} {t * 1e3:7.3f} ms {flops / t / 1e9:7.1f} GFLOP/s "
              f"{flops / t / 1e9 / peak:6.1%} of peak")
    step_flops = vae_train_flops_per_image() * B
    assert abs(total_f - step_flops) < 1e-6 * step_flops
    limit = step_flops / total_t / 1e9
    print(f"the products of one step: {step_flops / 1e9:.3f} GFLOP in {total_t * 1e3:.2f} ms"
          f" = {limit:.1f} GFLOP/s, {limit / peak:.1%} of peak (the step's limit if all "
          "else were free)")
    whole = parts["whole step (VAETask.train_step)"]
    for k, t in parts.items():
        print(f"  {k:34s} {t * 1e3:7.3f} ms")
    rest = whole - total_t
    print(f"whole step: {step_flops / whole / 1e9:.1f} GFLOP/s = "
          f"{step_flops / whole / 1e9 / peak:.1%} of peak; the products take "
          f"{total_t / whole:.0%} of it, Adam {parts['Adam (fused)'] / whole:.0%}, the "
          f"rest (activations, loss, autograd) {max(0.0, rest - parts['Adam (fused)']) / whole:.0%}")
    ins = inside_step(step_fns["whole step (VAETask.train_step)"])
    print(f"inside the step (torch.profiler, 50 steps): {ins['step'] * 1e3:.2f} ms a step; "
          f"the products {ins['products'] * 1e3:.2f} ms "
          f"({step_flops / ins['products'] / 1e9 / peak:.0%} of peak, "
          f"{ins['products'] / ins['step']:.0%} of the step), Adam "
          f"{ins['adam'] * 1e3:.2f} ms, the rest {ins['rest'] * 1e3:.2f} ms "
          f"({ins['rest'] / ins['step']:.0%})")
    if args.compile:
        c = compiled_step(args.repeats, clock)
        print(f"fused kernels (torch.compile of the loss; forward, backward, Adam): eager "
              f"{c['eager'] * 1e3:.2f} ms, compiled {c['compiled'] * 1e3:.2f} ms a step "
              f"({c['eager'] / c['compiled']:.2f}x; {step_flops / c['compiled'] / 1e9 / peak:.0%}"
              f" of peak); the compile took {c['compile_s']:.1f} s; largest gradient "
              f"difference from eager {c['grad_diff']:.2e}")


if __name__ == "__main__":
    main()
