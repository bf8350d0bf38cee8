"""``latentdyn mi``: the variational lower bound of the mutual information between a
fixed model's latent codes and its decodings, I(c; x̃) ≥ H(c) − E[−log Q(c|x̃)]
(:func:`latentdyn.analysis.mi.estimate_mi`).

One stage (fit Q on the frozen model's decodings, ``--fits`` times); no claims; the
result is a table on the terminal and, with ``--out X.json``, that JSON file with its
manifest ``X.manifest.json`` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentdyn.errors import ConfigError
from latentdyn.studies.common import Common, check_seed
from latentdyn.studies.driver import Study
from latentdyn.studies.lifecycle import files_target
from latentdyn.studies.models import MODEL_HELP, ModelSource
from latentdyn.studies.params import param


@dataclass(frozen=True)
class Params(ModelSource, Common):
    model: Any = param(None, MODEL_HELP, required=True)
    codes: str = param("all", "Codes to evaluate: 'all', or e.g. 'cat,0,1' (Gaussian unit "
                       "indices, ranges 0-3, and 'cat' for the categorical unit).")
    source: str = param("prior", "Draw the codes from the prior (exact entropies) or from "
                        "q(z|x) of data images (aggregate-posterior entropies).",
                        choices=("prior", "posterior"))
    n_fits: int = param(3, "Repeated Q fits (seeds).", flag="--fits")
    steps: int = param(1000, "Adam steps per Q fit.")
    batch_size: int = param(128, "Q's batch size.")
    n_train: int = param(10000, "Decodings Q trains on, per fit.")
    n_test: int = param(2000, "Held-out decodings for the bound.")
    q_arch: str = param("fc", "Q's network (conv needs square images with a side divisible "
                        "by 4).", choices=("fc", "conv"))
    q_hidden: int = param(256, "Q's hidden width.")
    lr: float = param(1e-3, "Q's Adam learning rate.")
    dataset: str | None = param(None, "Images for --source posterior [default: the run's "
                                "data set].")
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    seed: int = param(0, "Fit i uses seed + i.", group=1)
    out: str | None = param(None, "Also write the result as JSON to this file (and its "
                            "manifest beside it, X.manifest.json).", path="file", group=1)
    overwrite: bool = param(False, "Replace a file already at --out.", group=1)
    quiet: bool = param(False, "No progress bar.", group=1)


@dataclass
class Setup:
    params: Params
    model: Any
    model_kind: str
    images: Any  # test images for --source posterior (or a model without a code size)
    device: Any
    settings: dict
    data_record: dict


def _check(p: Params) -> None:
    from latentdyn.checks import check_count

    for name, value in (("--fits", p.n_fits), ("--steps", p.steps), ("--batch-size", p.batch_size),
                        ("--n-train", p.n_train), ("--n-test", p.n_test),
                        ("--q-hidden", p.q_hidden)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value}")
        check_count(name, value)
    check_count("--q-hidden", p.q_hidden, high=1 << 16)
    check_seed(p.seed, "--seed")
    if not p.lr > 0:
        raise ConfigError(f"--lr must be positive, got {p.lr}")


def prepare(p: Params) -> Setup:
    """Every option, then the model and (when needed) the images; nothing is written."""
    from latentdyn.checks import check_memory, resolve_device
    from latentdyn.studies.models import check_given_data, given_model, input_dim

    _check(p)
    dev = resolve_device(p.device)
    given = given_model(p.model, dev, source=p)
    model, config = given.model, given.config
    images, record, dataset = None, {}, None
    if p.source == "posterior" or not any(
            isinstance(getattr(model, a, None), int) for a in ("n_gauss", "nz")):
        from latentdyn.data import load_dataset

        dataset = p.dataset or getattr(config, "dataset", None) or "mnist-embedded"
        ds = load_dataset(dataset, p.data_dir or getattr(config, "data_dir", None))
        ds.require_dim(input_dim(model), f"the model of {given.path}")
        check_given_data(given, ds)
        images, record = ds.test_images, {"dataset": ds.name, "checksums": ds.checksums()}
    # the decodings Q learns from, held in memory: (n_train + n_test) images per fit
    check_memory(4 * (p.n_train + p.n_test) * (2 * (input_dim(model) or 1) + 64),
                 "the decoded pairs")
    kind = getattr(config, "model", type(model).__name__)
    settings = {"model": given.path, "model_kind": kind, "codes": p.codes, "source": p.source,
                "fits": p.n_fits, "steps": p.steps, "batch_size": p.batch_size,
                "n_train": p.n_train, "n_test": p.n_test, "q_arch": p.q_arch,
                "q_hidden": p.q_hidden, "lr": p.lr, "seed": p.seed, "dataset": dataset}
    return Setup(p, model, kind, images, dev, settings, record)


def stages(run, s: Setup):
    """One stage: Q fitted ``--fits`` times on the frozen model's decodings."""
    from latentdyn.analysis.mi import estimate_mi

    p = s.params
    with run.stage("mi"):
        return estimate_mi(s.model, s.images, p.codes, source=p.source, n_fits=p.n_fits,
                           steps=p.steps, batch_size=p.batch_size, n_train=p.n_train,
                           n_test=p.n_test, q_arch=p.q_arch, q_hidden=p.q_hidden, lr=p.lr,
                           seed=p.seed, device=s.device, progress=run.progress)


def report(run, s: Setup, result, claims) -> None:
    """``--out``: the result as JSON (with the command line and versions)."""
    from latentdyn.manifest import invocation
    from latentdyn.io import write_json
    from latentdyn.manifest import versions

    if run.out is None:
        return
    write_json(run.out / Path(s.params.out).name,
               {"run": s.settings["model"], "model": s.model_kind, "command": invocation(),
                "versions": versions(), **result.to_dict()})
    run.record(results=result.to_dict())


def summary(s: Setup, result, claims, target) -> str:
    lines = [f"MI lower bound of {s.settings['model']} (model {s.model_kind})", result.table()]
    if target is not None:
        lines.append(f"written to {target.folder / target.files[0]}")
    return "\n".join(lines)


def target(p: Params, s: Setup):
    """``--out X.json`` and ``X.manifest.json`` beside it; without ``--out``, nothing."""
    if p.out is None:
        return None
    out = Path(p.out)
    if out.suffix == ".json" and out.stem.endswith(".manifest"):
        raise ConfigError(f"--out {out}: that name is kept for the manifest; choose another")
    manifest = out.with_name(out.stem + ".manifest.json")
    return files_target(out, manifest, manifest=manifest)


STUDY = Study(
    example=("--model", "@vae", "--fits", "1", "--steps", "3", "--n-train", "20", "--n-test",
             "10", "--q-hidden", "4", "--out", "mi.json", "--quiet", "--device", "cpu"),
    name="mi", params=Params, prepare=prepare, stages=stages, report=report,
    summary=summary, target=target, kind="mi", positional=("model", "out"),
    help="""Estimate I(c; x̃) ≥ H(c) − E[−log Q(c|x̃)] for codes of a FIXED model.

    The model is frozen; a fresh Q is trained on its decodings and the bound is H(c)
    minus Q's cross-entropy on held-out decodings, per code, mean ± sd over --fits
    fits. Prints a table (nats); --out writes JSON (and its manifest beside it).""")
run = STUDY.run

__all__ = ["Params", "STUDY", "run"]
