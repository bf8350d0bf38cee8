"""The grids of the conditions map: :class:`Profile` and :data:`PROFILES`.

A cell of the map is one value of every axis (:data:`AXES`): the data set, the size of
its training set, the amount of training, Nz, the training seed (these five make a
model), the noise kind and the dynamics mode (these two only change the evaluation).

The amount of training is spelled ``epochs=E`` (E passes over the training set, so a
small set gets few optimiser steps) or ``steps=S`` (at least S optimiser steps of the
batch size, whatever the set's size: ceil(S / ceil(N / batch)) epochs), so that data
size and training length can be told apart. A size is a number of training images (a
seeded random subset, nested: the 1 000 images are among the 3 000) or ``all``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

AXES = ("dataset", "size", "training", "nz", "seed", "noise", "mode")
MODEL_AXES = AXES[:5]
SUBSET_SEED = 2017  # the seed of the nested random training subsets


@dataclass(frozen=True)
class Profile:
    """Every setting of one profile: the grid, the evaluation of each cell, the
    training recipe shared by every model, and the axes of the heat maps."""

    name: str
    # --- the grid
    datasets: tuple
    sizes: tuple  # ints or "all"
    trainings: tuple  # "epochs=E" or "steps=S"
    nz: tuple
    seeds: tuple
    noises: tuple
    modes: tuple
    # --- the evaluation of a cell
    trials: int  # per label, for the dip (C1) and the fates
    steps: int  # T
    p_dip: float  # the noise level of the dip and the fates (paper: 0.2)
    ps: tuple  # the noise levels of the stages (C5)
    trials_stages: int  # per label and noise level (C5 is read per label, issue 19)
    memories: int  # memories at which the Jacobian is measured (attractor share)
    # --- the models (the paper's VAE and schedule)
    hidden: int = 1024
    batch_size: int = 100
    lr: float = 5e-4
    # --- the heat maps: rows x columns, one panel per value of the facet
    rows: str = "training"
    cols: str = "size"
    facet: str = "nz"
    # --- the training axis as snapshots (issue 20; None: every amount of training is a
    #     model of its own, as the conditions map's grids have it): the optimiser steps
    #     at which each model's weights are saved (latentdyn.train.snapshots)
    snapshots: tuple | str | None = None
    constant_lr: bool = False  # True: no learning-rate steps (a time axis without jumps)

    def settings(self) -> dict:
        d = asdict(self)
        if d["snapshots"] is None and not d["constant_lr"]:  # the grids before issue 20
            del d["snapshots"], d["constant_lr"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


_STAGE_PS = (0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
_FIG4_PS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

PROFILES = {
    # 15 models of 200 to 2 010 optimiser steps, 108 cells (90 distinct evaluations);
    # 8.3 min on 2 quiet CPU cores before issue 19 (docs/attractors.md), when the stages
    # took 40 trials per noise level over all labels; now 20 per label and level (1 400
    # per cell instead of 280), estimated at about 13 min (not yet measured)
    "quick": Profile(
        "quick", datasets=("mnist-embedded",), sizes=(1000, 3000, "all"),
        trainings=("epochs=20", "steps=2000"), nz=(5, 14, 100), seeds=(0,),
        noises=("swap", "flip", "gaussian"), modes=("deterministic", "sampling"),
        trials=50, steps=80, p_dip=0.2, ps=_STAGE_PS, trials_stages=20, memories=200),
    # for a GPU or a cluster: every data set present, the paper's trial counts, three
    # training lengths (30 and 100 epochs, and 30 epochs of 60 000 images in steps)
    "full": Profile(
        "full", datasets=("mnist-embedded", "mnist", "fashion-mnist", "digits",
                          "synthetic:k=10,m=1000,side=28,test=100"),
        sizes=(1000, 3000, 10000, "all"), trainings=("epochs=30", "epochs=100", "steps=18000"),
        nz=(5, 14, 100), seeds=(0, 1, 2), noises=("swap", "flip", "gaussian"),
        modes=("deterministic", "sampling"), trials=300, steps=80, p_dip=0.2, ps=_FIG4_PS,
        trials_stages=300, memories=1000),
    # toy size for tests: seconds, not a map
    "smoke": Profile(
        "smoke", datasets=("synthetic:k=4,m=15,side=6,test=5",), sizes=(20, "all"),
        trainings=("epochs=1", "steps=4"), nz=(2, 3), seeds=(0,), noises=("swap", "flip"),
        modes=("deterministic", "sampling"), trials=4, steps=6, p_dip=0.2, ps=(0.0, 0.5, 1.0),
        trials_stages=4, memories=10, hidden=16, batch_size=10),
}
