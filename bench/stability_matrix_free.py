"""Stability at one point: the spectral radius of J_F from the full Jacobian against the
matrix-free method (Arnoldi on vector-Jacobian products), time per point.

Two latents, measured in the same run:

* nz = 100: the paper's VAE (784-1024-100, tanh; random weights, seed 0) at encodings
  of embedded MNIST images;
* a 4 x 16 x 16 latent (nz = 1024): a diffusers ``AutoencoderKL`` with 3 blocks of
  (16, 32, 32) channels on 64 x 64 RGB images (random weights, seed 0), through
  latentdyn's adapter (its scaling factor, [-1, 1] images); without diffusers, a plain
  torch convolutional autoencoder of the same latent shape (the output says which).

For each: the full method (``spectral_radius(jacobians(method="rev"))``, vmap(jacrev)
over up to ``--chunk`` points at once, so its time per point is the batch's over its
size; the row-by-row loop where one point's batched passes would not fit in memory)
against ``spectral_radii(method="matrix-free")`` (one point at a time), best of
``--rounds``, and the largest relative difference of the two radii.

    python bench/stability_matrix_free.py [--points 8] [--big-points 2] [--rounds 2]

Run it on a quiet machine: other processes on the same cores distort every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from common import _sync, machine  # noqa: E402

from latentdyn.data import load_dataset  # noqa: E402
from latentdyn.dynamics.attractors import jacobians, spectral_radii, spectral_radius  # noqa: E402
from latentdyn.dynamics.attractors.map import _points_per_call  # noqa: E402
from latentdyn.models.inference import encode_all  # noqa: E402


def timed(fn, device, rounds: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(rounds):
        _sync(device)
        t = time.perf_counter()
        out = fn()
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return best, out


def paper_vae(device):
    from latentdyn.models import VAE, VAEConfig

    torch.manual_seed(0)
    return VAE(VAEConfig(input_dim=784, hidden=1024, nz=100)).to(device).eval()


class ConvAE(nn.Module):
    """64 x 64 RGB <-> 4 x 16 x 16, plain torch (the fallback without diffusers)."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.SiLU(), nn.Conv2d(32, 32, 3, 2, 1),
                                 nn.SiLU(), nn.Conv2d(32, 4, 3, 1, 1))
        self.dec = nn.Sequential(nn.ConvTranspose2d(4, 32, 4, 2, 1), nn.SiLU(),
                                 nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.SiLU(),
                                 nn.Conv2d(32, 3, 3, 1, 1), nn.Sigmoid())

    def encode(self, x):
        return self.enc(x.reshape(-1, 3, 64, 64)).reshape(x.shape[0], -1)

    def decode(self, z):
        return self.dec(z.reshape(-1, 4, 16, 16)).reshape(z.shape[0], -1)


def big_model(device):
    """(model, what it is) with a 4 x 16 x 16 latent."""
    torch.manual_seed(0)
    try:
        from diffusers import AutoencoderKL

        from latentdyn.models.adapters.from_diffusers import DiffusersModel
    except ImportError:
        return ConvAE().to(device).eval(), "plain torch conv autoencoder (no diffusers)"
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                        down_block_types=("DownEncoderBlock2D",) * 3,
                        up_block_types=("UpDecoderBlock2D",) * 3,
                        block_out_channels=(16, 32, 32), norm_num_groups=8, sample_size=64)
    model = DiffusersModel(vae.eval())
    model.fit_images((3, 64, 64))
    return model.to(device).eval(), "diffusers AutoencoderKL (16, 32, 32), 64x64 RGB"


def compare(name, model, z, device, rounds, chunk) -> None:
    with torch.enable_grad():
        per_call = _points_per_call(model, z[:1], chunk, device)
    if per_call:  # warm up (the row-by-row loop has nothing to warm: its first row does)
        jacobians(model, z[:1], chunk_size=chunk)
    spectral_radii(model, z[:1], method="matrix-free")
    t_full, full = timed(lambda: spectral_radius(jacobians(model, z, method="rev",
                                                           chunk_size=chunk)), device, rounds)
    t_free, free = timed(lambda: spectral_radii(model, z, method="matrix-free"), device,
                         rounds)
    n = z.shape[0]
    how = (f"vmap(jacrev), {per_call} points per call" if per_call else
           "row-by-row loop: one point's batched passes would not fit in memory")
    rel = float(((free.double() - full.double()).abs() / full.double().abs()).max())
    print(f"{name}: nz = {z.shape[1]}, {n} points")
    print(f"  full Jacobian + eigvals:                {t_full / n * 1e3:9.1f} ms per point "
          f"({how})")
    print(f"  matrix-free (Arnoldi on vjp):           {t_free / n * 1e3:9.1f} ms per point "
          f"-> {t_full / t_free:.2f}x the full method's speed")
    print(f"  radii {[round(float(r), 4) for r in full]}; largest relative difference "
          f"{rel:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--points", type=int, default=8, help="points at nz = 100")
    ap.add_argument("--big-points", type=int, default=2, help="points at 4 x 16 x 16")
    ap.add_argument("--chunk", type=int, default=128, help="points per vmap chunk")
    ap.add_argument("--rounds", type=int, default=2, help="best of this many timings each")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_before = os.getloadavg()[0]
    print(f"machine: {machine()}, device {device}")
    data = load_dataset("mnist-embedded")
    vae = paper_vae(device)
    compare("paper VAE 784-1024-100", vae, encode_all(vae, data.train_images[:args.points]),
            device, args.rounds, args.chunk)
    model, what = big_model(device)
    x = torch.rand(args.big_points, 3 * 64 * 64, generator=torch.Generator().manual_seed(0))
    compare(what, model, encode_all(model, x), device, args.rounds, args.chunk)
    print(f"load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
          "(other work on the same cores distorts every figure)")


if __name__ == "__main__":
    main()
