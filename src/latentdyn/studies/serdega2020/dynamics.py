"""Stage 2 of serdega2020, per λ on the model of the first seed: repeated inference
(SPEC §1) through the full latent -- concept attraction of the continuous part and the
categorical code's own time course -- and latent traversals of the chosen codes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentdyn.studies.serdega2020.profiles import Profile


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

    @property
    def n_dips(self) -> int:
        """Labels whose distance to their concept dips."""
        return sum(bool(v["has_dip"]) for v in self.dips.values())


@dataclass
class Traversal:
    """An image grid (rows, columns, h, w) with its row and column labels."""

    images: np.ndarray
    row_labels: list[str]
    col_labels: list[str]


@torch.no_grad()
def dynamics(model, data, profile: Profile, seed: int, device) -> DynResult:
    """Deterministic repeated inference from corrupted test images, up to
    ``dyn_trials`` per label, on the joint latent of ``model``."""
    from latentdyn.analysis import (active_units, build_hierarchy, cosine_matrix,
                                    dip_statistic_from_trials, distance_to,
                                    mean_abs_offdiagonal, mean_sem)
    from latentdyn.data.corruption import corrupt
    from latentdyn.dynamics import run_dynamics
    from latentdyn.models.vmi import JointLatent

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
        same_cat, cat_right = _categorical_timecourse(model, data, cat, trial_labels, device)
    return DynResult(
        t=np.arange(profile.dyn_steps + 1), rel_mean=rel_mean.numpy(), rel_sem=rel_sem.numpy(),
        per_label_mean=per_mean, per_label_sem=per_sem, dips=dips, same_cat=same_cat,
        cat_right=cat_right, active_units=active_units(hier.memories)[1],
        offdiag_cos=float(mean_abs_offdiagonal(cosine_matrix(hier.concepts))),
    )


def _categorical_timecourse(model, data, cat, trial_labels, device):
    """Per step: the fraction of trials keeping their category of t = 0, and the
    fraction whose category maps (majority over the training set) to their label."""
    from latentdyn.models.codes import majority_mapping

    same_cat = (cat == cat[:, :1]).double().mean(0).numpy()
    train_codes = torch.cat([
        model.categorical_code(data.train_images[i:i + 2000].to(device)).cpu()
        for i in range(0, len(data.train_labels), 2000)])
    mapping = torch.tensor(majority_mapping(train_codes, data.train_labels, model.n_cat))
    cat_right = (mapping[cat] == trial_labels[:, None]).double().mean(0).numpy()
    return same_cat, cat_right


@torch.no_grad()
def traversals(model, data, profile: Profile, seed: int, device) -> dict[str, Traversal]:
    """Image grids of the chosen codes: (categorical) rows = prior Gaussian codes,
    columns = categories; (Gaussian unit u) rows = test images' codes, columns = values
    of unit u."""
    from latentdyn.models.codes import CAT, code_spec

    spec = code_spec(model)
    chosen = spec.chosen or ()
    h, w = data.image_shape[-2:]
    gen = torch.Generator(device).manual_seed(3000 + seed)
    grids = {}
    if spec.n_cat and CAT in chosen:
        zg = torch.randn((profile.trav_rows, spec.n_gauss), generator=gen, device=device)
        K = spec.n_cat
        eye = torch.eye(K, device=device)
        z = torch.cat([zg[:, None, :].expand(-1, K, -1), eye.expand(profile.trav_rows, K, K)], -1)
        imgs = model.decode(z.reshape(-1, z.shape[-1])).reshape(profile.trav_rows, K, h, w)
        grids[CAT] = Traversal(imgs.cpu().numpy(),
                               [f"z_g #{i + 1}" for i in range(profile.trav_rows)],
                               [str(k) for k in range(K)])
    x = data.test_images[:profile.trav_rows].to(device)
    mu, _, logits = model.encode_joint(x)
    values = torch.linspace(-profile.trav_range, profile.trav_range, profile.trav_values,
                            device=device)
    for name in chosen:
        if name == CAT:
            continue
        u = int(name[1:])
        z = mu[:, None, :].repeat(1, len(values), 1)
        z[:, :, u] = values
        if logits is not None:
            onehot = torch.nn.functional.one_hot(logits.argmax(-1), spec.n_cat).float()
            z = torch.cat([z, onehot[:, None, :].expand(-1, len(values), -1)], -1)
        imgs = model.decode(z.reshape(-1, z.shape[-1]))
        imgs = imgs.reshape(profile.trav_rows, len(values), h, w)
        grids[name] = Traversal(imgs.cpu().numpy(),
                                [f"test image {i + 1}" for i in range(profile.trav_rows)],
                                [f"{v:+.1f}" for v in values.tolist()])
    return grids
