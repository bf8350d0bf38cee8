"""A pythae model folder (``model.save(...)`` or a trainer's ``final_model``):
``model_config.json``, ``model.pt`` and, for networks of the user's own, ``encoder.pkl``
/ ``decoder.pkl`` (cloudpickles).

Loaded with pythae's ``AutoModel.load_from_folder``. The protocol reads the networks
themselves, never ``model.embed`` (which samples): the latent mean is
``encoder(x).embedding``, the log-variance ``encoder(x).log_covariance`` (when the
model has one), the data mean ``decoder(z)["reconstruction"]``. Images go in as pythae
takes them, ``(n, *input_dim)`` with values in [0, 1].

Loading a cloudpickle runs whatever code it holds, so a folder with ``encoder.pkl`` or
``decoder.pkl`` is refused unless the user says they trust it (``--trust-pickles``);
``model.pt`` is first opened with ``torch.load(weights_only=True)``, so a file holding
anything but tensors is refused before pythae opens it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models.adapters.base import Adapter, ImageModel, no_grad_params, read_json, require

PICKLES = ("encoder.pkl", "decoder.pkl")
WHAT = "a pythae model folder"


def detect(folder: Path) -> bool:
    config = read_json(folder / "model_config.json")
    return (config is not None and str(config.get("name", "")).endswith("Config")
            and (folder / "model.pt").is_file())


class PythaeModel(ImageModel):
    """A pythae model as a protocol object (module doc)."""

    def __init__(self, model):
        shape = tuple(int(s) for s in model.model_config.input_dim)
        super().__init__(model, shape, shape[0] if len(shape) == 3 else 1,
                         (int(model.model_config.latent_dim),), kind="pythae")

    def encode_net(self, images):
        out = self.net.encoder(images)
        logvar = out.get("log_covariance")
        return out["embedding"] if logvar is None else (out["embedding"], logvar)

    def decode_net(self, latents):
        return self.net.decoder(latents)["reconstruction"]


def _check_weights(folder: Path) -> None:
    try:
        state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle of objects, a truncated file, ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{folder / 'model.pt'}: not a file of tensors latentdyn can "
                              f"open safely (torch.load with weights_only=True: {reason})"
                              ) from None
    if not isinstance(state, dict) or "model_state_dict" not in state:
        raise CheckpointError(f"{folder / 'model.pt'}: no model_state_dict in it (not saved by "
                              "pythae)")


def load(folder: Path, device, trust_pickles: bool = False) -> PythaeModel:
    pickled = [n for n in PICKLES if (folder / n).is_file()]
    if pickled and not trust_pickles:
        raise ConfigError(f"{folder}: its networks are pickled ({', '.join(pickled)}: pythae "
                          "stores networks of your own with cloudpickle), and loading a pickle "
                          "runs whatever code it holds; pass --trust-pickles if you made this "
                          "folder or trust who did")
    require("pythae", "pythae", WHAT)
    _check_weights(folder)
    from pythae.models import AutoModel

    try:
        model = AutoModel.load_from_folder(str(folder))
    except (OSError, ValueError, KeyError, NameError, AttributeError, RuntimeError,
            TypeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{folder}: pythae cannot load it: {reason}") from None
    if not (hasattr(model, "encoder") and hasattr(model, "decoder")):
        raise ConfigError(f"{folder}: this pythae model ({type(model).__name__}) has no encoder "
                          "and decoder; latentdyn needs both")
    return PythaeModel(no_grad_params(model)).to(device)


ADAPTER = Adapter("pythae", "pythae", WHAT, detect, load)
