"""Stage 1, the networks: the classifier C, the judge J, the DCGAN G and the encoder E.

:func:`load_given` loads the finished runs passed in (``--classifier``, ``--judge``,
``--gan``, ``--encoder``) before anything is written; :func:`networks` trains the
others into ``<out>/runs`` from the profile's recipes
(:mod:`latentdyn.train.recipes`; reused when finished with the same settings, resumed
when interrupted) and returns every network in a :class:`Networks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentdyn.studies.toledo2023.profiles import Profile

ARGV = ["latentdyn", "reproduce", "toledo2023"]  # what the trained runs record
KINDS = {"classifier": "classifier", "judge": "classifier", "gan": "gan",
         "encoder": "gan-encoder"}
ROLES = ("classifier", "judge", "gan", "encoder")


@dataclass
class GivenRuns:
    """The finished runs passed in, loaded: name -> model and name -> folder."""

    models: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    note: str | None = None  # how C was found, when the encoder's own classifier is used
    properties: dict[str, dict] = field(default_factory=dict)  # name -> kind, nz, epochs…

    def nz(self, default: int) -> int:
        """The latent size the study will have: the given encoder's, else the given
        GAN's (the encoder is trained on it), else ``default``."""
        for name in ("encoder", "gan"):
            if name in self.models:
                return int(self.models[name].nz)
        return default


@dataclass
class Networks:
    """Every network of the study, the folders they came from and the last epoch of
    the GAN's and the encoder's training metrics."""

    classifier: Any
    judge: Any
    gan: Any | None  # None when an encoder run was given without its GAN run
    encoder: Any
    paths: dict[str, str]
    gan_metrics: dict
    encoder_metrics: dict

    @property
    def nz(self) -> int:
        return int(self.encoder.nz)


def load_given(given: dict[str, str | None], device) -> GivenRuns:
    """Load the runs named in ``given`` (name -> folder or None), refusing in one line a
    run of the wrong kind. An encoder run given without a classifier brings the
    classifier it was trained against as C."""
    from latentdyn.train.runs import input_run

    out = GivenRuns()
    given = dict(given)
    if given.get("encoder") and not given.get("classifier"):
        src = input_run(given["encoder"], "classifier")
        if src:
            given["classifier"] = src
            out.note = f"classifier: using the encoder's own, {src}"
    from latentdyn.studies.models import run_properties

    for name in ("classifier", "judge", "encoder", "gan"):
        if given.get(name):
            run = _load(given[name], name, device)
            out.models[name] = run.model
            out.paths[name] = str(given[name])
            out.properties[name] = run_properties(run.config)
    if "encoder" in out.models and "gan" not in out.paths:
        sources = out.models["encoder"].sources.get("gan", {}) or {}
        out.paths["gan"] = str(sources.get("path", "(inside the encoder run)"))
    return out


def classifier_seeds(seed: int) -> dict[str, int]:
    """The seeds of C and J for training seed ``seed``: 2·seed and 2·seed + 1, so that
    the networks of the seeds of ``--seeds N`` never share a seed (seed 0: 0 and 1)."""
    return {"classifier": 2 * seed, "judge": 2 * seed + 1}


def networks(prof: Profile, data, runs: Path, seed: int, device, given: GivenRuns,
             run, prefix: str = "") -> Networks:
    """The four networks, each trained into ``runs/<name>`` (as stage
    ``<prefix>train <name>`` of ``run``) unless given; with a given encoder neither the
    GAN nor the encoder is trained."""
    from latentdyn.train.recipes import classifier_config, encoder_config, gan_config
    from latentdyn.train.runs import last_metrics

    models, paths = dict(given.models), dict(given.paths)
    if given.note:
        run.log(given.note)
    for name, s in classifier_seeds(seed).items():
        with run.stage(f"{prefix}train {name}", None if name in models else
                       f"{prefix}{name}: training a CNN ({prof.classifier.epochs} epochs, "
                       f"seed {s})"):
            if name not in models:
                config = classifier_config(prof.classifier, data, seed=s, device=device)
                models[name], paths[name] = _trained(config, runs / name, name, data, device,
                                                     run.progress)
    if "encoder" not in models:
        with run.stage(f"{prefix}train gan", None if "gan" in models else
                       f"{prefix}gan: training the DCGAN ({prof.gan.epochs} epochs)"):
            if "gan" not in models:
                config = gan_config(prof.gan, data, seed=seed, device=device,
                                    classifier=paths["classifier"])
                models["gan"], paths["gan"] = _trained(config, runs / "gan", "gan", data,
                                                       device, run.progress)
        with run.stage(f"{prefix}train encoder", f"{prefix}encoder: training E on the frozen "
                                                 f"G and C ({prof.encoder.epochs} epochs)"):
            inputs = {"gan": paths["gan"], "classifier": paths["classifier"]}
            config = encoder_config(prof.encoder, data, models["gan"], **inputs, seed=seed,
                                    device=device)
            models["encoder"], paths["encoder"] = _trained(
                config, runs / "encoder", "encoder", data, device, run.progress, inputs)
    paths = {k: paths[k] for k in ROLES}
    return Networks(models["classifier"], models["judge"], models.get("gan"),
                    models["encoder"], paths,
                    gan_metrics=last_metrics(paths["gan"]) if Path(paths["gan"]).is_dir()
                    else {},
                    encoder_metrics=last_metrics(paths["encoder"]))


def _trained(config, folder: Path, name: str, data, device, progress: bool,
             inputs: dict | None = None) -> tuple[Any, str]:
    """Train ``config`` into ``folder`` (see :func:`latentdyn.train.ensure_trained`)
    and load it as the network ``name``; returns the model and the folder."""
    from latentdyn.train import ensure_trained

    ensure_trained(config, folder, progress=progress, dataset=data, inputs=inputs, argv=ARGV)
    return _load(folder, name, device).model, str(folder)


def _load(folder, name: str, device):
    """The run in ``folder`` as the network ``name`` (of its kind; frozen but the GAN):
    its model and config."""
    from latentdyn.train.runs import load_run_of_kind

    return load_run_of_kind(folder, KINDS[name], f"--{name}", device, frozen=name != "gan")
