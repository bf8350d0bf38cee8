"""Stage 1 of serdega2020, per λ and training seed: train the VMI VAE (λ = 0 is a
plain VAE with the same latent), then measure on the frozen model the MI lower bound
of every latent code with a fresh auxiliary network Q per fit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentdyn.studies.serdega2020.profiles import S3_PERMUTATIONS, Profile, lam_label, lam_tag


@dataclass
class ModelResult:
    """One trained model (family, λ, seed): its run, test ELBO (nats per image),
    unsupervised categorical accuracy, and the MI bound of every code."""

    family: str
    lam: float
    seed: int
    run: Path
    config: Any
    test_elbo: float
    cat_acc: float | None
    mi: Any  # latentdyn.analysis.mi.MIResult
    metrics: list[dict] = field(default_factory=list)
    code_acc: Any = None  # latentdyn.analysis.mi.CodeAccuracy of the categorical code, or None


def train_config(profile: Profile, data, family: str, lam: float, seed: int, device):
    """The :class:`~latentdyn.train.TrainConfig` of one model."""
    from latentdyn.train import TrainConfig

    joint = family == "joint"
    n_train = len(data.train_labels)
    steps = profile.epochs * max(1, math.ceil(n_train / profile.batch_size))
    options = {
        "n_cat": profile.n_cat if joint else 0,
        "arch": profile.arch,
        "channels": profile.channels,
        "likelihood": "bernoulli",
        "kl_weight": profile.kl_weight,
        "lam": float(lam),
        "codes": profile.codes_joint if joint else profile.codes_gauss,
        "q_source": profile.q_source,
        "q_hidden": profile.q_hidden,
        "temp_start": profile.temp_start,
        "temp_min": profile.temp_min,
        "temp_steps": max(1, round(profile.temp_fraction * steps)),
    }
    return TrainConfig(
        model="vmi", dataset=data.name,
        nz=profile.n_gauss_joint if joint else profile.n_gauss_gauss,
        hidden=profile.hidden, activation=profile.activation, n_samples=1,
        model_options=options, epochs=profile.epochs, batch_size=profile.batch_size,
        lr=profile.lr, lr_factors=[1.0], lr_milestones=[], seed=seed, device=str(device),
        eval_every=profile.epochs,
    ).validate()


def train_model(profile: Profile, data, family: str, lam: float, seed: int, runs_dir: Path,
                device, progress: bool):
    """Train (or reuse, or resume) one model in ``runs_dir``; ``(model, config, run folder, metric
    rows)``."""
    from latentdyn.train import ensure_trained
    from latentdyn.train.runs import load_run, read_metrics

    config = train_config(profile, data, family, lam, seed, device)
    run_dir = runs_dir / f"{family}-{lam_tag(lam)}-seed{seed}"
    ensure_trained(config, run_dir, progress=progress, dataset=data,
                   argv=["latentdyn", "reproduce", "serdega2020", f"--profile={profile.name}"])
    model, config = load_run(run_dir, device=device)
    return model, config, run_dir, read_metrics(run_dir)


def evaluate_mi(model, profile: Profile, seed: int, device, progress: bool):
    """The MI lower bound H(c) − CE of every code, codes drawn from the prior."""
    from latentdyn.analysis.mi import estimate_mi

    return estimate_mi(model, None, "all", source="prior", n_fits=profile.mi_fits,
                       steps=profile.mi_steps, batch_size=profile.mi_batch,
                       n_train=profile.mi_train, n_test=profile.mi_test, q_arch="fc",
                       q_hidden=profile.mi_hidden, lr=1e-3, seed=1000 + 100 * seed,
                       device=device, progress=progress)


def categorical_codes(model, images, device, chunk: int = 2000):
    """The most likely category of every image (CPU int64)."""
    import torch

    with torch.no_grad():
        return torch.cat([model.categorical_code(images[i:i + chunk].to(device)).cpu()
                          for i in range(0, images.shape[0], chunk)])


def evaluate_codes(model, data, seed: int, device):
    """S3's statistic: the categorical code as a classifier, its mapping fitted on the
    training images and scored on the test images, with the accuracy of shuffled codes
    (None for a model without a categorical code)."""
    from latentdyn.analysis.mi import code_accuracy

    if not getattr(model, "n_cat", 0):
        return None
    return code_accuracy(categorical_codes(model, data.train_images, device), data.train_labels,
                         categorical_codes(model, data.test_images, device), data.test_labels,
                         model.n_cat, n_permutations=S3_PERMUTATIONS, seed=5000 + seed)


def train_and_measure(run, profile: Profile, data, family: str, lam: float, seeds, *,
                      runs_dir: Path, tag: str, device):
    """Train and measure the models of one λ, one per seed (stages ``train`` and
    ``mi``); ``(results, the model of the first seed)``."""
    results: list[ModelResult] = []
    first = None
    for seed in seeds:
        with run.stage(f"train {tag} {lam_tag(lam)} seed{seed}",
                       f"[{tag}] training {family} {lam_label(lam)} seed {seed}"):
            model, config, run_dir, rows = train_model(profile, data, family, lam, seed,
                                                       runs_dir, device, run.progress)
        final = rows[-1] if rows else {}
        with run.stage(f"mi {tag} {lam_tag(lam)} seed{seed}",
                       f"[{tag}] MI of {family} {lam_label(lam)} seed {seed}"):
            mi = evaluate_mi(model, profile, seed, device, run.progress)
            code_acc = evaluate_codes(model, data, seed, device)
        acc = final.get("test_cat_acc")
        results.append(ModelResult(
            family=family, lam=lam, seed=seed, run=run_dir, config=config,
            test_elbo=float(final.get("test_elbo", "nan")),
            cat_acc=float(acc) if acc not in (None, "") else None, mi=mi, metrics=rows,
            code_acc=code_acc))
        if seed == seeds[0]:
            first = model
    return results, first
