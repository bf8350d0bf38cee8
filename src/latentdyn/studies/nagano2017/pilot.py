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

The pilot is a study in the one shape (:data:`PILOT`, options :class:`PilotParams`).
Its VAE is an ordinary ``vae`` run trained by :func:`latentdyn.train.train` (the same
initial weights, data order and updates as any other), one epoch per call
(``stop_after_epoch``: a run stopped after an epoch and resumed is the run never
stopped); after each epoch the active units of its weights are measured. The run lives
in ``OUT/vae`` with the units measured so far, so a stopped pilot resumes where it
stopped; the per-epoch table and the decision are written to ``OUT/pilot.json`` and
printed.

Run: ``python -m latentdyn.studies.nagano2017.pilot --out /tmp/pilot`` (``--epochs``
and ``--dataset`` for tests), or from Python
``latentdyn.studies.nagano2017.pilot.run_pilot("/tmp/pilot")``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from latentdyn.errors import ConfigError
from latentdyn.studies.common import Common, check_seed
from latentdyn.studies.driver import Study
from latentdyn.studies.params import param

PILOT_EPOCHS = 200
WINDOW = 10  # epochs
ELBO_TOLERANCE = 0.5  # nats per image, max - min of the test ELBO over the window
UNITS_TOLERANCE = 2  # active units, max - min over the window
FIRST_PHASE = 0.5  # the first learning-rate milestone of the default schedule
ROUND_TO = 10
PILOT_NZ = 100
UNITS_FILE = "active_units.json"  # in the run folder: the units after each epoch so far


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


# ------------------------------------------------------------------------ the study
@dataclass(frozen=True)
class PilotParams(Common):
    """The pilot's options."""

    out: str | None = param(None, "Output folder: the VAE run in vae/ (resumed when "
                            "stopped), the table and the decision in pilot.json.",
                            path="dir", required=True, group=1)
    epochs: int = param(PILOT_EPOCHS, "Most epochs at the first learning rate.")
    dataset: str = param("mnist-embedded", "Data set.")
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    device: str = param("cpu", "cpu, cuda, cuda:N, or auto.", group=1)


@dataclass
class PilotSetup:
    params: PilotParams
    config: Any  # the TrainConfig of the pilot's VAE
    data: Any
    device: Any
    settings: dict
    data_record: dict


@dataclass
class PilotResult:
    """The per-epoch rows (epoch, test ELBO, active units, seconds) and the decision."""

    rows: list
    converged_epoch: int | None
    quick_epochs: int | None
    criterion: dict

    def to_dict(self) -> dict:
        return {"criterion": self.criterion, "converged_epoch": self.converged_epoch,
                "quick_epochs": self.quick_epochs, "rows": self.rows,
                "seconds_per_epoch": sum(r["seconds"] for r in self.rows)
                / max(1, len(self.rows))}


def prepare(p: PilotParams) -> PilotSetup:
    """The pilot's VAE config (the quick profile's Nz = 100 VAE, its learning rate held
    at the first phase's) and the data; nothing is written."""
    from latentdyn.checks import resolve_device
    from latentdyn.data import load_dataset
    from latentdyn.train import TrainConfig

    if p.out is None:
        raise ConfigError("--out is required")
    check_seed(p.seed, "--seed")
    dev = resolve_device(p.device)
    config = TrainConfig(dataset=p.dataset, data_dir=p.data_dir, nz=PILOT_NZ, epochs=p.epochs,
                         seed=p.seed, device=str(dev), lr_factors=[1.0, 1.0, 1.0])
    config.validate()
    if config.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {config.epochs}")
    data = load_dataset(p.dataset, p.data_dir)
    settings = {"dataset": p.dataset, "epochs": p.epochs, "seed": p.seed, "nz": PILOT_NZ,
                "lr": config.lr, "window": WINDOW, "elbo_tolerance": ELBO_TOLERANCE,
                "units_tolerance": UNITS_TOLERANCE, "device": str(dev)}
    return PilotSetup(p, config, data, dev, settings,
                      {"dataset": data.name, "checksums": data.checksums()})


def _units_so_far(folder: Path, config) -> list[int]:
    """The active units measured after each epoch of the run of ``config`` in
    ``folder`` ([] when there is none, or another run)."""
    try:
        saved = json.loads((folder / UNITS_FILE).read_text())
        same = saved["config"] == json.loads(json.dumps(config.to_dict()))
        units = [int(u) for u in saved["active_units"]] if same else []
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return units if (folder / "checkpoint.safetensors").is_file() else []


def train_measured(config, folder: Path, data, device, progress: bool) -> list[dict]:
    """Train ``config`` into ``folder`` one epoch per call of the ordinary trainer,
    measuring the active units of the weights after each epoch; a pilot stopped earlier
    goes on from its last measured epoch. Returns the rows of every epoch."""
    from tqdm.auto import tqdm

    from latentdyn.analysis import active_units
    from latentdyn.io import write_json
    from latentdyn.models.inference import encode_all
    from latentdyn.train import train
    from latentdyn.train.runs import load_run, read_metrics

    units = _units_so_far(folder, config)
    with tqdm(total=config.epochs, initial=len(units), unit="epoch", desc="pilot",
              disable=not progress) as bar:
        for epoch in range(len(units) + 1, config.epochs + 1):
            train(config, folder, resume=epoch > 1, overwrite=epoch == 1, progress=False,
                  dataset=data, stop_after_epoch=epoch)
            model = load_run(folder, device=device).model
            units.append(active_units(encode_all(model, data.train_images))[1])
            write_json(folder / UNITS_FILE, {"config": config.to_dict(), "active_units": units})
            bar.update()
            bar.set_postfix(active_units=units[-1])
    return [{"epoch": int(r["epoch"]), "test_elbo": float(r["test_elbo"]), "active_units": u,
             "seconds": float(r["seconds"])} for r, u in zip(read_metrics(folder), units)]


def stages(run, s: PilotSetup) -> PilotResult:
    """One stage: the pilot's VAE, epoch by epoch, and the decision."""
    with run.stage("pilot", f"pilot: up to {s.config.epochs} epochs at lr {s.config.lr:g}"):
        rows = train_measured(s.config, run.folder / "vae", s.data, s.device, run.progress)
    e1 = convergence_epoch(rows)
    criterion = {"window": WINDOW, "elbo_tolerance": ELBO_TOLERANCE,
                 "units_tolerance": UNITS_TOLERANCE, "pilot_epochs": s.config.epochs,
                 "lr": s.config.lr}
    run.record(converged_epoch=e1, quick_epochs=quick_epochs(e1))
    return PilotResult(rows, e1, quick_epochs(e1), criterion)


def report(run, s: PilotSetup, result: PilotResult, claims) -> None:
    """``pilot.json``: the criterion, the per-epoch rows and the decision."""
    from latentdyn.io import write_json

    write_json(run.out / "pilot.json", result.to_dict())


def summary(s: PilotSetup, result: PilotResult, claims, target) -> str:
    """The per-epoch table, then the decision as one line of JSON."""
    lines = [f"epoch {r['epoch']:4d}  test ELBO {r['test_elbo']:9.3f}  active units "
             f"{r['active_units']:3d}  {r['seconds']:.1f} s" for r in result.rows]
    decision = {k: v for k, v in result.to_dict().items() if k != "rows"}
    return "\n".join([*lines, json.dumps(decision)])


PILOT = Study(
    name="nagano2017 pilot", params=PilotParams, prepare=prepare, stages=stages,
    report=report, summary=summary, kind="nagano2017 pilot", positional=("out",),
    help="""The pilot that set the quick profile's training length of reproduce
    nagano2017: the Nz = 100 VAE at the first learning rate, the test ELBO and the
    active units after every epoch, and the first epoch at which both have settled.""")
run_pilot = PILOT.run


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m latentdyn.studies.nagano2017.pilot``: the pilot's command (its
    options from :class:`PilotParams`); bad input is one ``error:`` line, status 2."""
    import click

    from latentdyn.errors import LatentdynError

    try:
        PILOT.command().main(argv, prog_name="python -m latentdyn.studies.nagano2017.pilot")
    except LatentdynError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
