"""``latentdyn reproduce serdega2020``: variational MI maximisation for VAE codes.

Serdega & Kim (2020) (paper 003; SPEC §2). The same VAE architecture is trained with
λ = 0 (a plain VAE with the same latent) and with λ > 0 (the MI regulariser on the
chosen codes), for each training seed, and then:

* the MI lower bound H(c) − CE of *every* latent code (chosen or not) is measured on the
  frozen models with a fresh auxiliary network Q per fit (:func:`latentdyn.analysis.mi.estimate_mi`,
  codes drawn from the prior, so H(c) is exact), repeated over Q fits;
* the categorical code is scored as an unsupervised classifier on the test set (each
  category mapped to its majority label);
* the test ELBO (nats per image, exact over the categories) is compared;
* latent traversals of the chosen codes are drawn as image grids;
* repeated inference (SPEC §1) runs on both models through their full latent
  (:class:`~latentdyn.models.vmi.JointLatent`): concept attraction of the continuous
  part, and the categorical code's own time course.

Claims (fixed below, before any run) are written to ``claims.json``/``claims.md``; the
figures, their data (CSV), ``summary.csv``, ``manifest.json`` and a self-contained
``report.html`` go to ``--out``. Trained runs are kept in ``<out>/runs`` and reused
when the command is repeated with the same settings.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch

from latentdyn.reproduce import profile_callback
from latentdyn.errors import ConfigError

# --------------------------------------------------------------------------- claims
# The rules of the scorecard, fixed in code before any run (never tuned to outcomes).
MI_GAIN_SDS = 2.0  # S1: every chosen code's bound rises by more than 2 pooled fit-to-fit sd
GAP_GAIN_SDS = 2.0  # S2: the chosen-minus-unchosen gap rises by more than 2 pooled sd
ACC_GAIN = 0.05  # S3: categorical accuracy higher with λ > 0 by more than 5 points

PAPER_TITLE = ("Serdega & Kim (2020): Variational Mutual Information Maximization Framework "
               "for VAE Latent Codes with Continuous and Discrete Priors")


@dataclass(frozen=True)
class Profile:
    """Every setting of a reproduction; ``quick`` and ``tiny`` reduce ``paper``."""

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


PROFILES = {
    "paper": Profile(name="paper", datasets=("mnist", "fashion-mnist"), seeds=(0, 1, 2),
                     families=("joint", "gauss")),
    "quick": Profile(name="quick", datasets=("mnist-embedded",), seeds=(0,),
                     families=("joint", "gauss"),
                     arch="fc", hidden=512, epochs=20, batch_size=100, lr=1e-3, mi_steps=1000,
                     dyn_trials=50),
    # undocumented: seconds on synthetic data, for the tests
    "tiny": Profile(name="tiny", datasets=("synthetic:k=4,m=40,side=8,test=20",), seeds=(0,),
                    families=("joint",), arch="fc", hidden=24, channels=4, n_gauss_joint=3,
                    n_cat=4, codes_joint="0,cat", n_gauss_gauss=3, q_hidden=16, epochs=2,
                    batch_size=20, lr=3e-3, mi_fits=2, mi_steps=20, mi_batch=32, mi_train=200,
                    mi_test=100, mi_hidden=16, dyn_trials=4, dyn_steps=6, trav_rows=2,
                    trav_values=5, fig_dpi=30),
}
PUBLIC_PROFILES = ("quick", "paper")


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose from {', '.join(PUBLIC_PROFILES)}")
    return PROFILES[name]


# --------------------------------------------------------------------------- helpers
def _lam_tag(lam: float) -> str:
    return "lam0" if lam == 0 else f"lam{lam:g}"


def _lam_label(lam: float) -> str:
    return "λ = 0" if lam == 0 else f"λ = {lam:g}"


def _ds_tag(name: str) -> str:
    return name.replace(":", "_").replace(",", "_").replace("=", "").replace("/", "_")


def _default_datasets(profile: Profile, data_dir) -> list[str]:
    """The profile's data sets that are present; MNIST falls back to the embedded subset."""
    if profile.name != "paper":
        return list(profile.datasets)
    from latentdyn.data import list_datasets

    available = {d["name"] for d in list_datasets(data_dir) if d["available"]}
    out = ["mnist" if "mnist" in available else "mnist-embedded"]
    if "fashion-mnist" in available:
        out.append("fashion-mnist")
    return out


def _mean_sd(values) -> tuple[float, float]:
    values = [float(v) for v in values]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _fmt(values, digits: int = 2) -> str:
    """``mean ± sd`` over seeds, or the value alone for one seed."""
    values = [float(v) for v in values]
    m, sd = _mean_sd(values)
    return f"{m:.{digits}f}" if len(values) == 1 else f"{m:.{digits}f} ± {sd:.{digits}f}"


def _pooled(*sds: float) -> float:
    return math.sqrt(sum(s * s for s in sds))


def _csv(path: Path, rows: list[dict]) -> Path:
    from latentdyn.io import write_text

    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    write_text(path, buf.getvalue())
    return path


# --------------------------------------------------------------------------- results
@dataclass
class ModelResult:
    family: str
    lam: float
    seed: int
    run: Path
    config: Any
    test_elbo: float
    cat_acc: float | None
    mi: Any  # MIResult
    metrics: list[dict] = field(default_factory=list)


@dataclass
class DynResult:
    t: np.ndarray
    rel_mean: np.ndarray  # mean over trials of d(t) / d(0)
    rel_sem: np.ndarray
    per_label_mean: dict
    per_label_sem: dict
    dips: dict  # label -> dip statistic
    same_cat: np.ndarray | None  # fraction of trials whose category equals the one at t = 0
    cat_right: np.ndarray | None  # fraction whose category maps to the trial's label
    active_units: int
    offdiag_cos: float


# --------------------------------------------------------------------------- stages
def _train_config(profile: Profile, data, family: str, lam: float, seed: int, device: str):
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


def _train_one(profile, data, family, lam, seed, runs_dir: Path, device, overwrite, progress):
    from latentdyn.train import train
    from latentdyn.train.runs import load_run, read_metrics

    config = _train_config(profile, data, family, lam, seed, device)
    run_dir = runs_dir / f"{family}-{_lam_tag(lam)}-seed{seed}"
    train(config, run_dir, resume=not overwrite, overwrite=overwrite, progress=progress,
          dataset=data, argv=["latentdyn", "reproduce", "serdega2020", f"--profile={profile.name}"])
    model, config = load_run(run_dir, device=device)
    return model, config, run_dir, read_metrics(run_dir)


def _evaluate_mi(model, profile: Profile, seed: int, device, progress):
    from latentdyn.analysis.mi import estimate_mi

    return estimate_mi(model, None, "all", source="prior", n_fits=profile.mi_fits,
                       steps=profile.mi_steps, batch_size=profile.mi_batch,
                       n_train=profile.mi_train, n_test=profile.mi_test, q_arch="fc",
                       q_hidden=profile.mi_hidden, lr=1e-3, seed=1000 + 100 * seed,
                       device=device, progress=progress)


@torch.no_grad()
def _dynamics(model, data, profile: Profile, seed: int, device) -> DynResult:
    from latentdyn.analysis import (active_units, build_hierarchy, cosine_matrix,
                                    dip_statistic_from_trials, distance_to,
                                    mean_abs_offdiagonal, mean_sem)
    from latentdyn.data.corruption import corrupt
    from latentdyn.dynamics import run_dynamics
    from latentdyn.analysis.mi import majority_mapping
    from latentdyn.models.joint import JointLatent

    hier = build_hierarchy(model, data.train_images, data.train_labels, device=device)
    labels = data.test_labels
    picks = [torch.nonzero(labels == int(k))[:profile.dyn_trials, 0] for k in hier.classes]
    idx = torch.cat(picks)
    trial_labels = labels[idx]
    gen = torch.Generator().manual_seed(2020 + seed)
    x0 = corrupt(data.test_images[idx], kind=profile.dyn_noise, p=profile.dyn_p, generator=gen)
    view = JointLatent(model)
    traj = run_dynamics(view, x0, steps=profile.dyn_steps, mode="deterministic", device=device)
    zg, cat = view.split(traj.z)
    d = distance_to(zg, hier.concepts_for(trial_labels)).double()  # (n, T+1)
    rel = d / d[:, :1].clamp_min(1e-12)
    rel_mean, rel_sem = mean_sem(rel)
    per_mean, per_sem, dips = {}, {}, {}
    for k in hier.classes.tolist():
        dk = d[trial_labels == k]
        if dk.shape[0] < 2:
            continue
        m, s = mean_sem(dk)
        per_mean[k], per_sem[k] = m.numpy(), s.numpy()
        dips[k] = dip_statistic_from_trials(dk)
    same_cat = cat_right = None
    if cat is not None:
        same_cat = (cat == cat[:, :1]).double().mean(0).numpy()
        train_codes = torch.cat([
            model.categorical_code(data.train_images[i:i + 2000].to(device)).cpu()
            for i in range(0, len(data.train_labels), 2000)])
        mapping = torch.tensor(majority_mapping(train_codes, data.train_labels, model.n_cat))
        cat_right = (mapping[cat] == trial_labels[:, None]).double().mean(0).numpy()
    return DynResult(
        t=np.arange(profile.dyn_steps + 1), rel_mean=rel_mean.numpy(), rel_sem=rel_sem.numpy(),
        per_label_mean=per_mean, per_label_sem=per_sem, dips=dips, same_cat=same_cat,
        cat_right=cat_right, active_units=active_units(hier.memories)[1],
        offdiag_cos=float(mean_abs_offdiagonal(cosine_matrix(hier.concepts))),
    )


@torch.no_grad()
def _traversals(model, data, profile: Profile, seed: int, device):
    """Image grids: (categorical) rows = prior Gaussian codes, columns = categories;
    (Gaussian unit u) rows = test images' codes, columns = values of unit u."""
    h, w = data.image_shape[-2:]
    gen = torch.Generator(device).manual_seed(3000 + seed)
    grids = {}
    if model.n_cat and model.code_cat:
        zg = torch.randn((profile.trav_rows, model.n_gauss), generator=gen, device=device)
        K = model.n_cat
        eye = torch.eye(K, device=device)
        z = torch.cat([zg[:, None, :].expand(-1, K, -1), eye.expand(profile.trav_rows, K, K)], -1)
        imgs = model.decode(z.reshape(-1, z.shape[-1])).reshape(profile.trav_rows, K, h, w)
        grids["cat"] = (imgs.cpu().numpy(), [f"z_g #{i + 1}" for i in range(profile.trav_rows)],
                        [str(k) for k in range(K)])
    x = data.test_images[:profile.trav_rows].to(device)
    mu, _, logits = model.encode_joint(x)
    values = torch.linspace(-profile.trav_range, profile.trav_range, profile.trav_values,
                            device=device)
    for u in model.code_units:
        z = mu[:, None, :].repeat(1, len(values), 1)
        z[:, :, u] = values
        if logits is not None:
            onehot = torch.nn.functional.one_hot(logits.argmax(-1), model.n_cat).float()
            z = torch.cat([z, onehot[:, None, :].expand(-1, len(values), -1)], -1)
        imgs = model.decode(z.reshape(-1, z.shape[-1]))
        imgs = imgs.reshape(profile.trav_rows, len(values), h, w)
        grids[f"z{u}"] = (imgs.cpu().numpy(),
                          [f"test image {i + 1}" for i in range(profile.trav_rows)],
                          [f"{v:+.1f}" for v in values.tolist()])
    return grids


# --------------------------------------------------------------------------- figures
def _mi_bar_figure(codes: list[str], chosen: set[str], stats: dict, caption: str):
    """Grouped bars: the MI bound of each code, one bar per λ, error bars = sd."""
    from latentdyn.figures._style import (FONT_SMALL, add_caption, attach_data, curve_colour,
                                          finish_axes, new_figure)

    lams = list(stats)
    fig = new_figure(min(7.5, 1.6 + 0.38 * len(codes) * max(1, len(lams)) / 1.6), 3.0)
    ax = fig.add_subplot()
    x = np.arange(len(codes))
    width = 0.8 / max(1, len(lams))
    columns: dict[str, Any] = {"code": np.array(codes),
                               "chosen": np.array([c in chosen for c in codes])}
    for i, lam in enumerate(lams):
        m = np.array([stats[lam][c][0] for c in codes])
        s = np.array([stats[lam][c][1] for c in codes])
        ax.bar(x + (i - (len(lams) - 1) / 2) * width, m, width, yerr=s, capsize=2,
               color=curve_colour(i), label=_lam_label(lam), error_kw={"elinewidth": 0.8})
        columns[f"bound_{_lam_tag(lam)}"] = m
        columns[f"sd_{_lam_tag(lam)}"] = s
    ax.axhline(0, color="#555555", lw=0.6)
    ax.set_xticks(x, [c + ("*" if c in chosen else "") for c in codes], fontsize=FONT_SMALL,
                  rotation=90 if len(codes) > 12 else 0)
    ax.set_xlabel("latent code (* = chosen for the MI term)")
    ax.set_ylabel("MI lower bound H(c) − CE (nats)")
    ax.legend(frameon=False)
    finish_axes(ax, grid=True)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def _save(fig, out: Path, stem: str, dpi: int = 150):
    from latentdyn.figures import save_figure

    return save_figure(fig, out / "figures", stem, data_dir=out / "data", dpi=dpi)


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v):
        if isinstance(v, float):
            return html.escape(f"{v:.4g}")
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f'<table class="settings"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# --------------------------------------------------------------------------- one study
def _study(profile: Profile, data, family: str, lams: list[float], seeds: list[int], out: Path,
           device, overwrite: bool, progress: bool, tag: str, timings: dict, log):
    from latentdyn.reporting.claims import Claim
    from latentdyn.figures import curves, fig2_distance_curves, image_grid
    from latentdyn.reporting.report import Section

    runs_dir = out / "runs" / _ds_tag(data.name)
    results: dict[float, list[ModelResult]] = {lam: [] for lam in lams}
    dyn: dict[float, DynResult] = {}
    grids: dict[float, dict] = {}
    models0 = {}
    for lam in lams:
        for seed in seeds:
            t0 = time.perf_counter()
            log(f"[{tag}] training {family} {_lam_label(lam)} seed {seed}")
            model, config, run_dir, rows = _train_one(profile, data, family, lam, seed, runs_dir,
                                                      device, overwrite, progress)
            timings[f"train {tag} {_lam_tag(lam)} seed{seed}"] = round(time.perf_counter() - t0, 1)
            final = rows[-1] if rows else {}
            t0 = time.perf_counter()
            log(f"[{tag}] MI of {family} {_lam_label(lam)} seed {seed}")
            mi = _evaluate_mi(model, profile, seed, device, progress)
            timings[f"mi {tag} {_lam_tag(lam)} seed{seed}"] = round(time.perf_counter() - t0, 1)
            acc = final.get("test_cat_acc")
            results[lam].append(ModelResult(
                family=family, lam=lam, seed=seed, run=run_dir, config=config,
                test_elbo=float(final.get("test_elbo", "nan")),
                cat_acc=float(acc) if acc not in (None, "") else None, mi=mi, metrics=rows))
            if seed == seeds[0]:
                models0[lam] = model
        t0 = time.perf_counter()
        log(f"[{tag}] repeated inference and traversals, {_lam_label(lam)}")
        dyn[lam] = _dynamics(models0[lam], data, profile, seeds[0], device)
        grids[lam] = _traversals(models0[lam], data, profile, seeds[0], device)
        timings[f"dynamics {tag} {_lam_tag(lam)}"] = round(time.perf_counter() - t0, 1)

    lam0, lam1 = lams
    any_model = models0[lam1]
    chosen = set(any_model.chosen_codes)
    codes = results[lam1][0].mi.names()
    gauss_codes = [c for c in codes if c != "cat"]
    chosen_g = [c for c in gauss_codes if c in chosen]
    unchosen_g = [c for c in gauss_codes if c not in chosen]

    # pooled over seeds and Q fits
    def bounds(lam, code):
        return [b for r in results[lam] for b in r.mi[code].bounds]

    def gaps(lam):  # per fit: mean chosen-Gaussian bound − mean unchosen-Gaussian bound
        out_ = []
        for r in results[lam]:
            for f in range(len(r.mi[codes[0]].ce)):
                c = statistics.fmean(r.mi[x].bounds[f] for x in chosen_g)
                u = statistics.fmean(r.mi[x].bounds[f] for x in unchosen_g)
                out_.append(c - u)
        return out_

    stats = {lam: {c: _mean_sd(bounds(lam, c)) for c in codes} for lam in lams}
    settings_note = (f"{data.name}, {family} model, {len(seeds)} training seed(s) × "
                     f"{profile.mi_fits} Q fits; prior codes; error bars: sd over fits and seeds")

    # ---- data files
    mi_rows = []
    for lam in lams:
        for r in results[lam]:
            for c in r.mi.codes:
                for f, b in enumerate(c.bounds):
                    mi_rows.append({"dataset": data.name, "family": family, "lam": lam,
                                    "seed": r.seed, "fit": f, "code": c.code,
                                    "chosen": c.code in chosen, "entropy": c.entropy,
                                    "ce": c.ce[f], "bound": b})
    _csv(out / "data" / f"mi_codes_{tag}.csv", mi_rows)
    summary_rows = []
    for lam in lams:
        for r in results[lam]:
            row = {"dataset": data.name, "family": family, "lam": lam, "seed": r.seed,
                   "test_elbo": r.test_elbo, "cat_acc": r.cat_acc if r.cat_acc is not None else ""}
            for c in codes:
                row[f"mi_{c}"] = r.mi[c].mean
            if r.seed == seeds[0]:
                dr = dyn[lam]
                row.update(active_units=dr.active_units, offdiag_cos=dr.offdiag_cos,
                           dips=sum(bool(v["has_dip"]) for v in dr.dips.values()),
                           labels=len(dr.dips))
            summary_rows.append(row)

    sections = []
    # ---- MI per code
    fig = _mi_bar_figure(codes, chosen, stats, f"MI lower bound per code; {settings_note}.")
    saved = _save(fig, out, f"mi_per_code_{tag}", profile.fig_dpi)
    s_lines = []
    for c in codes:
        (m0, s0), (m1, s1) = stats[lam0][c], stats[lam1][c]
        if c in chosen:
            s_lines.append(f"{c}: {m0:.3f} ± {s0:.3f} → {m1:.3f} ± {s1:.3f}")
    un0 = statistics.fmean(stats[lam0][c][0] for c in unchosen_g) if unchosen_g else float("nan")
    un1 = statistics.fmean(stats[lam1][c][0] for c in unchosen_g) if unchosen_g else float("nan")
    sections.append(Section(
        title=f"MI lower bound per latent code ({tag})", figure=saved.png,
        caption=saved.caption,
        paper_found="The regulariser strengthens the relationship between the chosen codes "
                    "and the observations (MI bound higher with the regulariser than without); "
                    "the abstract gives no numbers.",
        run_found=f"Chosen codes, {_lam_label(lam0)} → {_lam_label(lam1)} (nats, mean ± sd): "
                  + "; ".join(s_lines)
                  + (f". Unchosen Gaussian units, mean bound: {un0:.3f} → {un1:.3f}."
                     if unchosen_g else "."),
        data=saved.csv))

    # ---- ELBO, accuracy, dynamics summary table
    rows_html = []
    for lam in lams:
        accs = [r.cat_acc for r in results[lam] if r.cat_acc is not None]
        dr = dyn[lam]
        rows_html.append([_lam_label(lam), _fmt([r.test_elbo for r in results[lam]]),
                          _fmt(accs, 3) if accs else "—",
                          dr.active_units, round(dr.offdiag_cos, 3),
                          f"{sum(bool(v['has_dip']) for v in dr.dips.values())} of {len(dr.dips)}"])
    summary_csv = _csv(out / "data" / f"summary_{tag}.csv", summary_rows)
    el0 = _mean_sd([r.test_elbo for r in results[lam0]])[0]
    el1 = _mean_sd([r.test_elbo for r in results[lam1]])[0]
    sections.append(Section(
        title=f"ELBO, categorical accuracy and latent geometry ({tag})", figure=None,
        caption="Test ELBO in nats per image (summed over pixels; exact expectation over the "
                "categories), unsupervised accuracy of the categorical code on the test set "
                "(each category mapped to its majority test label), active Gaussian units "
                "(variance of E[z|x] > 0.01), mean |cosine| between concepts, and the number "
                "of labels whose distance to their concept dips (C1 rule of nagano2017); "
                "mean ± sd over training seeds where there are several.",
        paper_found="Representations improve with the regulariser (abstract; no numbers).",
        run_found=f"Test ELBO {el0:.2f} ({_lam_label(lam0)}) vs {el1:.2f} ({_lam_label(lam1)}) "
                  "nats per image.",
        extra_html=_html_table(["", "test ELBO", "categorical accuracy", "active units",
                                "mean |cos| of concepts", "labels with a dip"], rows_html),
        data=summary_csv))

    # ---- training curves
    ys, xs = {}, {}
    for lam in lams:
        rows = results[lam][0].metrics
        xs[_lam_label(lam)] = [int(r["epoch"]) for r in rows]
        ys[_lam_label(lam)] = [float(r["train_elbo"]) for r in rows]
    fig = curves(xs, ys, xlabel="epoch", ylabel="training ELBO (nats / image)",
                 caption=f"Training ELBO per epoch (relaxed categories), seed {seeds[0]}; "
                         f"{data.name}, {family} model.", markers=True)
    saved = _save(fig, out, f"train_elbo_{tag}", profile.fig_dpi)
    sections.append(Section(
        title=f"Training curves ({tag})", figure=saved.png, caption=saved.caption,
        paper_found="Not reported.",
        run_found=f"Final training ELBO {ys[_lam_label(lam0)][-1]:.2f} ({_lam_label(lam0)}) vs "
                  f"{ys[_lam_label(lam1)][-1]:.2f} ({_lam_label(lam1)}).",
        data=saved.csv))

    # ---- traversals
    for lam in lams:
        for code, (imgs, rlab, clab) in grids[lam].items():
            what = ("categorical code: each column one category, each row one Gaussian code "
                    "drawn from the prior" if code == "cat" else
                    f"Gaussian unit {code}: each row a test image's code with {code} set to the "
                    "column's value")
            fig = image_grid(imgs, caption=f"Traversal of {code}, {_lam_label(lam)} "
                                           f"(seed {seeds[0]}); {what}.",
                             row_labels=rlab, col_labels=clab)
            saved = _save(fig, out, f"traversal_{code}_{_lam_tag(lam)}_{tag}", profile.fig_dpi)
            sections.append(Section(
                title=f"Latent traversal of {code}, {_lam_label(lam)} ({tag})", figure=saved.png,
                caption=saved.caption,
                paper_found="The authors show traversals of the chosen codes as pictures "
                            "(no statistic).",
                run_found=(f"MI bound of {code}: {stats[lam][code][0]:.3f} ± "
                           f"{stats[lam][code][1]:.3f} nats; mean absolute pixel change between "
                           f"neighbouring columns {float(np.abs(np.diff(imgs, axis=1)).mean()):.4f}."),
                data=None))

    # ---- concept attraction: with vs without the MI term
    t = dyn[lam0].t
    fig = curves(t, {_lam_label(lam): dyn[lam].rel_mean for lam in lams},
                 yerr={_lam_label(lam): dyn[lam].rel_sem for lam in lams},
                 xlabel="inference step t", ylabel="‖z(t) − own concept‖ / ‖z(0) − own concept‖",
                 caption=f"Concept attraction with and without the MI term: distance of the "
                         f"continuous latent to the concept of the trial's label, relative to "
                         f"t = 0, mean ± SEM over {len(dyn[lam0].dips)} labels × up to "
                         f"{profile.dyn_trials} corrupted test images ({profile.dyn_noise}, "
                         f"p = {profile.dyn_p}); deterministic dynamics on the full latent "
                         f"(hard category), seed {seeds[0]}.")
    saved = _save(fig, out, f"concept_attraction_{tag}", profile.fig_dpi)
    mins = {lam: (float(dyn[lam].rel_mean.min()), int(dyn[lam].rel_mean.argmin())) for lam in lams}
    sections.append(Section(
        title=f"Concept attraction with and without the MI term ({tag})", figure=saved.png,
        caption=saved.caption,
        paper_found="Not studied by Serdega & Kim; Nagano et al. (2017) report that trajectories "
                    "dip toward their concept and then leave it.",
        run_found="; ".join(f"{_lam_label(lam)}: minimum relative distance {m:.3f} at t = {ts}, "
                            f"{sum(bool(v['has_dip']) for v in dyn[lam].dips.values())} of "
                            f"{len(dyn[lam].dips)} labels dip" for lam, (m, ts) in mins.items()),
        data=saved.csv))
    fig = fig2_distance_curves(t, {str(k): v for k, v in dyn[lam1].per_label_mean.items()},
                               {str(k): v for k, v in dyn[lam1].per_label_sem.items()},
                               caption=f"Distance to own concept per label, VMI VAE "
                                       f"{_lam_label(lam1)}, seed {seeds[0]} (continuous part).")
    saved = _save(fig, out, f"distance_per_label_{_lam_tag(lam1)}_{tag}", profile.fig_dpi)
    sections.append(Section(
        title=f"Distance to the own concept per label, {_lam_label(lam1)} ({tag})",
        figure=saved.png, caption=saved.caption,
        paper_found="(nagano2017, Fig. 2) a dip for every label.",
        run_found=f"{sum(bool(v['has_dip']) for v in dyn[lam1].dips.values())} of "
                  f"{len(dyn[lam1].dips)} labels dip (2-SEM rule).",
        data=saved.csv))
    if dyn[lam1].same_cat is not None:
        ys, colours = {}, {}
        shades = (("#1b4f8a", "#8fb3de"), ("#c0392b", "#eba59d"))
        for lam, (dark, light) in zip(lams, shades):
            ys[f"{_lam_label(lam)}: category as at t = 0"] = dyn[lam].same_cat
            ys[f"{_lam_label(lam)}: category → true label"] = dyn[lam].cat_right
            colours[f"{_lam_label(lam)}: category as at t = 0"] = dark
            colours[f"{_lam_label(lam)}: category → true label"] = light
        fig = curves(t, ys, xlabel="inference step t", ylabel="fraction of trials",
                     colours=colours,
                     caption="The categorical code's own time course during repeated inference: "
                             "fraction of trials whose most likely category equals the one at "
                             "t = 0, and whose category maps (majority over the training set) "
                             "to the trial's true label.")
        saved = _save(fig, out, f"categorical_timecourse_{tag}", profile.fig_dpi)
        sections.append(Section(
            title=f"The categorical code during repeated inference ({tag})", figure=saved.png,
            caption=saved.caption, paper_found="Not studied by Serdega & Kim.",
            run_found="; ".join(
                f"{_lam_label(lam)}: at t = {int(t[-1])}, {dyn[lam].same_cat[-1]:.2f} keep their "
                f"category, {dyn[lam].cat_right[-1]:.2f} map to their label "
                f"(at t = 0: {dyn[lam].cat_right[0]:.2f})" for lam in lams),
            data=saved.csv))

    # ---- claims
    claims = []
    deltas, sds = {}, {}
    for c in sorted(chosen, key=codes.index):
        (m0, s0), (m1, s1) = stats[lam0][c], stats[lam1][c]
        deltas[c], sds[c] = m1 - m0, _pooled(s0, s1)
    ok1 = all(deltas[c] > MI_GAIN_SDS * sds[c] for c in deltas) if deltas else None
    claims.append(Claim(
        id=f"S1-{tag}", claim="The MI regulariser raises the MI lower bound of the chosen codes.",
        statistic="per chosen code: Δ = mean bound(λ>0) − mean bound(λ=0), nats (Q fits × seeds)",
        paper_value="higher with the regulariser (no number in the abstract)",
        threshold=f"Δ > {MI_GAIN_SDS:g} × pooled fit-to-fit sd, sqrt(sd0² + sd1²), for every "
                  "chosen code",
        run_value={c: round(v, 4) for c, v in deltas.items()}, reproduced=ok1,
        details="pooled sd: " + ", ".join(f"{c} {sds[c]:.4f}" for c in sds)))
    if chosen_g and unchosen_g:
        g0, g1 = _mean_sd(gaps(lam0)), _mean_sd(gaps(lam1))
        gain, sd = g1[0] - g0[0], _pooled(g0[1], g1[1])
        ok2 = bool(g1[0] > 0 and gain > GAP_GAIN_SDS * sd)
        claims.append(Claim(
            id=f"S2-{tag}", claim="The regulariser makes the chosen codes the informative ones.",
            statistic="gap = mean bound of the chosen Gaussian units − mean bound of the unchosen "
                      "ones, per Q fit; its mean at λ>0 and its rise over λ=0",
            paper_value="chosen components become the most informative (no number)",
            threshold=f"gap(λ>0) > 0 and gap(λ>0) − gap(λ=0) > {GAP_GAIN_SDS:g} × pooled sd",
            run_value={"gap λ>0": round(g1[0], 4), "gap λ=0": round(g0[0], 4)},
            reproduced=ok2, details=f"pooled sd of the gaps {sd:.4f}"))
    if family == "joint":
        a0 = _mean_sd([r.cat_acc for r in results[lam0]])
        a1 = _mean_sd([r.cat_acc for r in results[lam1]])
        ok3 = bool(a1[0] - a0[0] > ACC_GAIN)
        claims.append(Claim(
            id=f"S3-{tag}", claim="The regulariser improves the learned representation: the "
                                  "categorical code classifies the test set better.",
            statistic="unsupervised test accuracy of the categorical code (majority label per "
                      "category), mean over seeds",
            paper_value="higher with the regulariser (no number in the abstract)",
            threshold=f"acc(λ>0) − acc(λ=0) > {ACC_GAIN:g}",
            run_value={"λ>0": round(a1[0], 4), "λ=0": round(a0[0], 4)}, reproduced=ok3,
            details=(f"sd over seeds {a1[1]:.4f} (λ>0) / {a0[1]:.4f} (λ=0)" if len(seeds) > 1
                     else "one training seed: no spread over seeds")))
    summary = {"stats": {_lam_tag(lam): {c: list(v) for c, v in s.items()}
                         for lam, s in stats.items()},
               "test_elbo": {_lam_tag(lam): [r.test_elbo for r in results[lam]] for lam in lams},
               "cat_acc": {_lam_tag(lam): [r.cat_acc for r in results[lam]] for lam in lams},
               "runs": {_lam_tag(lam): [str(r.run) for r in results[lam]] for lam in lams}}
    return sections, claims, summary


# --------------------------------------------------------------------------- run
def run(profile: str = "quick", out: str | Path = "results/serdega2020", *,
        datasets: list[str] | None = None, seeds: list[int] | None = None,
        lam: float | None = None, data_dir=None, device: str = "auto", overwrite: bool = False,
        progress: bool = True, argv: list[str] | None = None) -> Path:
    """Run the whole reproduction into ``out`` and return it (see the module doc)."""
    from latentdyn.reporting.claims import format_scorecard, summarise, write_scorecard
    from latentdyn.data import load_dataset
    from latentdyn.reporting.manifest import Manifest, resolve_device
    from latentdyn.reporting.report import write_report

    prof = get_profile(profile)
    if lam is not None:
        if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam > 0):
            raise ConfigError(f"--lam must be a positive number, got {lam!r}")
        prof = replace(prof, lam_joint=float(lam), lam_gauss=float(lam))
    if seeds is not None:
        seeds = [int(s) for s in seeds]
        if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
            raise ConfigError(f"seeds must be distinct non-negative integers, got {seeds}")
        prof = replace(prof, seeds=tuple(seeds))
    names = list(datasets) if datasets else _default_datasets(prof, data_dir)
    dev = resolve_device(device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        if progress:
            click.echo(msg, err=True)

    manifest = Manifest(out / "manifest.json", kind="reproduce serdega2020",
                        config={**prof.settings(), "datasets": names}, seed=prof.seeds[0],
                        device=dev, data={}, argv=argv)
    manifest.write("running")
    sections, claims, summaries, timings = [], [], {}, {}
    try:
        loaded = [load_dataset(n, data_dir) for n in names]
        for data in loaded:
            manifest.data["data"][data.name] = {
                "checksums": data.checksums(), "train": len(data.train_labels),
                "test": len(data.test_labels)}
        for data in loaded:
            for family in prof.families:
                tag = family if len(loaded) == 1 else f"{_ds_tag(data.name)}-{family}"
                lams = [0.0, prof.lam_joint if family == "joint" else prof.lam_gauss]
                s, c, summ = _study(prof, data, family, lams, list(prof.seeds), out, dev,
                                    overwrite, progress, tag, timings, log)
                sections += s
                claims += c
                summaries[tag] = summ
                manifest.update(results=summaries, timings=timings)
                manifest.write()
        write_scorecard(claims, out)
        wall = time.perf_counter() - t_start
        settings = {"profile": prof.name, "datasets": names, "seeds": list(prof.seeds),
                    "λ compared": {f: [0.0, prof.lam_joint if f == "joint" else prof.lam_gauss]
                                   for f in prof.families}, "device": str(dev),
                    "torch threads": torch.get_num_threads(),
                    "wall time (s)": round(wall, 1),
                    "model": {k: v for k, v in prof.settings().items()
                              if k in ("families", "arch", "hidden", "channels", "activation",
                                       "n_gauss_joint", "n_cat", "n_gauss_gauss", "codes_joint",
                                       "codes_gauss", "kl_weight", "q_source", "q_hidden",
                                       "temp_start", "temp_min", "temp_fraction")},
                    "training": {"epochs": prof.epochs, "batch_size": prof.batch_size,
                                 "lr (Adam, constant; Q the same)": prof.lr},
                    "MI evaluation": {"source": "prior", "Q fits per model": prof.mi_fits,
                                      "Q steps": prof.mi_steps, "Q batch": prof.mi_batch,
                                      "Q architecture": f"fc, {prof.mi_hidden} hidden",
                                      "decodings (train / held-out)":
                                          f"{prof.mi_train} / {prof.mi_test}"},
                    "repeated inference": {"trials per label": prof.dyn_trials,
                                           "steps T": prof.dyn_steps,
                                           "corruption": f"{prof.dyn_noise}, p = {prof.dyn_p}"},
                    "timings (s)": timings}
        write_report(out / "report.html", PAPER_TITLE + " — reproduction", _intro(prof),
                     settings, sections, claims, _notes(prof))
        manifest.update(results=summaries, timings=timings, claims=summarise(claims),
                        outputs=["report.html", "claims.json", "claims.md", "figures/", "data/",
                                 "runs/"])
        manifest.write("completed")
    except BaseException:
        manifest.update(timings=timings)
        manifest.write("failed")
        raise
    if progress:
        click.echo(format_scorecard(claims), err=True)
    return out


def _intro(prof: Profile) -> str:
    reduced = ""
    if prof.name != "paper":
        paper = PROFILES["paper"]
        reduced = (f"\n\nThis is the '{prof.name}' profile, reduced from the paper's settings to "
                   f"fit a small CPU budget: data sets {', '.join(prof.datasets)} (paper: MNIST "
                   f"and Fashion-MNIST), {len(prof.seeds)} training seed(s) (paper profile: "
                   f"{len(paper.seeds)}), families {', '.join(prof.families)} (paper profile: "
                   f"{', '.join(paper.families)}), a {prof.arch} network with {prof.hidden} hidden "
                   f"units (paper: conv), {prof.epochs} epochs at lr {prof.lr:g} (paper profile: "
                   f"{paper.epochs} at {paper.lr:g}), {prof.mi_steps} Q steps per MI fit "
                   f"(paper profile: {paper.mi_steps}), {prof.dyn_trials} dynamics trials per "
                   f"label (paper profile: {paper.dyn_trials}).")
    return ("The same VAE architecture is trained with λ = 0 and with λ > 0, where λ weighs the "
            "variational mutual-information term E[−log Q(c | x̃)] of the chosen latent codes c "
            "(SPEC §2). On the frozen models a fresh auxiliary network Q is fitted to decodings "
            "of prior samples and the bound H(c) − CE is reported for every code, chosen or not; "
            "the categorical code is scored as an unsupervised classifier; latent traversals show "
            "what the chosen codes do; and the repeated-inference analyses of Nagano et al. (2017) "
            "run on both models. The claims and their pass rules were fixed in code before any "
            "run." + reduced)


def _notes(prof: Profile) -> list[str]:
    return [
        "The paper is available only as an abstract; the method follows the authors' public "
        "code as summarised in SPEC §2. Where it is silent, the choices are documented in "
        "docs/serdega2020.md and recorded in each run's config.json.",
        "The Gumbel-softmax temperature decays exponentially per training step from "
        f"{prof.temp_start:g} to {prof.temp_min:g} (reached after {prof.temp_fraction:.0%} of "
        "the steps) and then stays there; the authors' schedule, which resets every other step, "
        "is not reproduced.",
        "Losses are in nats per image summed over pixels. λ and the KL weight are therefore on "
        "that scale, not on the authors' (which the abstract does not give); the ELBO reported is "
        "the true ELBO (KL weight 1) whatever the training weight.",
        "MI bounds use codes drawn from the prior: H(c) = ln K for the categorical unit and "
        "½ ln(2πe) ≈ 1.419 nats for a Gaussian unit; Q's Gaussian log-variance is bounded, so a "
        "perfectly decoded Gaussian unit gives a large but finite bound.",
        "The categorical accuracy maps each category to its majority label on the test set "
        "itself (cluster purity).",
        "How λ and q_source were chosen: before the claims were evaluated, short pilot runs "
        "(10 epochs, the quick architecture, mnist-embedded) were judged on the co-trained Q's "
        "test MI and ELBO (accuracy was logged but not used). Categorical unit: λ = 1 (units 0 "
        "and 1 chosen too) left it ignored (bound < 0.01 nats); λ = 10 gave 0.2 nats with reconstructions only as Q's input and 1.2 nats with "
        "decodings of prior samples added; λ = 50 made it fully recoverable (2.30 of ln 10 = "
        "2.30) at about 6 nats of ELBO. Gaussian units 0 and 1: λ = 1 raised their bounds at "
        "about 1 nat of ELBO, λ = 10 cost 35-40 nats. Hence q_source=both, λ = 10 for the "
        "categorical code and λ = 1 for the Gaussian codes.",
    ]


# --------------------------------------------------------------------------- CLI
_profile_option = profile_callback(PROFILES, PUBLIC_PROFILES)


@click.command("serdega2020", context_settings={"show_default": True})
@click.option("--profile", default="quick", callback=_profile_option,
              help="quick (reduced; about 15 minutes on 2 CPU cores) or paper (the paper's "
                   "settings; hours, use a GPU).")
@click.option("--out", default="results/serdega2020", type=click.Path(file_okay=False),
              help="Output folder (runs are kept in OUT/runs and reused).")
@click.option("--dataset", "datasets", multiple=True,
              help="Data set(s) [quick: mnist-embedded; paper: mnist (else mnist-embedded) and "
                   "fashion-mnist when present].")
@click.option("--data-dir", default=None, help="Folder with downloaded data sets.")
@click.option("--seeds", default=None, help="Comma-separated training seeds [profile's].")
@click.option("--lam", type=float, default=None,
              help="λ of the regularised models of every family [profile's].")
@click.option("--device", default="auto", help="cpu, cuda, or auto.")
@click.option("--overwrite", is_flag=True, help="Retrain runs already in OUT/runs.")
@click.option("--quiet", is_flag=True, help="No progress output.")
def command(profile, out, datasets, data_dir, seeds, lam, device, overwrite, quiet) -> None:
    """Serdega & Kim (2020): MI maximisation for VAE codes, λ = 0 vs λ > 0."""
    seed_list = None
    if seeds:
        try:
            seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError(f"--seeds expects comma-separated integers, got {seeds!r}") from None
    path = run(profile, out, datasets=list(datasets) or None, seeds=seed_list, lam=lam,
               data_dir=data_dir, device=device, overwrite=overwrite, progress=not quiet,
               argv=["latentdyn", *sys.argv[1:]])
    claims = json.loads((path / "claims.json").read_text())["summary"]
    click.echo(f"report written to {path / 'report.html'}; {claims['reproduced']} of "
               f"{claims['total']} claims reproduced, {claims['not_reproduced']} not reproduced, "
               f"{claims['not_evaluated']} not evaluated")
