"""The pilot that fixes the quick profile's training length (issue 11, deliverable 5).

The criterion was written here before any pilot ran and before any claim of a longer
run was looked at; it reads only the per-epoch test ELBO and the active-unit count:

* the pilot trains the quick profile's Nz = 100 VAE (same data, seed, batch size, Adam
  and base learning rate 5e-4) with the learning rate held at 5e-4 (the first phase of
  the paper's schedule) for up to :data:`PILOT_EPOCHS` epochs, recording after every
  epoch the test ELBO and the active units (Var over the training set of E_q[z_u|x] >
  0.01, the rule of C2);
* the first phase has *converged* at the first epoch E1 at which, over the last
  :data:`WINDOW` epochs (E1 - WINDOW .. E1), the test ELBO moved by at most
  :data:`ELBO_TOLERANCE` nats (max - min) and the active-unit count by at most
  :data:`UNITS_TOLERANCE` units;
* the quick profile then trains for E = E1 / 0.5 epochs, rounded up to a multiple of
  10, so that the first half of its schedule (at 5e-4, before the steps to 1e-4 at 50 %
  and 5e-5 at 80 %) is exactly the pilot's converged run, epoch for epoch; the steps
  down only refine it. A pilot that never converges within :data:`PILOT_EPOCHS` says so
  (``None``), and the quick profile is then capped by its time budget instead.

Run: ``python -m latentdyn.studies.nagano2017.pilot --out /tmp/pilot`` (prints the
per-epoch table and the decision as JSON; ``--epochs`` and ``--dataset`` for tests).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Sequence

import torch

from latentdyn.models.vae import FAMILY as VAE_FAMILY, VAETask

PILOT_EPOCHS = 200
WINDOW = 10  # epochs
ELBO_TOLERANCE = 0.5  # nats per image, max - min of the test ELBO over the window
UNITS_TOLERANCE = 2  # active units, max - min over the window
FIRST_PHASE = 0.5  # the first learning-rate milestone of the default schedule
ROUND_TO = 10
PILOT_KIND = "vae-pilot"


def convergence_epoch(rows: Sequence[dict], window: int = WINDOW,
                      elbo_tol: float = ELBO_TOLERANCE,
                      units_tol: int = UNITS_TOLERANCE) -> int | None:
    """The first epoch E1 whose last ``window`` epochs (E1 - window .. E1) keep the test
    ELBO within ``elbo_tol`` nats and the active units within ``units_tol``; None when
    no epoch of ``rows`` (dicts with ``epoch``, ``test_elbo``, ``active_units``) does."""
    rows = sorted(rows, key=lambda r: r["epoch"])
    for i in range(window, len(rows)):
        span = rows[i - window:i + 1]
        elbo = [float(r["test_elbo"]) for r in span]
        units = [int(r["active_units"]) for r in span]
        if max(elbo) - min(elbo) <= elbo_tol and max(units) - min(units) <= units_tol:
            return int(rows[i]["epoch"])
    return None


def quick_epochs(e1: int | None) -> int | None:
    """The quick profile's epochs for a first phase converged at ``e1``."""
    if e1 is None:
        return None
    return int(math.ceil(e1 / FIRST_PHASE / ROUND_TO) * ROUND_TO)


class PilotVAETask(VAETask):
    """The VAE task with the active units measured after every epoch (no other change:
    the same initial weights, data order and updates as ``vae``)."""

    _images = None

    def on_epoch_end(self, epoch: int, out) -> dict:
        from latentdyn.analysis import active_units
        from latentdyn.data import load_dataset
        from latentdyn.models.inference import encode_all

        if PilotVAETask._images is None:
            data = load_dataset(self.config.dataset, self.config.data_dir)
            PilotVAETask._images = data.train_images
        memories = encode_all(self.model, PilotVAETask._images)
        self.model.train()
        return {"active_units": active_units(memories)[1]}


# the VAE family with the pilot's task: registered under PILOT_KIND by run_pilot
FAMILY = dataclasses.replace(VAE_FAMILY, kind=PILOT_KIND, task=PilotVAETask)


def run_pilot(out: str | Path, *, epochs: int = PILOT_EPOCHS, dataset: str = "mnist-embedded",
              seed: int = 0, device: str = "cpu", progress: bool = True) -> dict:
    """Train the pilot into ``out`` (resuming one that was stopped) and decide."""
    from latentdyn.models.registry import FAMILIES
    from latentdyn.train import TrainConfig, train
    from latentdyn.train.runs import read_metrics

    FAMILIES.setdefault(PILOT_KIND, f"{__name__}:FAMILY")
    config = TrainConfig(model=PILOT_KIND, dataset=dataset, nz=100, epochs=epochs, seed=seed,
                         device=device, lr_factors=[1.0, 1.0, 1.0])
    resume = (Path(out) / "checkpoint.safetensors").is_file()
    train(config, out, resume=resume, progress=progress)
    rows = [{"epoch": int(r["epoch"]), "test_elbo": float(r["test_elbo"]),
             "active_units": int(float(r["active_units"])), "seconds": float(r["seconds"])}
            for r in read_metrics(out)]
    e1 = convergence_epoch(rows)
    return {"criterion": {"window": WINDOW, "elbo_tolerance": ELBO_TOLERANCE,
                          "units_tolerance": UNITS_TOLERANCE, "pilot_epochs": epochs,
                          "lr": config.lr},
            "converged_epoch": e1, "quick_epochs": quick_epochs(e1), "rows": rows,
            "seconds_per_epoch": sum(r["seconds"] for r in rows) / max(1, len(rows))}


def main(argv=None) -> None:
    import argparse
    import json

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=PILOT_EPOCHS)
    p.add_argument("--dataset", default="mnist-embedded")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    result = run_pilot(a.out, epochs=a.epochs, dataset=a.dataset, seed=a.seed,
                       progress=not a.quiet)
    for r in result["rows"]:
        print(f"epoch {r['epoch']:4d}  test ELBO {r['test_elbo']:9.3f}  active units "
              f"{r['active_units']:3d}  {r['seconds']:.1f} s")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))


if __name__ == "__main__":
    main()
