"""Trainer throughput: latentdyn's trainer against a plain PyTorch loop of the same model.

Both train the paper configuration (784-1024-100, tanh, batch 100, L = 2, Adam 5e-4) on
the embedded MNIST for the same epochs and evaluate the test ELBO once at the end. The
plain loop is written the way pytorch/examples writes its VAE: a DataLoader over the
data, separate mu/logvar layers, ``loss.item()`` every step.

    python bench/train_throughput.py [--epochs 3] [--rounds 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, matmul_peak_gflops, vae_train_flops_per_image  # noqa: E402

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.train import TrainConfig, train  # noqa: E402


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


def plain_loop(data, epochs: int, device) -> tuple[float, list[float]]:
    torch.manual_seed(0)
    model = PlainVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    loader = DataLoader(TensorDataset(data.train_images, data.train_labels),
                        batch_size=100, shuffle=True)
    t0 = time.perf_counter()
    epoch_times = []
    for _epoch in range(epochs):
        te = time.perf_counter()
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
        epoch_times.append(time.perf_counter() - te)
    model.eval()
    with torch.no_grad():
        test_loss = 0
        for x, _ in DataLoader(TensorDataset(data.test_images, data.test_labels), batch_size=1000):
            x = x.to(device)
            recons, mu, logvar = model(x)
            test_loss += loss_function(recons, x, mu, logvar).item()
    return time.perf_counter() - t0, epoch_times


def latentdyn_trainer(data, epochs: int, device) -> tuple[float, list[float]]:
    """Wall time of ``train()`` (checkpoint every epoch, as by default) and the per-epoch
    seconds it records (the last one includes the test evaluation)."""
    cfg = TrainConfig(epochs=epochs, eval_every=epochs, device=str(device))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        train(cfg, Path(tmp) / "run", progress=False, dataset=data)
        wall = time.perf_counter() - t0
        rows = (Path(tmp) / "run" / "metrics.csv").read_text().splitlines()
        header = rows[0].split(",")
        col = header.index("seconds")
        return wall, [float(r.split(",")[col]) for r in rows[1:]][:-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    data = load_dataset("mnist-embedded")
    n = len(data.train_labels) * args.epochs
    flops = vae_train_flops_per_image() * n
    best = {"plain": float("inf"), "latentdyn": float("inf")}
    epoch = {"plain": float("inf"), "latentdyn": float("inf")}
    for _ in range(args.rounds):  # alternate, keep the best of each
        for name, fn in (("plain", plain_loop), ("latentdyn", latentdyn_trainer)):
            wall, epochs = fn(data, args.epochs, device)
            best[name] = min(best[name], wall)
            epoch[name] = min([epoch[name], *epochs])
    peak = matmul_peak_gflops(device=device)
    per_epoch = len(data.train_labels)
    print(f"machine: {machine()}, device {device}")
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s")
    print(f"end to end ({args.epochs} epochs + one test-ELBO evaluation, best of {args.rounds}):")
    for name, sec in best.items():
        gf = flops / sec / 1e9
        print(f"{name:>10}: {n / sec:8.0f} samples/s  {gf:6.1f} GFLOP/s  {gf / peak:5.1%} of peak")
    print(f"ratio latentdyn / plain: {best['plain'] / best['latentdyn']:.2f}x (target >= 1.1x)")
    print("steady state (fastest training epoch, no evaluation):")
    for name, sec in epoch.items():
        gf = vae_train_flops_per_image() * per_epoch / sec / 1e9
        print(f"{name:>10}: {per_epoch / sec:8.0f} samples/s  {gf:6.1f} GFLOP/s  "
              f"{gf / peak:5.1%} of peak (target >= 75 %)")
    print(f"ratio latentdyn / plain: {epoch['plain'] / epoch['latentdyn']:.2f}x")


if __name__ == "__main__":
    main()
