"""The grids of ``latentdyn transition``: a :class:`Profile` is a conditions-map profile
(:class:`latentdyn.studies.conditions.Profile`: the same engine, grid and sweeps) whose
training axis is snapshots of one run per (data set, size, Nz, seed): each model is
trained for ``steps=S`` optimiser steps at a constant learning rate, its weights saved
at the steps 2^k from :data:`FIRST` to S. Sizes are nested subsets; the twin of a model
of size n is trained on the next n images of the same permutation (disjoint).
"""

from __future__ import annotations

from dataclasses import dataclass

from latentdyn.studies.conditions.profiles import Profile as MapProfile

FIRST = 16  # the first snapshot step


def log_steps(last: int, first: int = FIRST) -> tuple:
    """first, 2 first, 4 first, ... up to ``last`` (a power of two times ``first``)."""
    steps, s = [], first
    while s <= last:
        steps.append(s)
        s *= 2
    return tuple(steps)


@dataclass(frozen=True)
class Profile(MapProfile):
    """A conditions-map profile with the transition's own settings."""

    max_steps: int = 1024  # S, the optimiser steps of every model
    elbo_images: int = 1000  # train and test images of the ELBO at each snapshot
    twins: bool = True  # train each model's twin and run the twin test


def _profile(name, max_steps, **kw) -> Profile:
    return Profile(name, trainings=(f"steps={max_steps}",), snapshots=log_steps(max_steps),
                   constant_lr=True, max_steps=max_steps, modes=("deterministic",),
                   ps=(0.0,), trials_stages=2, **kw)


PROFILES = {
    # 2 CPU cores (grid stated in the report): the paper's VAE made narrow (256 hidden
    # units, Nz 14). Measured 2026-12-07 (docs/transition.md): about 18 min of CPU for the
    # four models and their 48 snapshot cells; tau_mem inside the grid at 100, 200 and
    # 400 images, tau_concept at all four with 100 trials (at one with 50). No twins
    # (they would double the training past the budget: --twins)
    "quick": _profile("quick", 32768, datasets=("mnist-embedded",), sizes=(100, 200, 400, 800),
                      nz=(14,), seeds=(0,), noises=("swap",), trials=100, steps=40,
                      p_dip=0.2, memories=50, hidden=256, batch_size=100, elbo_images=1000,
                      twins=False),
    # a GPU or a Ray cluster: both data sets, sizes to 60 000, Nz 14 and 100, 3 seeds
    "full": _profile("full", 131072, datasets=("mnist-embedded", "fashion-mnist"),
                     sizes=(1000, 2500, 5000, 10000, 30000, 60000), nz=(14, 100),
                     seeds=(0, 1, 2), noises=("swap",), trials=50, steps=80, p_dip=0.2,
                     memories=200, hidden=1024, batch_size=100, elbo_images=2000),
    # toy size for tests: seconds
    "smoke": _profile("smoke", 64, datasets=("synthetic:k=4,m=40,side=6,test=10",),
                      sizes=(20, 40, 80), nz=(2,), seeds=(0,), noises=("swap",), trials=4,
                      steps=6, p_dip=0.2, memories=5, hidden=16, batch_size=10,
                      elbo_images=50),
}
