"""Stage 1, the networks: the classifier C, the judge J, the DCGAN G and the encoder E.

:func:`load_given` loads the finished runs passed in (``--classifier``, ``--judge``,
``--gan``, ``--encoder``) before anything is written; :func:`networks` trains the
others into ``<out>/runs`` (reused when finished with the same settings, resumed when
interrupted) and returns every network in a :class:`Networks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentdyn.studies.toledo2023.profiles import Profile

ARGV = ["latentdyn", "reproduce", "toledo2023"]  # what the trained runs record
KINDS = {"classifier": "classifier", "judge": "classifier", "gan": "gan",
         "encoder": "gan-encoder"}


@dataclass
class GivenRuns:
    """The finished runs passed in, loaded: name -> model and name -> folder."""

    models: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    note: str | None = None  # how C was found, when the encoder's own classifier is used

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
    from latentdyn.train.runs import input_run, load_run_of_kind

    out = GivenRuns()
    given = dict(given)
    if given.get("encoder") and not given.get("classifier"):
        src = input_run(given["encoder"], "classifier")
        if src:
            given["classifier"] = src
            out.note = f"classifier: using the encoder's own, {src}"
    for name in ("classifier", "judge", "encoder", "gan"):
        if given.get(name):
            out.models[name] = load_run_of_kind(given[name], KINDS[name], f"--{name}", device,
                                                frozen=name != "gan")[0]
            out.paths[name] = str(given[name])
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
    from latentdyn.train.runs import last_metrics

    models, paths = dict(given.models), dict(given.paths)
    if given.note:
        run.log(given.note)
    for name, s in classifier_seeds(seed).items():
        with run.stage(f"{prefix}train {name}", None if name in models else
                       f"{prefix}{name}: training a CNN ({prof.clf_epochs} epochs, seed {s})"):
            if name not in models:
                folder = _ensure(_classifier_config(prof, data, s, device), runs / name, data,
                                 run.progress)
                models[name] = _load(folder, name, device)
                paths[name] = str(folder)
    if "encoder" not in models:
        with run.stage(f"{prefix}train gan", None if "gan" in models else
                       f"{prefix}gan: training the DCGAN ({prof.gan_epochs} epochs)"):
            if "gan" not in models:
                folder = _ensure(_gan_config(prof, data, seed, device, paths["classifier"]),
                                 runs / "gan", data, run.progress)
                models["gan"] = _load(folder, "gan", device)
                paths["gan"] = str(folder)
        with run.stage(f"{prefix}train encoder", f"{prefix}encoder: training E on the frozen "
                                                 f"G and C ({prof.enc_epochs} epochs)"):
            folder = _ensure(_encoder_config(prof, data, seed, device, models["gan"], paths),
                             runs / "encoder", data, run.progress,
                             inputs={"gan": paths["gan"], "classifier": paths["classifier"]})
            models["encoder"] = _load(folder, "encoder", device)
            paths["encoder"] = str(folder)
    paths = {k: paths[k] for k in ("classifier", "judge", "gan", "encoder")}
    return Networks(models["classifier"], models["judge"], models.get("gan"),
                    models["encoder"], paths,
                    gan_metrics=last_metrics(paths["gan"]) if Path(paths["gan"]).is_dir()
                    else {},
                    encoder_metrics=last_metrics(paths["encoder"]))


# --------------------------------------------------------------------------- helpers
def _ensure(config, folder: Path, data, progress: bool, inputs: dict | None = None) -> Path:
    """Train ``config`` into ``folder`` (see :func:`latentdyn.train.ensure_trained`)."""
    from latentdyn.train import ensure_trained

    return ensure_trained(config, folder, progress=progress, dataset=data, inputs=inputs,
                          argv=ARGV)


def _load(folder: Path, name: str, device):
    from latentdyn.train.runs import load_run_of_kind

    return load_run_of_kind(folder, KINDS[name], f"--{name}", device, frozen=name != "gan")[0]


def _classifier_config(prof: Profile, data, seed: int, device):
    from latentdyn.train.recipes import classifier_config

    return classifier_config(data, epochs=prof.clf_epochs, batch_size=prof.clf_batch,
                             lr=prof.clf_lr, seed=seed, device=device, conv1=prof.clf_conv1,
                             conv2=prof.clf_conv2, dense=prof.clf_dense)


def _gan_config(prof: Profile, data, seed: int, device, classifier: str):
    from latentdyn.train.recipes import gan_config

    return gan_config(data, nz=prof.nz, epochs=prof.gan_epochs, batch_size=prof.gan_batch,
                      lr=prof.gan_lr, seed=seed, device=device, g_width=prof.g_width,
                      d_width=prof.d_width, classifier=classifier)


def _encoder_config(prof: Profile, data, seed: int, device, gan, paths: dict):
    from latentdyn.train.recipes import encoder_config

    return encoder_config(data, gan, gan=paths["gan"], classifier=paths["classifier"],
                          epochs=prof.enc_epochs, batch_size=prof.enc_batch, lr=prof.enc_lr,
                          seed=seed, device=device, e_width=prof.e_width,
                          e_hidden=prof.e_hidden, rec_weight=prof.rec_weight,
                          ce_weight=prof.ce_weight, kl_weight=prof.kl_weight)
