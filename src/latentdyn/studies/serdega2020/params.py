"""The options of ``latentdyn reproduce serdega2020`` (:class:`Params`, from which the
command and the Python API ``run`` are built) and :func:`prepare`, which checks them
all and loads every data set before anything is written (:class:`Setup`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from latentdyn.errors import ConfigError
from latentdyn.studies.common import PROFILE_NAMES, Common, out_param
from latentdyn.studies.params import param
from latentdyn.studies.serdega2020.profiles import Profile, default_datasets, resolve_profile

DEFAULT_OUT = "results/serdega2020"
PROFILE_HELP = ("quick (reduced; about 15 minutes on 2 CPU cores), paper (the paper's settings; "
                "hours, use a GPU) or smoke (toy size in seconds, for tests; not a "
                "reproduction).")


def parse_seeds(text: str | None) -> int | list[int] | None:
    """``--seeds``: ``"3"`` -> 3 (three seeds from ``--seed``, as in every study);
    ``"0,4,7"`` (a comma makes it a list; ``"7,"`` is the one seed 7) -> ``[0, 4, 7]``;
    None or empty -> None (the profile's number of seeds from ``--seed``)."""
    if not text or not text.strip():
        return None
    try:
        if "," not in text:
            return int(text)
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds expects a count N or comma-separated seeds, got "
                          f"{text!r}") from None


@dataclass(frozen=True)
class Params(Common):
    """Every option of the reproduction; None means the profile's value."""

    profile: str = param("quick", PROFILE_HELP, choices=PROFILE_NAMES, group=-1)
    datasets: tuple[str, ...] = param(
        (), "Data set(s) [quick: mnist-embedded; paper: mnist (else mnist-embedded) and "
            "fashion-mnist when present].", flag="--dataset", multiple=True)
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    seeds: int | tuple[int, ...] | None = param(
        None, "N: train N seeds SEED, SEED+1, …; or an explicit comma-separated list such as "
              "0,4,7 (one seed: 7,) [the profile's count: quick 2, paper 3].",
        parse=parse_seeds)
    lam: float | None = param(None, "λ of the regularised models of every family [profile's].")
    out: str | None = out_param(DEFAULT_OUT, "Output folder (runs are kept in OUT/runs and "
                                             "reused).")
    seed: int = param(0, "The first training seed.", group=1)


@dataclass
class Setup:
    """The checked options: the profile with λ and the training seeds put in, the
    loaded data sets, the device, and what the manifest records."""

    params: Params
    profile: Profile
    datasets: list  # latentdyn.data datasets, in the order given
    device: Any
    settings: dict  # the profile's settings and the data sets' names
    data_record: dict  # per data set: checksums and sizes


def prepare(p: Params) -> Setup:
    """Check every option and load every data set; nothing is written."""
    from latentdyn.checks import resolve_device
    from latentdyn.data import load_dataset

    prof = resolve_profile(p.profile, lam=p.lam, seeds=p.seeds, seed=p.seed)
    given = [p.datasets] if isinstance(p.datasets, str) else list(p.datasets or ())
    names = given or default_datasets(prof, p.data_dir)
    dev = resolve_device(p.device)
    loaded = [load_dataset(n, p.data_dir) for n in names]
    record = {d.name: {"checksums": d.checksums(), "train": len(d.train_labels),
                       "test": len(d.test_labels)} for d in loaded}
    return Setup(p, prof, loaded, dev, {**prof.settings(), "datasets": names}, record)


__all__ = ["DEFAULT_OUT", "Params", "Setup", "parse_seeds", "prepare"]
