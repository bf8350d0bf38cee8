"""The measurements of the toledo2023 study, as functions of the networks and images,
each returning a typed result: the judge's view of the GAN's samples, the decodings of
the quasi-eigenvectors, the amplitude histograms of the LSD coefficients, the paired
denoising comparison behind claim T2 and the reading of the rotation paths."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from torch import Tensor


def accuracy(classifier, x, y) -> float:
    from latentdyn.models.inference import predict_labels

    return float((predict_labels(classifier, x) == y).double().mean())


def score_ratio(probs: Tensor) -> float:
    """exp E_x KL(p(y|x) || p(y)), the judge's "inception score" of a set of images
    (1 = uninformative or collapsed, K = confident and balanced over K classes)."""
    p = probs.double().clamp_min(1e-12)
    marg = p.mean(0, keepdim=True)
    return float(torch.exp((p * (p.log() - marg.log())).sum(1).mean()))


# ------------------------------------------------------------------------ GAN samples
@dataclass
class GanQuality:
    """Prior samples G(z), their readings, and the judge's view of their quality."""

    images: Tensor
    z: Tensor
    judge_labels: Tensor
    classifier_labels: Tensor
    n: int
    score_generated: float
    score_test_images: float
    judge_confidence_generated: float
    judge_confidence_test_images: float
    class_share_judge: list
    label_entropy_judge: float

    def summary(self) -> dict:
        """The JSON-able statistics (everything but the images, latents and labels)."""
        skip = ("images", "z", "judge_labels", "classifier_labels")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


def gan_quality(model, judge, classifier, nz: int, n: int, seed: int, test_x) -> GanQuality:
    from latentdyn.models.inference import decode_all, predict_proba

    gen = torch.Generator().manual_seed(seed + 4242)
    z = torch.randn((n, nz), generator=gen)
    x = decode_all(model, z)
    pj = predict_proba(judge, x)
    pt = predict_proba(judge, test_x[:n])
    k = pj.shape[1]
    share = torch.bincount(pj.argmax(1), minlength=k).double() / n
    ent = float(-(share[share > 0] * share[share > 0].log()).sum() / math.log(k))
    return GanQuality(images=x, z=z, judge_labels=pj.argmax(1),
                      classifier_labels=predict_proba(classifier, x).argmax(1), n=n,
                      score_generated=score_ratio(pj), score_test_images=score_ratio(pt),
                      judge_confidence_generated=float(pj.max(1).values.mean()),
                      judge_confidence_test_images=float(pt.max(1).values.mean()),
                      class_share_judge=share.tolist(), label_entropy_judge=ent)


# ------------------------------------------------------------------------ LSD
@dataclass
class AmplitudeHistograms:
    """Densities of |c_i| by group, the distribution of the true label's rank and the
    mean |c| of each group."""

    edges: np.ndarray
    groups: dict
    rank_names: list
    rank_fractions: list
    mean_abs: dict


def histograms(c: Tensor, labels: Tensor, basis, bins: int = 60) -> AmplitudeHistograms:
    """Amplitude histograms of |c_i| by group and the distribution of the true label's
    rank."""
    from latentdyn.analysis.lsd import true_label_rank

    a = c.abs().double()
    k = basis.num_label
    cls = basis.classes.tolist()
    col = torch.full_like(labels, -1)
    for row, lab in enumerate(cls):
        col[labels == lab] = row
    has = col >= 0
    own = a[has].gather(1, col[has][:, None]).flatten()
    mask = torch.zeros_like(a, dtype=torch.bool)
    mask[:, :k] = True
    mask[has.nonzero().flatten(), col[has]] = False
    other = a[:, :k][mask[:, :k]]
    rest = a[:, k:].flatten()
    top = float(torch.quantile(a.flatten()[:2_000_000].float(), 0.9999)) if a.numel() else 1.0
    edges = np.linspace(0.0, max(top, 1e-6), bins + 1)

    def dens(v):
        v = np.clip(v.numpy(), 0, edges[-1])
        h, _ = np.histogram(v, bins=edges, density=True)
        return h

    names, fr = _rank_distribution(true_label_rank(c, labels, basis), c.shape[1])
    groups = {"own label |c_y|": dens(own), "other label vectors": dens(other),
              f"non-label vectors (i ≥ {k})": dens(rest)}
    means = {"own label": float(own.mean()) if own.numel() else float("nan"),
             "other label": float(other.mean()) if other.numel() else float("nan"),
             "non-label": float(rest.mean()) if rest.numel() else float("nan")}
    return AmplitudeHistograms(edges, groups, names, fr, means)


def _rank_distribution(rank: Tensor, nz: int) -> tuple[list, list]:
    """Names and fractions of the true label's rank: 1 … 10, '>10', 'none'."""
    n = max(1, rank.numel())
    names = [str(r) for r in range(1, min(10, nz) + 1)]
    fr = [float((rank == r).double().sum()) / n for r in range(1, len(names) + 1)]
    if nz > 10:
        names.append(">10")
        fr.append(float((rank > 10).double().sum()) / n)
    if bool((rank < 0).any()):
        names.append("none")
        fr.append(float((rank < 0).double().sum()) / n)
    return names, fr


@dataclass
class DecodedVectors:
    """Decodings of the class means and of the label vectors at multiples of s_k, with
    both classifiers' readings (rows: classes; columns: :attr:`columns`)."""

    images: Tensor
    columns: list
    scales: list
    factors: list
    judge: Tensor
    classifier: Tensor
    classes: list
    norm_class_means: list
    # per class: the share of G(s_k u), u a random unit vector, that the judge reads as k
    random_read_own: list = field(default_factory=list)
    n_random: int = 0

    def read_as_own(self, reader: str = "judge", column: int = 2) -> int:
        """How many classes k ``reader`` reads as k in ``column`` (2: G(s_k ξ_k))."""
        labels = getattr(self, reader)
        return int(sum(int(labels[r, column]) == lab for r, lab in enumerate(self.classes)))

    def to_json(self) -> dict:
        return {f.name: (getattr(self, f.name).tolist() if torch.is_tensor(getattr(self, f.name))
                         else getattr(self, f.name)) for f in fields(self) if f.name != "images"}


def random_direction_reading(model, judge, scales: Tensor, classes: list, nz: int,
                             n_random: int, seed: int) -> list:
    """T4's reference: per class k, the share of decodings G(s_k u) of ``n_random``
    random unit vectors u (seeded) that the judge reads as k -- how often a direction
    that has nothing to do with class k is read as k at the same scale."""
    from latentdyn.models.inference import decode_all, predict_labels

    if n_random < 1 or not classes:
        return []
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn((len(classes), n_random, nz), generator=gen, dtype=torch.float64)
    u = u / torch.linalg.vector_norm(u, dim=2, keepdim=True)
    z = (scales.double()[:, None, None] * u).reshape(-1, nz).float()
    read = predict_labels(judge, decode_all(model, z)).reshape(len(classes), n_random)
    return [float((read[r] == k).double().mean()) for r, k in enumerate(classes)]


def decoded_vectors(model, basis, classifier, judge, n_random: int = 0,
                    seed: int = 0) -> DecodedVectors:
    """Decodings of the class means and of the label vectors at scales of
    s_k = <m_k, ξ_k>, with both classifiers' readings, and (``n_random`` > 0) the
    judge's reading of random directions at the same scales
    (:func:`random_direction_reading`)."""
    from latentdyn.models.inference import decode_all, predict_labels

    k = basis.num_label
    xi = basis.vectors[:k]
    s = (basis.class_means * xi).sum(1)  # (K,) the class mean's coefficient on ξ_k
    factors = (0.5, 1.0, 2.0)
    zs = [basis.class_means] + [f * s[:, None] * xi for f in factors]
    names = ["G(m_k)"] + [f"G({f:g}·s_k·ξ_k)" for f in factors]
    z = torch.stack(zs, 1).reshape(-1, basis.nz).float()  # (K * 4, nz)
    x = decode_all(model, z)
    j = predict_labels(judge, x).reshape(k, len(names))
    c = predict_labels(classifier, x).reshape(k, len(names))
    return DecodedVectors(images=x.reshape(k, len(names), -1), columns=names,
                          scales=s.tolist(), factors=list(factors), judge=j, classifier=c,
                          classes=basis.classes.tolist(), norm_class_means=torch.linalg
                          .vector_norm(basis.class_means, dim=1).tolist(),
                          random_read_own=random_direction_reading(
                              model, judge, s, basis.classes.tolist(), basis.nz, n_random,
                              seed), n_random=int(n_random))


# ------------------------------------------------------------------------ denoising
@dataclass
class PairedComparison:
    """The judge on the corrupted input and on its LSD truncation, image by image."""

    noise: str
    level: float
    n: int
    acc_input: float
    acc_lsd: float
    delta: float
    se: float
    psnr_input: float
    psnr_lsd: float
    correct_input: np.ndarray | None = None  # (n,) per image: the judge reads it right
    correct_lsd: np.ndarray | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("correct_input")
        d.pop("correct_lsd")
        return d


def paired(model, basis, judge, clean, labels, noise: str, level: float, k: int,
           seed: int) -> PairedComparison:
    """Per-image correctness of the judge on the corrupted input and on its LSD
    truncation to ``k`` coefficients (the same corrupted images as the sweep)."""
    from latentdyn.analysis.denoising import corruption_seed, psnr
    from latentdyn.analysis.lsd import denoise_lsd
    from latentdyn.data.corruption import corrupt
    from latentdyn.models.inference import predict_labels

    gen = torch.Generator().manual_seed(corruption_seed(seed, noise, level))
    noisy = corrupt(clean, noise, level, gen)
    den = denoise_lsd(model, basis, noisy, k).clamp(0, 1)
    a = (predict_labels(judge, noisy) == labels).double()
    b = (predict_labels(judge, den) == labels).double()
    d = b - a
    n = d.numel()
    se = float(d.std() / math.sqrt(n)) if n > 1 else float("nan")
    return PairedComparison(noise, level, n, float(a.mean()), float(b.mean()),
                            float(d.mean()), se, float(psnr(noisy, clean).mean()),
                            float(psnr(den, clean).mean()), a.numpy(), b.numpy())
