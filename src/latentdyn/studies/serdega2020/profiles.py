"""The settings of the serdega2020 reproduction, where every other module of the study
takes them from: one :class:`Profile` per named profile (``quick``, ``paper``,
``smoke``), the options that override them (:func:`resolve_profile`), the study's
constants, and how λ and a data set are spelled in file names and text."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from latentdyn.errors import ConfigError
from latentdyn.studies.common import MAX_SEEDS, check_seed, get_profile, seed_list

#: the largest λ accepted, refused before anything trains (a huge λ only failed in training)
MAX_LAM = 1e6
#: S3's chance: the categorical code's accuracy with the codes shuffled against the labels,
#: this many permutations (measured in stage 1, judged by the claim)
S3_PERMUTATIONS = 200


def lam_tag(lam: float) -> str:
    """λ in file and column names: ``lam0``, ``lam10``."""
    return "lam0" if lam == 0 else f"lam{lam:g}"


def lam_label(lam: float) -> str:
    """λ in legends and text: ``λ = 0``, ``λ = 10``."""
    return "λ = 0" if lam == 0 else f"λ = {lam:g}"


def ds_tag(name: str) -> str:
    """A data-set name as a folder or file-name part."""
    return name.replace(":", "_").replace(",", "_").replace("=", "").replace("/", "_")


@dataclass(frozen=True)
class Profile:
    """Every setting of a reproduction; ``quick`` and ``smoke`` reduce ``paper``."""

    name: str
    datasets: tuple[str, ...]
    seeds: tuple[int, ...]
    families: tuple[str, ...]  # "joint" (Gaussian + categorical), "gauss" (Gaussian only)
    # model
    arch: str = "conv"
    hidden: int = 256
    channels: int = 32
    activation: str = "relu"
    n_gauss_joint: int = 16
    n_cat: int = 10
    n_gauss_gauss: int = 32
    codes_joint: str = "cat"
    codes_gauss: str = "0,1"
    kl_weight: float = 1.0
    lam_joint: float = 10.0  # λ > 0 of the joint family (chosen code: the categorical unit)
    lam_gauss: float = 1.0  # λ > 0 of the Gaussian family (chosen codes: units 0 and 1)
    q_source: str = "both"
    q_hidden: int = 256
    temp_start: float = 1.0
    temp_min: float = 0.5
    temp_fraction: float = 0.5  # of all training steps, to reach temp_min
    # training
    epochs: int = 50
    batch_size: int = 124
    lr: float = 1e-4
    # MI evaluation of the frozen models
    mi_fits: int = 3
    mi_steps: int = 2000
    mi_batch: int = 128
    mi_train: int = 10000
    mi_test: int = 2000
    mi_hidden: int = 256
    # repeated inference
    dyn_trials: int = 100  # per label
    dyn_steps: int = 80
    dyn_noise: str = "swap"
    dyn_p: float = 0.2
    # traversals
    trav_rows: int = 6
    trav_values: int = 9
    trav_range: float = 2.5
    fig_dpi: int = 150

    def settings(self) -> dict:
        return asdict(self)

    def lams(self, family: str) -> list[float]:
        """The two λ compared in ``family``: 0 and the family's λ > 0."""
        return [0.0, self.lam_joint if family == "joint" else self.lam_gauss]


PROFILES = {
    # reduced to fit a few CPU minutes; every reduction is stated in the report
    "quick": Profile(name="quick", datasets=("mnist-embedded",), seeds=(0, 1),
                     families=("joint", "gauss"),
                     arch="fc", hidden=512, epochs=20, batch_size=100, lr=1e-3, mi_steps=1000,
                     dyn_trials=50),
    # the paper's settings (hours; use a GPU)
    "paper": Profile(name="paper", datasets=("mnist", "fashion-mnist"), seeds=(0, 1, 2),
                     families=("joint", "gauss")),
    # toy size for tests: seconds on synthetic data, not a reproduction
    "smoke": Profile(name="smoke", datasets=("synthetic:k=4,m=40,side=8,test=20",), seeds=(0,),
                     families=("joint",), arch="fc", hidden=24, channels=4, n_gauss_joint=3,
                     n_cat=4, codes_joint="0,cat", n_gauss_gauss=3, q_hidden=16, epochs=2,
                     batch_size=20, lr=3e-3, mi_fits=2, mi_steps=20, mi_batch=32, mi_train=200,
                     mi_test=100, mi_hidden=16, dyn_trials=4, dyn_steps=6, trav_rows=2,
                     trav_values=5, fig_dpi=30),
}


def resolve_profile(name: str, *, lam: float | None = None, seeds=None,
                    seed: int = 0) -> Profile:
    """The profile ``name`` with ``lam`` (λ > 0 of every family) and the training seeds
    put in, or a one-line error. ``seeds``: None (as many as the profile has, from
    ``seed``), a count N (``seed, seed + 1, …, seed + N − 1``, as ``--seeds N`` in every
    study) or an explicit list of seeds."""
    prof = get_profile(PROFILES, name)
    if lam is not None:
        if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam > 0):
            raise ConfigError(f"--lam must be a positive number, got {lam!r}")
        if lam > MAX_LAM:
            raise ConfigError(f"--lam must be at most {MAX_LAM:g} (the paper's λ are 10 and "
                              f"1; λ = 1e30 makes the training loss NaN), got {lam:g}")
        prof = replace(prof, lam_joint=float(lam), lam_gauss=float(lam))
    check_seed(seed)
    if seeds is None:
        seeds = seed_list(seed, len(prof.seeds))
    elif isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = seed_list(seed, seeds)
    else:
        seeds = list(seeds)
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                for s in seeds) or len(set(seeds)) != len(seeds):
            raise ConfigError(f"seeds must be distinct non-negative integers, got {seeds}")
        if len(seeds) > MAX_SEEDS:
            raise ConfigError(f"--seeds lists at most {MAX_SEEDS} seeds, got {len(seeds)}")
    for s in seeds:
        check_seed(s, "every training seed")
    return replace(prof, seeds=tuple(seeds))


def default_datasets(profile: Profile, data_dir=None) -> list[str]:
    """The profile's data sets that are present; MNIST falls back to the embedded subset."""
    if profile.name != "paper":
        return list(profile.datasets)
    from latentdyn.data import list_datasets

    available = {d["name"] for d in list_datasets(data_dir) if d["available"]}
    out = ["mnist" if "mnist" in available else "mnist-embedded"]
    if "fashion-mnist" in available:
        out.append("fashion-mnist")
    return out
