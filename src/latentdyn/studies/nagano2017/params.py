"""The options of ``reproduce nagano2017``, and the part of them (and of their checks)
that ``reproduce nagano2017-sampling`` shares.

:class:`HierarchyParams` holds what both studies of Nagano, Karakida & Okada (2017)
take: the data, the VAE (``--model`` or one trained per seed), the corruption, the
latent size of the VAE they train and the overrides of the profile's sizes;
:func:`check_shared` and :func:`vae_config` check them. :class:`Params` adds what
only this study has: the dynamics, the latent-size study and where its sweep trains.

With ``--model`` every property of the model a report states (Nz, the epochs it was
trained, its hidden width, its data set) is read from the run (:func:`model_properties`),
and an option that contradicts the run is refused in one line (:func:`check_given`,
issue 19): ``--nz 100`` with a Nz = 14 run, ``--epochs`` with a run trained for
another length, ``--dataset`` other than the run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Any, Mapping

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.errors import ConfigError
from latentdyn.studies.common import (
    Backend,
    Reproduction,
    check_seed,
    get_profile,
    out_param,
    seed_list,
)
from latentdyn.studies.models import MODEL_HELP, ModelSource
from latentdyn.studies.params import param

DEFAULT_OUT = "results/nagano2017"
DEFAULT_NZ = 100  # the latent units of the VAE the studies train (paper 001)


@dataclass(frozen=True)
class HierarchyParams(ModelSource, Reproduction):
    """The options of both Nagano studies (each study gives ``out`` its own default)."""

    dataset: str | None = param(None, "Data set [default: mnist-embedded; paper profile: "
                                "mnist when present].", group=-1)
    data_dir: str | None = param(None, "Folder with downloaded data sets.", group=-1)
    model: Any = param(None, "Use this model instead of training one: " + MODEL_HELP,
                       group=-1)
    noise: str = param("swap", f"Corruption: {', '.join(NOISE_KINDS)}.", group=-1)
    nz: int | None = param(None, f"Latent units of the VAE it trains [default: {DEFAULT_NZ}; "
                           "with --model: the run's].", show_default=False, group=-1)
    epochs: int | None = param(None, "Override the profile's epochs.", group=-1)
    trials: int | None = param(None, "Override the trials per condition.", group=-1)
    steps: int | None = param(None, "Override T.", group=-1)

    @property
    def given(self) -> bool:
        """Whether ``--model`` was given."""
        return self.model is not None and not (isinstance(self.model, str) and not self.model)

    def model_run(self, given) -> str | None:
        """What the settings record of ``--model``: the folder as given, or for a model
        object its description (``given``: the loaded model)."""
        if not self.given:
            return None
        return str(self.model) if isinstance(self.model, (str, PathLike)) else given.path


@dataclass(frozen=True)
class Params(Backend, HierarchyParams):
    """Every option of ``reproduce nagano2017``."""

    out: str | None = out_param(DEFAULT_OUT)
    mode: str = param("deterministic", "Dynamics: deterministic or sampling.", group=-1)
    latent_size: bool = param(True, "Run the latent-size study (figures 6, 7, B.2; claims "
                              "C6-C8).", flag="--latent-size/--no-latent-size", group=-1)
    overlap: bool = param(True, "On a CPU with two or more threads, train each point of the "
                          "latent-size sweep on one thread: beside the VAE while it trains, "
                          "else several at a time (sooner; small-Nz points differ from "
                          "--no-overlap in the last digits; docs/benchmarks.md).",
                          flag="--overlap/--no-overlap", group=-1)


def check_shared(p: HierarchyParams, profiles: Mapping[str, Any]) -> tuple[Any, list[int]]:
    """The profile and the training seeds of ``p``; one line for an unknown profile or
    noise, a bad seed, or ``--model`` with ``--seeds N``."""
    prof = get_profile(profiles, p.profile)
    seeds = seed_list(check_seed(p.seed), p.n_seeds)
    if p.given and len(seeds) > 1:
        raise ConfigError("--seeds N trains N models; --model gives one (drop one of them)")
    if p.noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {p.noise!r}; choose from {', '.join(NOISE_KINDS)}")
    return prof, seeds


def vae_config(p: HierarchyParams, epochs: int, dataset: str, device):
    """The config of the VAE the studies train (paper 001's recipe), checked."""
    from latentdyn.train import TrainConfig

    from latentdyn.studies.nagano2017.profiles import CHECKPOINT_EVERY

    config = TrainConfig(dataset=dataset, data_dir=p.data_dir,
                         nz=DEFAULT_NZ if p.nz is None else p.nz, epochs=epochs,
                         seed=p.seed, device=str(device), eval_every=max(1, epochs),
                         checkpoint_every=CHECKPOINT_EVERY)
    config.validate()
    return config


def model_properties(given) -> dict:
    """What a report says about the ``--model`` (a loaded
    :class:`~latentdyn.studies.models.GivenModel`): ``nz``, ``epochs``, ``hidden`` and
    ``dataset`` from its run's config; for a model object, its ``nz`` (the rest None:
    not known)."""
    from latentdyn.studies.models import run_properties

    if given.config is not None:
        props = run_properties(given.config)
        return {k: props[k] for k in ("nz", "epochs", "hidden", "dataset")}
    nz = getattr(given.model, "nz", None)
    return {"nz": int(nz) if isinstance(nz, int) else None, "epochs": None, "hidden": None,
            "dataset": None}


def check_given(p: HierarchyParams, props: dict, path: str) -> None:
    """One line when an option contradicts the ``--model`` run's ``props`` (of
    :func:`model_properties`): ``--nz``, ``--epochs`` or ``--dataset`` given with
    another value than the run's."""
    wrong = [f"{flag} {mine} (the run has {props[key]})"
             for flag, key, mine in (("--nz", "nz", p.nz), ("--epochs", "epochs", p.epochs),
                                     ("--dataset", "dataset", p.dataset))
             if mine is not None and props.get(key) is not None and mine != props[key]]
    if wrong:
        raise ConfigError(f"--model {path} contradicts {', '.join(wrong)}; its properties "
                          "are read from the run: drop the option")


__all__ = ["DEFAULT_NZ", "DEFAULT_OUT", "HierarchyParams", "Params", "check_given",
           "check_shared", "model_properties", "vae_config"]
