"""Running a protocol model for inference, batched: every analysis goes through here.

* :func:`inference_mode` -- eval mode and no gradients for the duration (optionally on
  another device); every submodule's train/eval state and the device are restored;
* :func:`encode_all` / :func:`decode_all` -- E_q[z | x] and E_p[x | z] of many rows,
  in batches, results on the CPU;
* :func:`predict_proba` / :func:`predict_labels` -- a classifier's reading of images;
* :func:`latent_dim` -- the model's nz (see :mod:`latentdyn.models.protocol`).
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
from torch import Tensor

from latentdyn.checks import as_float
from latentdyn.errors import ConfigError
from latentdyn.models.protocol import check_model, data_mean, latent_mean, model_device


def normalise_device(dev: torch.device) -> torch.device:
    """``cuda`` without an index is the current CUDA device."""
    if dev.type == "cuda" and dev.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return dev


@contextlib.contextmanager
def inference_mode(*models, device=None):
    """Eval mode and no gradients for the duration; afterwards every submodule's
    train/eval state is restored, and a module moved to ``device`` is moved back.

    Plain objects (not ``nn.Module``) are switched with their own ``eval()`` /
    ``train()`` when they offer them."""
    restore = []
    for m in models:
        if isinstance(m, torch.nn.Module):
            modes = [(sub, sub.training) for sub in m.modules()]
            home = normalise_device(model_device(m))
            if device is not None and home != device:
                m.to(device)
            else:
                home = None
            m.eval()
            restore.append((m, modes, home))
        else:
            training = getattr(m, "training", False)
            if training and callable(getattr(m, "eval", None)):
                m.eval()
            restore.append((m, training, None))
    try:
        with torch.no_grad():
            yield
    finally:
        for m, modes, home in restore:
            if isinstance(m, torch.nn.Module):
                if home is not None:
                    m.to(home)
                for sub, training in modes:
                    sub.training = training
            elif modes and callable(getattr(m, "train", None)):
                m.train(True)


def model_dtype(model, fallback=torch.float32) -> torch.dtype:
    """The floating dtype of the model's parameters (``fallback`` without any)."""
    params = getattr(model, "parameters", None)
    if callable(params):
        for p in params():
            if p.is_floating_point():
                return p.dtype
    return fallback


def _batched(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int, device) -> Tensor:
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if x.shape[0] == 0:
        raise ConfigError("no inputs (an empty batch)")
    parts = [fn(x[s:s + batch_size].to(device)).detach().cpu()
             for s in range(0, x.shape[0], batch_size)]
    return torch.cat(parts, 0)


def encode_all(model, x: Tensor, batch_size: int = 1000) -> Tensor:
    """E_q[z | x] of every row of ``x`` (batched, CPU result, (n, nz))."""
    check_model(model)
    x = as_float(x, "x")
    dev, dt = model_device(model), model_dtype(model, x.dtype)
    with inference_mode(model):
        z = _batched(lambda b: latent_mean(model, b.to(dt)), x, batch_size, dev)
    return z.reshape(z.shape[0], -1)


def decode_all(model, z: Tensor, batch_size: int = 1000) -> Tensor:
    """E_p[x | z] of every row of ``z``, flattened to (n, D) (batched, CPU result)."""
    check_model(model)
    z = as_float(z, "z", 2)
    dev, dt = model_device(model), model_dtype(model, z.dtype)
    with inference_mode(model):
        x = _batched(lambda b: data_mean(model, b.to(dt)), z, batch_size, dev)
    return x.reshape(x.shape[0], -1)


def predict_proba(classifier, x: Tensor, batch_size: int = 1000) -> Tensor:
    """(n, C) class probabilities: ``classifier.predict_proba``, else the softmax of
    ``classifier(x)`` (logits), else one-hot ``classifier.predict``."""
    x = as_float(x, "x")
    dev = model_device(classifier)
    if callable(getattr(classifier, "predict_proba", None)):
        fn = classifier.predict_proba
    elif isinstance(classifier, torch.nn.Module) or (
            callable(classifier) and not callable(getattr(classifier, "predict", None))):
        fn = lambda b: torch.softmax(classifier(b), dim=-1)  # noqa: E731
    elif callable(getattr(classifier, "predict", None)):
        labels = predict_labels(classifier, x, batch_size)
        return torch.nn.functional.one_hot(labels, int(labels.max()) + 1).float()
    else:
        raise ConfigError(f"{type(classifier).__name__} offers no predict_proba(), predict() "
                          "or logits when called")
    with inference_mode(classifier):
        return _batched(lambda b: torch.as_tensor(fn(b)), x, batch_size, dev)


def predict_labels(classifier, x: Tensor, batch_size: int = 1000) -> Tensor:
    """(n,) int64 predicted classes: ``classifier.predict``, else the argmax of
    :func:`predict_proba`."""
    if callable(getattr(classifier, "predict", None)):
        x = as_float(x, "x")
        dev = model_device(classifier)
        with inference_mode(classifier):
            return _batched(lambda b: torch.as_tensor(classifier.predict(b)), x, batch_size,
                            dev).long().reshape(-1)
    return predict_proba(classifier, x, batch_size).argmax(1)


def latent_dim(model, x: Tensor | None = None) -> int:
    """nz of ``model``: its ``nz`` / ``latent_dim`` attribute (or config's), else one
    encoding of ``x``."""
    for owner in (model, getattr(model, "config", None)):
        for name in ("nz", "latent_dim", "z_dim"):
            v = getattr(owner, name, None) if owner is not None else None
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                return v
    if x is not None:
        return int(encode_all(model, x[:2]).shape[1])
    raise ConfigError(f"cannot tell the latent size of {type(model).__name__}; give nz")


__all__ = ["decode_all", "encode_all", "inference_mode", "latent_dim", "model_dtype",
           "normalise_device", "predict_labels", "predict_proba"]
