"""A diffusers ``AutoencoderKL`` folder (``save_pretrained``; e.g. Stable Diffusion's
VAE): ``config.json`` naming the class, and ``diffusion_pytorch_model.safetensors``.

Loaded with ``AutoencoderKL.from_pretrained(folder, local_files_only=True,
use_safetensors=True)``: nothing is fetched, and weights saved as a pickle (``.bin``)
are not read. The protocol follows diffusers' pipelines:

* images: the data layer's [0, 1] map to the model's [−1, 1] (``2x − 1``), and its
  decodings back (``x / 2 + 0.5``, clamped to [0, 1] as diffusers' image processor does);
* the latent mean ``z = (encode(x).latent_dist.mean − shift) · scaling_factor`` (with
  ``latents_mean`` / ``latents_std`` in the config: ``(mean − latents_mean) ·
  scaling_factor / latents_std``), and its log-variance moved by the same scale;
* the data mean ``decode(z / scaling_factor + shift).sample`` (or ``z · latents_std /
  scaling_factor + latents_mean``), so repeated inference runs in the latents the
  diffusion model sees.

The network is fully convolutional: it takes square images of its ``in_channels``
whose side the data set gives (a multiple of its downsampling factor).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models.adapters.base import Adapter, ImageModel, no_grad_params, read_json, require

CLASS = "AutoencoderKL"
WEIGHTS = "diffusion_pytorch_model.safetensors"
WHAT = "a diffusers AutoencoderKL folder"


def detect(folder: Path) -> bool:
    config = read_json(folder / "config.json")
    return config is not None and config.get("_class_name") == CLASS


class DiffusersModel(ImageModel):
    """An ``AutoencoderKL`` as a protocol object (module doc)."""

    def __init__(self, vae):
        cfg = vae.config
        super().__init__(vae, None, int(cfg.in_channels), value_range=(-1.0, 1.0), clamp=True,
                         kind="diffusers AutoencoderKL")
        self.factor = 2 ** (len(cfg.block_out_channels) - 1)
        self.latent_channels = int(cfg.latent_channels)
        self.scale = float(cfg.scaling_factor)
        self.shift = float(getattr(cfg, "shift_factor", None) or 0.0)
        mean, std = getattr(cfg, "latents_mean", None), getattr(cfg, "latents_std", None)
        self.per_channel = mean is not None and std is not None
        if self.per_channel:
            self.register_buffer("latents_mean", torch.tensor(mean).view(1, -1, 1, 1))
            self.register_buffer("latents_std", torch.tensor(std).view(1, -1, 1, 1))

    def latent_shape_for(self, image_shape):
        c, h, w = image_shape
        if h % self.factor or w % self.factor:
            raise ConfigError(f"the diffusers AutoencoderKL takes images whose sides are "
                              f"multiples of {self.factor}; the data set's are {h}x{w}")
        return (self.latent_channels, h // self.factor, w // self.factor)

    def encode_net(self, images):
        dist = self.net.encode(images).latent_dist
        if self.per_channel:
            scale = self.scale / self.latents_std
            return (dist.mean - self.latents_mean) * scale, dist.logvar + 2 * torch.log(scale)
        return (dist.mean - self.shift) * self.scale, dist.logvar + 2 * math.log(self.scale)

    def decode_net(self, latents):
        if self.per_channel:
            latents = latents * self.latents_std / self.scale + self.latents_mean
        else:
            latents = latents / self.scale + self.shift
        return self.net.decode(latents).sample


def load(folder: Path, device, trust_pickles: bool = False) -> DiffusersModel:
    if not (folder / WEIGHTS).is_file():
        raise CheckpointError(f"{folder}: no {WEIGHTS} (latentdyn reads safetensors weights "
                              "only, never a pickled .bin)")
    require("diffusers", "diffusers", WHAT)
    from diffusers import AutoencoderKL

    try:
        vae = AutoencoderKL.from_pretrained(str(folder), local_files_only=True,
                                            use_safetensors=True, low_cpu_mem_usage=False)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{folder}: diffusers cannot load it: {reason}") from None
    return DiffusersModel(no_grad_params(vae.float())).to(device)


ADAPTER = Adapter("diffusers", "diffusers", WHAT, detect, load)
