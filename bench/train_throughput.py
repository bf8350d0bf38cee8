"""Trainer throughput: latentdyn's trainer against plain PyTorch loops of the same model.

All train the paper configuration (784-1024-100, tanh, batch 100, L = 2, Adam 5e-4) on
the embedded MNIST for the same epochs and evaluate the test ELBO once at the end. Two
plain loops, written the way pytorch/examples writes its VAE (separate mu/logvar
layers, ``loss.item()`` every step):

* ``plain``: a DataLoader over the data and BCE on sigmoid outputs, as in the example;
* ``preloaded`` (the fair baseline): the data preloaded as tensors and batched by index
  (no DataLoader), BCE on the logits, PyTorch's default Adam.

``latentdyn`` is ``train()`` as the studies run it (the test ELBO after the last epoch,
a checkpoint at the end: ``eval_every`` and ``checkpoint_every`` of the run); ``latentdyn,
checkpoint every epoch`` checkpoints as the command line does by default. The epochs'
seconds are taken through the loop's callbacks (the steps only). ``--clock cpu`` times
with this process's CPU time: with ``--threads 1`` a busy machine's waiting is not
counted (docs/benchmarks.md, issue 24). The allocator setting the
trainer makes (``latentdyn.train.memory``) is made at the start, for every loop alike,
so the ratios compare the loops. Share of peak divides the matrix-product GFLOP/s by the
machine's square-matmul peak (``bench/common.py``).

    python bench/train_throughput.py [--epochs 4] [--rounds 2] [--device cpu]
                                     [--clock wall|cpu] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).parent))
from common import (  # noqa: E402
    CLOCKS,
    machine,
    matmul_peak_gflops,
    square_peak,
    vae_train_flops_per_image,
)

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.train import TrainConfig, train  # noqa: E402
from latentdyn.train.hooks import Callback  # noqa: E402
from latentdyn.train.memory import keep_freed_memory  # noqa: E402


class PlainVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 1024)
        self.fc21 = nn.Linear(1024, 100)
        self.fc22 = nn.Linear(1024, 100)
        self.fc3 = nn.Linear(100, 1024)
        self.fc4 = nn.Linear(1024, 784)

    def encode(self, x):
        h1 = torch.tanh(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z):
        return torch.sigmoid(self.fc4(torch.tanh(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x)
        std = torch.exp(0.5 * logvar)
        zs = [mu + torch.randn_like(std) * std for _ in range(2)]
        return [self.decode(z) for z in zs], mu, logvar


def loss_function(recons, x, mu, logvar):
    bce = sum(F.binary_cross_entropy(r, x, reduction="sum") for r in recons) / len(recons)
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def _test_loss(model, data, device) -> float:
    model.eval()
    with torch.no_grad():
        test_loss = 0
        for x, _ in DataLoader(TensorDataset(data.test_images, data.test_labels), batch_size=1000):
            x = x.to(device)
            recons, mu, logvar = model(x)
            test_loss += loss_function(recons, x, mu, logvar).item()
    return test_loss


def plain_loop(data, epochs: int, device, clock=time.perf_counter
               ) -> tuple[float, list[float]]:
    torch.manual_seed(0)
    model = PlainVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    loader = DataLoader(TensorDataset(data.train_images, data.train_labels),
                        batch_size=100, shuffle=True)
    t0 = clock()
    epoch_times = []
    for _epoch in range(epochs):
        te = clock()
        model.train()
        train_loss = 0
        for x, _ in loader:
            x = x.to(device)
            optimizer.zero_grad()
            recons, mu, logvar = model(x)
            loss = loss_function(recons, x, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_times.append(clock() - te)
    _test_loss(model, data, device)
    return clock() - t0, epoch_times


def preloaded_loop(data, epochs: int, device, clock=time.perf_counter
                   ) -> tuple[float, list[float]]:
    """The fair baseline: preloaded tensors, index batches, the loss on the logits."""
    torch.manual_seed(0)
    model = PlainVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    x_all = data.train_images.to(device)
    n = x_all.shape[0]
    t0 = clock()
    epoch_times = []
    for _epoch in range(epochs):
        te = clock()
        model.train()
        train_loss = 0
        for idx in torch.randperm(n, device=device).split(100):
            x = x_all[idx]
            optimizer.zero_grad()
            mu, logvar = model.encode(x)
            std = torch.exp(0.5 * logvar)
            logits = [model.fc4(torch.tanh(model.fc3(mu + torch.randn_like(std) * std)))
                      for _ in range(2)]
            bce = sum(F.binary_cross_entropy_with_logits(lg, x, reduction="sum")
                      for lg in logits) / 2
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (bce + kld) / x.shape[0]
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_times.append(clock() - te)
    _test_loss(model, data, device)
    return clock() - t0, epoch_times


class EpochClock(Callback):
    """The ``clock`` seconds of each epoch's training steps (through the loop's hooks)."""

    def __init__(self, clock):
        self.clock, self.t, self.times = clock, 0.0, []

    def on_epoch_start(self, epoch, epochs):
        self.t = self.clock()

    def on_advance(self, steps_done, steps, active, losses):
        self.last = self.clock()  # after the epoch's last step: before its evaluation

    def on_epoch_end(self, epoch, members):
        self.times.append(self.last - self.t)


def latentdyn_trainer(data, epochs: int, device, clock=time.perf_counter,
                      checkpoint_every: int | None = None) -> tuple[float, list[float]]:
    """Seconds of ``train()`` (a checkpoint every ``checkpoint_every`` epochs, default
    only at the end; the test ELBO after the last epoch) and of each epoch's steps."""
    cfg = TrainConfig(epochs=epochs, eval_every=epochs, device=str(device),
                      checkpoint_every=checkpoint_every or epochs)
    timer = EpochClock(clock)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = clock()
        train(cfg, Path(tmp) / "run", progress=False, dataset=data, callbacks=[timer])
        return clock() - t0, timer.times


RUNS = {
    "plain": plain_loop,
    "preloaded": preloaded_loop,
    "latentdyn": latentdyn_trainer,
    "latentdyn, checkpoint every epoch":
        lambda d, e, dev, clock: latentdyn_trainer(d, e, dev, clock, 1),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                    help="cpu: this process's CPU time (one thread on a shared machine)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = CLOCKS[args.clock]
    device = torch.device(args.device)
    keep_freed_memory()  # process-wide: the trainer would set it for the loops after it
    data = load_dataset("mnist-embedded")
    load0 = os.getloadavg()[0]
    n = len(data.train_labels) * args.epochs
    flops = vae_train_flops_per_image() * n
    best = {k: float("inf") for k in RUNS}
    epoch = {k: float("inf") for k in RUNS}
    for _ in range(args.rounds):  # alternate, keep the best of each
        for name, fn in RUNS.items():
            wall, epochs = fn(data, args.epochs, device, clock)
            best[name] = min(best[name], wall)
            epoch[name] = min([epoch[name], *epochs])
    peak = square_peak(10, clock) if args.clock == "cpu" else matmul_peak_gflops(device=device)
    per_epoch = len(data.train_labels)
    print(f"machine: {machine()}, device {device}; load average {load0:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; clock {args.clock}")
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s")
    print(f"end to end ({args.epochs} epochs + one test-ELBO evaluation, best of {args.rounds}):")
    for name, sec in best.items():
        gf = flops / sec / 1e9
        print(f"{name:>34}: {n / sec:8.0f} samples/s  {gf:6.1f} GFLOP/s  {gf / peak:5.1%} of "
              "peak (target >= 75 %)")
    for base in ("preloaded", "plain"):
        print(f"ratio latentdyn / {base}: {best[base] / best['latentdyn']:.2f}x")
    print("steady state (fastest training epoch, no evaluation):")
    for name, sec in epoch.items():
        gf = vae_train_flops_per_image() * per_epoch / sec / 1e9
        print(f"{name:>34}: {per_epoch / sec:8.0f} samples/s  {gf:6.1f} GFLOP/s  "
              f"{gf / peak:5.1%} of peak")
    for base in ("preloaded", "plain"):
        print(f"ratio latentdyn / {base}: {epoch[base] / epoch['latentdyn']:.2f}x")


if __name__ == "__main__":
    main()
