"""What many studies share: the common options, profiles, the default data set, seeds.

* :class:`Common` -- ``--out``, ``--seed``, ``--device``, ``--overwrite``, ``--quiet``:
  the fields every command's ``Params`` has (override ``out`` to give its default);
* :class:`Reproduction` -- ``Common`` with ``--profile`` (``quick``, ``paper``,
  ``smoke``) and ``--seeds N``;
* :func:`get_profile`, :func:`default_dataset` (full MNIST for the paper profile when
  it is present), :func:`check_seed`, :func:`seed_list`, :func:`combine_seeds` (the
  verdict over several training seeds: :data:`SEED_RULE`, a majority of the seeds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Generic, Mapping, Sequence, TypeVar

from latentdyn.errors import ConfigError
from latentdyn.studies.params import param

PROFILE_NAMES = ("quick", "paper", "smoke")
PROFILE_HELP = ("quick: reduced to fit a few CPU minutes (every reduction is stated in the "
                "report); paper: the paper's settings (hours; use a GPU); smoke: toy size in "
                "seconds, for tests (not a reproduction).")
MAX_SEEDS = 100  # --seeds N: at most this many independently trained models

P = TypeVar("P")


def out_param(default: str | None, help: str = "Output folder.") -> Any:
    """The ``--out`` field of a folder result, with the study's default folder."""
    return param(default, help, path="dir", group=1)


@dataclass(frozen=True)
class Common:
    """The options every study and analysis command has."""

    out: str | None = out_param(None)
    seed: int = param(0, "Seed.", group=1)
    device: str = param("auto", "cpu, cuda, cuda:N, or auto.", group=1)
    overwrite: bool = param(False, "Replace results of another setting in --out.", group=1)
    quiet: bool = param(False, "No progress output.", group=1)


@dataclass(frozen=True)
class Reproduction(Common):
    """:class:`Common` with ``--profile`` and ``--seeds N``."""

    profile: str = param("quick", PROFILE_HELP, choices=PROFILE_NAMES, group=-1)
    n_seeds: int = param(1, "Train N models with seeds SEED, SEED+1, … and report per claim "
                            "how many of them reproduce it.", flag="--seeds", group=0)


BACKEND_KEYS = ("backend", "address", "cpus_per_task", "gpus_per_task", "retries")


@dataclass(frozen=True)
class Backend:
    """Where a study's sweeps train (``--backend local|ray`` and the Ray options): a mixin
    of the ``Params`` of every study that trains through :func:`latentdyn.sweep.run_sweep`;
    pass :func:`backend_of` on."""

    backend: str | None = param(None, "Where the sweeps train: local (this machine) or ray "
                                "(every group one Ray task, on a cluster or a Ray instance "
                                "started here; --out must be on storage every node sees; "
                                "docs/scaling.md) [default: local].",
                                choices=("local", "ray"), show_default=False, group=0)
    address: str | None = param(None, "With --backend ray: the running Ray cluster (auto: the "
                                "one this node belongs to; ray://HOST:PORT for Ray Client) "
                                "[default: $RAY_ADDRESS, else a Ray instance on this machine].",
                                metavar="auto|HOST:PORT", group=0)
    cpus_per_task: float | None = param(None, "With --backend ray: CPUs each task reserves, "
                                        "and its torch threads [default: 1].", group=0)
    gpus_per_task: float | None = param(None, "With --backend ray: GPUs each task reserves "
                                        "(0.5: two tasks share one) [default: 1 when the "
                                        "cluster has GPUs and --device is auto or cuda, else "
                                        "0].", group=0)
    retries: int | None = param(None, "With --backend ray: restarts of a task whose worker or "
                                "node died, each from its checkpoints [default: 2].", group=0)


def backend_of(params: Any) -> dict:
    """The backend options of ``params`` that were given, as keyword arguments of
    :func:`latentdyn.sweep.run_sweep` and :func:`latentdyn.sweep.check_backend`."""
    return {k: getattr(params, k) for k in BACKEND_KEYS if getattr(params, k, None) is not None}


# ------------------------------------------------------------------------ settings
def get_profile(profiles: Mapping[str, P], name: str) -> P:
    """The profile ``name`` of a study, or a one-line error naming the choices."""
    if name not in profiles:
        raise ConfigError(f"unknown profile {name!r}; choose from {', '.join(profiles)}")
    return profiles[name]


def default_dataset(profile: str, data_dir=None, other: str = "mnist-embedded") -> str:
    """``mnist`` for the paper profile when it is present on this machine, else the
    embedded MNIST subset (``other`` for the other profiles)."""
    if profile != "paper":
        return other
    from latentdyn.data import list_datasets
    from latentdyn.data.base import check_data_dir

    check_data_dir("mnist", data_dir)  # an explicit folder that is not there: say so

    present = {d["name"]: d.get("available") for d in list_datasets(data_dir)}
    return "mnist" if present.get("mnist") else "mnist-embedded"


def check_seed(seed: Any, name: str = "seed") -> int:
    """A seed in [0, 2**32 - 1] (what every run accepts), or a one-line error."""
    from latentdyn.train.config import MAX_SEED

    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be an integer in [0, {MAX_SEED}], got {seed!r}")
    return seed


def guard_output(out, identity: Mapping[str, Any], overwrite: bool) -> None:
    """Refuse ``out`` early when it holds results of another setting: its manifest's
    config differs from ``identity`` in a key of ``identity`` (values compared as JSON).
    The run lifecycle checks the whole setting again before it writes anything."""
    from pathlib import Path

    path = Path(out) / "manifest.json"
    if overwrite or not path.is_file():
        return
    try:
        old = json.loads(path.read_text()).get("config", {})
    except (OSError, ValueError, AttributeError, RecursionError):
        raise ConfigError(f"{path}: unreadable manifest; pass --overwrite or choose another "
                          "--out") from None
    new = json.loads(json.dumps(dict(identity), default=str))
    if not isinstance(old, dict) or any(old.get(k) != v for k, v in new.items()):
        raise ConfigError(f"{out}: holds results of another setting; pass --overwrite or "
                          "choose another --out")


# ------------------------------------------------------------------------ seeds
def seed_list(seed: int, n: int) -> list[int]:
    """The training seeds of ``--seeds N``: ``seed, seed + 1, …, seed + N - 1``."""
    check_seed(seed)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"--seeds must be a positive integer, got {n!r}")
    if n > MAX_SEEDS:
        raise ConfigError(f"--seeds must be at most {MAX_SEEDS}, got {n}")
    check_seed(seed + n - 1, f"the last seed of --seeds {n} (seed + {n - 1})")
    return [seed + i for i in range(n)]


@dataclass
class PerSeed(Generic[P]):
    """The results of every training seed of a study (``--seeds N``); the first is the
    one the report shows."""

    seeds: list[P]

    @property
    def first(self) -> P:
        return self.seeds[0]

    @property
    def seed_list(self) -> list[int]:
        return [r.seed for r in self.seeds]


# the seeds' aggregation rule, fixed in code before any run (issue 19): a claim is
# reproduced over several training seeds when a strict majority of the seeds on which it
# was evaluated reproduce it (a tie is not a majority); not evaluated when no seed was
SEED_RULE = "majority"


def seeds_verdict(verdicts: Sequence[bool | None]) -> bool | None:
    """The verdict over seeds from each seed's (True, False, None: not evaluated):
    :data:`SEED_RULE`."""
    evaluated = [v for v in verdicts if v is not None]
    if not evaluated:
        return None
    return sum(v is True for v in evaluated) > len(evaluated) / 2


def combine_seeds(per_seed: Sequence[Sequence], seeds: Sequence[int]):
    """One scorecard from the scorecards of several independently trained seeds. Each
    claim's verdict is the seeds' (:func:`seeds_verdict`: a majority of the evaluated
    seeds); its value, details and figures stay the first seed's (said in ``method``
    and ``details``); its interval, stability and distance to the boundary, which are
    one seed's, give way to each seed's, listed in ``seeds["per_seed"]`` beside that
    seed's verdict and value."""
    if not per_seed:
        return []
    first = list(per_seed[0])
    ids = [c.id for c in first]
    for cards in per_seed[1:]:
        if [c.id for c in cards] != ids:
            raise ConfigError("the seeds' scorecards list different claims")
    out = []
    for i, claim in enumerate(first):
        mine = [cards[i] for cards in per_seed]
        evaluated = [c for c in mine if c.reproduced is not None]
        per = [{"seed": s, "verdict": c.verdict, "value": c.run_value,
                "interval": None if c.interval is None else list(c.interval),
                "stability": c.stability, "point_mass": bool(getattr(c, "point_mass", False)),
                "boundary": getattr(c, "boundary", None)} for s, c in zip(seeds, mine)]
        out.append(replace(
            claim, reproduced=seeds_verdict([c.reproduced for c in mine]), interval=None,
            stability=None, point_mass=False, boundary=None,
            models=f"{len(mine)} trained models (seeds {', '.join(map(str, seeds))})",
            details=f"seed {seeds[0]} (its figures): {claim.details}" if claim.details else "",
            method=(f"verdict: the {SEED_RULE} of the {len(evaluated)} seeds on which it was "
                    f"evaluated (rule fixed in code); this run's value is seed {seeds[0]}'s; "
                    "each seed's value, interval and share of resamples in its per-seed list"
                    + (f"; per seed: {claim.method}" if claim.method else "")),
            seeds={"reproduced": sum(c.reproduced is True for c in mine),
                   "evaluated": len(evaluated), "of": len(mine), "seeds": list(seeds),
                   "rule": SEED_RULE, "verdicts": [c.verdict for c in mine],
                   "values": [c.run_value for c in mine], "per_seed": per}))
    return out


__all__ = ["BACKEND_KEYS", "Backend", "Common", "MAX_SEEDS", "PROFILE_HELP", "PROFILE_NAMES",
           "PerSeed", "Reproduction", "SEED_RULE", "backend_of", "check_seed", "combine_seeds",
           "default_dataset", "get_profile", "guard_output", "out_param", "seed_list",
           "seeds_verdict"]
