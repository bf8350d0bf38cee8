"""Stage 1, the networks: the VAE (families a and c), the GAN with its encoder
(families b and e) and the classifier (accuracy; the labels of the LSD bases).

:func:`load_given` loads what was passed in (run folders or model objects, and LSD
bases) before anything is written; :func:`networks` trains the missing networks into
``<out>/runs`` -- ``vae``, ``classifier``, ``gan`` and ``encoder``, each reused when
it finished with the same settings and resumed when interrupted -- unless
``given_only``, and returns every network in a :class:`Networks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentdyn.errors import ConfigError
from latentdyn.studies.denoise.profiles import Profile

ARGV = ["latentdyn", "compare", "denoise"]  # what the trained runs record
NETWORKS = ("vae", "gan", "classifier")
BASES = ("basis_vae", "basis_gan")


@dataclass
class Given:
    """What was passed in, loaded: models and bases by name, the run folders among
    them, and how the manifest names each input (a path, a type name or None)."""

    models: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    bases: dict[str, Any] = field(default_factory=dict)  # "vae" / "gan" -> basis
    labels: dict[str, str | None] = field(default_factory=dict)
    properties: dict[str, dict] = field(default_factory=dict)  # run -> its kind, nz, epochs…


@dataclass
class Networks:
    """The networks the comparison uses (``None``: not given and not trained), the
    run folders they came from (``generator``: the GAN run a trained encoder was built
    on) and the runs trained (or reused) here."""

    vae: Any | None
    gan: Any | None  # the GAN's encoder run: encode = E, decode = G
    classifier: Any | None
    paths: dict[str, str]
    trained: dict[str, str] = field(default_factory=dict)  # name -> folder trained here


def _label(v) -> str | None:
    return str(v) if isinstance(v, (str, Path)) else (None if v is None else type(v).__name__)


#: the run kinds each given network may be (the VMI VAE encodes and decodes like the VAE)
GIVEN_KINDS = {"vae": ("vae", "vmi"), "gan": ("gan-encoder",), "classifier": ("classifier",)}


def load_given(specs: dict[str, Any], device) -> Given:
    """Load ``specs`` (``vae``, ``gan``, ``classifier``: a run folder, a model object or
    None; ``basis_vae``, ``basis_gan``: an LSD basis file, a basis or None). A run
    folder of another model kind than its option needs (``GIVEN_KINDS``) is refused in
    one line."""
    from latentdyn.analysis.lsd import QuasiEigenbasis, load_basis
    from latentdyn.studies.models import run_properties
    from latentdyn.train.runs import load_run_of_kind

    given = Given(labels={k: _label(specs.get(k)) for k in (*NETWORKS, *BASES)})
    for name in NETWORKS:
        spec = specs.get(name)
        if isinstance(spec, (str, Path)):
            run = load_run_of_kind(spec, GIVEN_KINDS[name], f"--{name}", device)
            given.models[name] = run.model
            given.paths[name] = str(spec)
            given.properties[name] = run_properties(run.config)
        elif spec is not None:
            given.models[name] = spec
    for name in BASES:
        spec = specs.get(name)
        if spec is not None:
            given.bases[name[len("basis_"):]] = (spec if isinstance(spec, QuasiEigenbasis)
                                                 else load_basis(spec))
    return given


def check_fits(given: Given, data) -> None:
    """Refuse in one line a given network made for images of another size."""
    from latentdyn.studies.models import check_fits as fits

    for name, model in given.models.items():
        path = given.paths.get(name)
        fits(model, data, f"the --{name} model" + (f" {path}" if path else ""))


def check_trainable(given: Given, data, given_only: bool) -> None:
    """Refuse in one line a setting whose missing networks cannot be trained."""
    if given_only:
        return
    missing = [n for n in NETWORKS if n not in given.models]
    if ("classifier" in missing or "gan" in missing) and data.num_classes < 2:
        raise ConfigError(f"{data.name}: training the classifier and the GAN's encoder needs "
                          "labelled data with at least two classes (or pass --given-only)")
    if "gan" in missing and "classifier" in given.models and "classifier" not in given.paths:
        raise ConfigError("training the GAN and its encoder needs the classifier as a run "
                          "folder, not a model object")


def networks(r, prof: Profile, data, data_dir, seed: int, device, given: Given,
             given_only: bool, runs: Path, prefix: str = "") -> Networks:
    """Every network: the given ones, and unless ``given_only`` the missing ones
    trained from the profile's recipes (stages ``<prefix>train vae``, ``… classifier``,
    ``… gan``, ``… encoder`` of the study run ``r``) into ``runs``."""
    from latentdyn.train.recipes import classifier_config

    models, paths = dict(given.models), dict(given.paths)
    trained: dict[str, str] = {}
    if not given_only:
        if "vae" not in models:
            with r.stage(f"{prefix}train vae",
                         f"{prefix}vae: training the VAE ({prof.vae_epochs} epochs)"):
                models["vae"], paths["vae"] = _trained(
                    _vae_config(prof, data, data_dir, seed, device), runs / "vae", "vae", data,
                    device, r.progress)
                trained["vae"] = paths["vae"]
        if "classifier" not in models:
            with r.stage(f"{prefix}train classifier", f"{prefix}classifier: training a CNN "
                                                      f"({prof.classifier.epochs} epochs)"):
                models["classifier"], paths["classifier"] = _trained(
                    classifier_config(prof.classifier, data, seed=seed, device=device),
                    runs / "classifier", "classifier", data, device, r.progress)
                trained["classifier"] = paths["classifier"]
        if "gan" not in models:
            models["gan"] = _gan_and_encoder(r, prof, data, seed, device, paths, runs,
                                             prefix)
            trained.update(gan=paths["generator"], encoder=paths["gan"])
    return Networks(models.get("vae"), models.get("gan"), models.get("classifier"), paths,
                    trained)


def _gan_and_encoder(r, prof: Profile, data, seed: int, device, paths: dict, runs: Path,
                     prefix: str = ""):
    """Train the DCGAN, then its encoder on the frozen G and C; the encoder (which
    holds its generator) is the GAN of the comparison, its folder ``paths["gan"]``."""
    from latentdyn.train.recipes import encoder_config, gan_config

    with r.stage(f"{prefix}train gan",
                 f"{prefix}gan: training the DCGAN ({prof.gan.epochs} epochs)"):
        config = gan_config(prof.gan, data, seed=seed, device=device,
                            classifier=paths["classifier"])
        gan, paths["generator"] = _trained(config, runs / "gan", "gan", data, device,
                                           r.progress)
    with r.stage(f"{prefix}train encoder",
                 f"{prefix}encoder: training E on the frozen G and C ({prof.encoder.epochs} "
                 "epochs)"):
        inputs = {"gan": paths["generator"], "classifier": paths["classifier"]}
        config = encoder_config(prof.encoder, data, gan, **inputs, seed=seed, device=device)
        encoder, paths["gan"] = _trained(config, runs / "encoder", "encoder", data, device,
                                         r.progress, inputs)
        return encoder


# --------------------------------------------------------------------------- helpers
KINDS = {"vae": "vae", "classifier": "classifier", "gan": "gan", "encoder": "gan-encoder"}


def _trained(config, folder: Path, name: str, data, device, progress: bool,
             inputs: dict | None = None) -> tuple[Any, str]:
    """Train ``config`` into ``folder`` (see :func:`latentdyn.train.ensure_trained`)
    and load it as the network ``name``; returns the model and the folder."""
    from latentdyn.train import ensure_trained
    from latentdyn.train.runs import load_run_of_kind

    ensure_trained(config, folder, progress=progress, dataset=data, inputs=inputs, argv=ARGV)
    model = load_run_of_kind(folder, KINDS[name], f"--{name}", device,
                             frozen=name in ("classifier", "encoder"))[0]
    return model, str(folder)


def _vae_config(prof: Profile, data, data_dir, seed: int, device):
    """The paper's VAE (:class:`~latentdyn.train.TrainConfig` defaults) at the
    profile's latent size, width and epochs."""
    from latentdyn.train import TrainConfig

    return TrainConfig(model="vae", dataset=data.name, data_dir=data_dir, nz=prof.vae_nz,
                       hidden=prof.vae_hidden, epochs=prof.vae_epochs, seed=seed,
                       device=str(device)).validate()
