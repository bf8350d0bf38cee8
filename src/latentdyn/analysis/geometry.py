"""Geometry of the latent hierarchy (paper 001, Fig. 3, Fig. A.1; claims C2-C4).

* :func:`cosine_matrix` -- C_ij = ξ̄_i·ξ̄_j / (‖ξ̄_i‖‖ξ̄_j‖) between concepts (eq. 11);
  :func:`mean_abs_offdiagonal` summarises it for C4.
* :func:`active_units` -- C2. Default criterion (Burda, Grosse, Salakhutdinov 2016):
  unit u is active when Var over the training set of E_q[z_u | x] exceeds 0.01.
* :func:`pca_cumulative`, :func:`dims_for` -- C3: cumulative contribution ratios of the
  principal components of the memories, and how many reach a fraction (0.7, 0.99).
* :func:`pca_2d` -- the 2-D PCA embedding of Fig. A.1.
* references for C2-C4 (issue 11): :func:`activity_sensitivity` (active units at other
  thresholds and by the per-unit KL), :func:`component_variances` and
  :func:`participation_ratio` (the effective dimension of the memories' covariance),
  :func:`random_cosine` (mean |cosine| of random directions in d dimensions) and
  :func:`shuffled_concepts_null` (concepts of shuffled labels: a check that the labels
  carry structure, not a chance level of orthogonality);
* C4's null (issue 19): :func:`random_concepts_null`, the mean |off-diagonal cosine| of
  concepts whose directions are random (drawn with the memories' within-class
  covariance, centred on the observed abstract concept, at the observed distances
  from it), by Monte Carlo.

PCA is an SVD of the centred memories in float64 (no sklearn dependency at run time).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

from latentdyn.checks import as_float, need_rows
from latentdyn.errors import ConfigError

ACTIVITY_CRITERIA = ("variance", "variance_fraction", "kl")


def cosine_matrix(concepts) -> Tensor:
    """(K, K) cosine similarities between the rows of ``concepts`` (K, nz), eq. 11."""
    c = as_float(concepts, "concepts", 2)
    need_rows(c, 1, "concepts")
    norms = torch.linalg.vector_norm(c.double(), dim=1)
    if bool((norms == 0).any()):
        raise ConfigError(f"concept(s) {(norms == 0).nonzero().flatten().tolist()} are the zero "
                          "vector; their cosine similarity is undefined")
    unit = c.double() / norms[:, None]
    return (unit @ unit.T).clamp(-1.0, 1.0).to(c.dtype)


def mean_abs_offdiagonal(m) -> float:
    """Mean of |m_ij| over i != j for a square matrix (K >= 2)."""
    m = as_float(m, "m", 2)
    k = m.shape[0]
    if m.shape[1] != k or k < 2:
        raise ConfigError(f"m must be a square matrix of side >= 2, got shape {tuple(m.shape)}")
    off = ~torch.eye(k, dtype=torch.bool, device=m.device)
    return float(m.double().abs()[off].mean())


def unit_activity(memories, criterion: str = "variance", logvars=None) -> Tensor:
    """Per-unit activity score (nz,) that :func:`active_units` thresholds.

    * ``"variance"`` (default; Burda et al. 2016): Var_x E_q[z_u | x] over the memories
      (ddof = 1);
    * ``"variance_fraction"``: that variance divided by the total over units (scale-free);
    * ``"kl"``: mean over x of KL(q(z_u | x) ‖ N(0, 1)) in nats, which needs the
      posterior ``logvars`` (N, nz) beside the means.
    """
    mem = as_float(memories, "memories", 2).double()
    need_rows(mem, 2, "memories (a variance needs two memories)")
    if criterion == "variance":
        return mem.var(0, correction=1)
    if criterion == "variance_fraction":
        var = mem.var(0, correction=1)
        total = var.sum()
        if float(total) == 0:
            raise ConfigError("the memories do not vary; variance fractions are undefined")
        return var / total
    if criterion == "kl":
        if logvars is None:
            raise ConfigError("criterion 'kl' needs logvars, the posterior log-variances (N, nz)")
        lv = as_float(logvars, "logvars", 2).double().to(mem.device)
        if lv.shape != mem.shape:
            raise ConfigError(f"logvars has shape {tuple(lv.shape)} but memories "
                              f"{tuple(mem.shape)}")
        return (0.5 * (mem**2 + lv.exp() - lv - 1)).mean(0)
    raise ConfigError(f"unknown activity criterion {criterion!r}; choose from "
                      f"{', '.join(ACTIVITY_CRITERIA)}")


def active_units(memories, threshold: float = 0.01, criterion: str = "variance",
                 logvars=None) -> tuple[Tensor, int]:
    """(mask (nz,) bool, count): units whose :func:`unit_activity` exceeds ``threshold``.

    Default: Burda et al. (2016), Var over the training set of E_q[z_u | x] > 0.01.
    """
    threshold = float(threshold)
    if not threshold >= 0:
        raise ConfigError(f"threshold must be a non-negative number, got {threshold}")
    mask = unit_activity(memories, criterion, logvars) > threshold
    return mask, int(mask.sum())


def _centred(memories) -> tuple[Tensor, torch.dtype]:
    mem = as_float(memories, "memories", 2)
    need_rows(mem, 2, "memories (PCA needs two memories)")
    x = mem.double()
    return x - x.mean(0), mem.dtype


def pca_cumulative(memories) -> Tensor:
    """Cumulative contribution ratios of the principal components, (min(N, nz),) float64.

    Entry k-1 is the fraction of the total variance explained by the first k components
    (Fig. 3b); the last entry is 1.
    """
    s = torch.linalg.svdvals(_centred(memories)[0])
    var = s**2
    total = var.sum()
    if float(total) == 0:
        raise ConfigError("the memories do not vary; contribution ratios are undefined")
    return (torch.cumsum(var, 0) / total).clamp(max=1.0)


def dims_for(ratios, fraction: float) -> int:
    """Fewest components whose cumulative contribution ratio reaches ``fraction`` (0, 1]."""
    ratios = as_float(ratios, "ratios", 1)
    fraction = float(fraction)
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must lie in (0, 1], got {fraction}")
    if ratios.numel() == 0:
        raise ConfigError("ratios is empty")
    reached = (ratios.double() >= fraction - 1e-12).nonzero()
    if reached.numel() == 0:
        raise ConfigError(f"the ratios never reach {fraction} (last is {float(ratios[-1]):.4g})")
    return int(reached[0, 0]) + 1


def pca_2d(memories) -> tuple[Tensor, Tensor]:
    """2-D PCA embedding (N, 2) of the memories and the two explained-variance ratios (2,).

    Component signs follow sklearn's convention (the largest-magnitude loading of each
    component is positive), so the picture is deterministic.
    """
    x, dtype = _centred(memories)
    if x.shape[1] < 2:
        raise ConfigError(f"a 2-D embedding needs at least 2 latent units, got {x.shape[1]}")
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    total = (s**2).sum()
    if float(total) == 0:
        raise ConfigError("the memories do not vary; PCA is undefined")
    comps = vh[:2]
    signs = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))
    comps = comps * signs
    return (x @ comps.T).to(dtype), s[:2] ** 2 / total


# ------------------------------------------------------- references for C2-C4 (issue 11)
SENSITIVITY_THRESHOLDS = (0.01, 0.05, 0.1)
KL_THRESHOLD = 0.01  # nats: a unit whose posterior stays at the prior carries no code


def activity_sensitivity(memories, logvars=None, thresholds=SENSITIVITY_THRESHOLDS,
                         kl_threshold: float = KL_THRESHOLD) -> dict:
    """Active units at each variance threshold (``"var > 0.05": n``) and, given the
    posterior ``logvars``, by the per-unit KL to the prior (``"KL > 0.01 nats": n``)."""
    out = {f"var > {t:g}": active_units(memories, t)[1] for t in thresholds}
    if logvars is not None:
        out[f"KL > {kl_threshold:g} nats"] = active_units(memories, kl_threshold, "kl",
                                                          logvars)[1]
    return out


def component_variances(memories) -> Tensor:
    """Variances (ddof = 1) of the principal components of the memories, largest first
    (the eigenvalues of their covariance), float64."""
    x, _ = _centred(memories)
    return torch.linalg.svdvals(x) ** 2 / (x.shape[0] - 1)


def participation_ratio(memories=None, variances=None) -> float:
    """(Σλ)² / Σλ² of the covariance eigenvalues λ: the effective number of dimensions
    the memories spread their variance over (d for d equal variances)."""
    lam = component_variances(memories) if variances is None else as_float(
        variances, "variances", 1).double()
    total = float(lam.sum())
    if total <= 0:
        raise ConfigError("the memories do not vary; the participation ratio is undefined")
    return total ** 2 / float((lam ** 2).sum())


def random_cosine(dim: float) -> float:
    """E|cos| between two independent isotropic random directions in ``dim`` dimensions,
    Γ(d/2) / (√π Γ((d+1)/2)) (≈ sqrt(2 / (π d)) for large d); real ``dim`` >= 1 allowed
    (e.g. a participation ratio)."""
    from scipy.special import gammaln

    dim = float(dim)
    if not dim >= 1:
        raise ConfigError(f"dim must be >= 1, got {dim}")
    return float(math.exp(gammaln(dim / 2) - gammaln((dim + 1) / 2)) / math.sqrt(math.pi))


def shuffled_concepts_null(memories, labels, *, n_permutations: int = 100, seed: int = 0):
    """The mean |off-diagonal cosine| of concepts built from shuffled labels: a
    :class:`~latentdyn.analysis.uncertainty.Null` (what C4's statistic is when labels
    carry no information)."""
    from latentdyn.analysis.uncertainty import permutation_null

    mem = as_float(memories, "memories", 2).double()
    lab = torch.as_tensor(np.asarray(labels)).long()
    if lab.shape[0] != mem.shape[0]:
        raise ConfigError(f"memories has {mem.shape[0]} rows but labels has {lab.shape[0]}")
    classes, rows = torch.unique(lab, return_inverse=True)
    counts = torch.bincount(rows, minlength=len(classes)).double()

    def offdiag(perm) -> float:
        r = torch.as_tensor(perm)
        sums = torch.zeros(len(classes), mem.shape[1], dtype=torch.float64).index_add_(0, r, mem)
        return mean_abs_offdiagonal(cosine_matrix(sums / counts[:, None]))

    return permutation_null(rows.numpy(), offdiag, n_permutations=n_permutations, seed=seed)


# ------------------------------------------------------------------- C4's null (issue 19)
NULL_DRAWS = 2000  # Monte-Carlo draws of C4's null
NULL_LEVEL = 0.05  # C4 passes below this quantile of the null


def mean_abs_offdiagonal_batch(concepts: Tensor) -> Tensor:
    """Mean |off-diagonal cosine| of each (K, nz) stack in ``concepts`` (B, K, nz)."""
    unit = concepts / torch.linalg.vector_norm(concepts, dim=2, keepdim=True)
    cos = (unit @ unit.transpose(1, 2)).abs()
    k = cos.shape[1]
    return (cos.sum((1, 2)) - cos.diagonal(dim1=1, dim2=2).sum(1)) / (k * (k - 1))


@functools.lru_cache(maxsize=4)
def _normals(draws: int, k: int, nz: int, seed: int) -> Tensor:
    """The seeded standard normals of :func:`random_concepts` (draws, k, nz), float64,
    drawn once per seed and shape: a bootstrap asks for the same ones in every resample
    (common random numbers), and drawing them was half the cost of C4's null. Read
    only (the callers multiply, never write into it)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(draws, k, nz, generator=gen, dtype=torch.float64)


def random_concepts(covariance, concepts, *, draws: int = NULL_DRAWS, seed: int = 0) -> Tensor:
    """``draws`` sets of K concepts with random directions, (draws, K, nz) float64: each
    set keeps the observed abstract concept ξ̄_all (the mean of ``concepts`` (K, nz), the
    offset) and each concept's observed distance ‖ξ̄_k − ξ̄_all‖ from it, and draws the
    directions of ξ̄_k − ξ̄_all as K vectors of N(0, ``covariance``) (the memories'
    covariance), centred on their mean (as concepts are around ξ̄_all) and then scaled
    to the observed norms. The draws are seeded: the same seed gives the same normals,
    whatever the covariance (common random numbers across resamples)."""
    cov = as_float(covariance, "covariance", 2).double()
    c = as_float(concepts, "concepts", 2).double()
    k, nz = c.shape
    if cov.shape != (nz, nz) or k < 2:
        raise ConfigError(f"covariance {tuple(cov.shape)} must be (nz, nz) for concepts "
                          f"{tuple(c.shape)} (K >= 2)")
    lam, vec = torch.linalg.eigh((cov + cov.T) / 2)
    root = vec * lam.clamp(min=0).sqrt()  # root @ root.T = covariance
    delta = _normals(int(draws), k, nz, int(seed)) @ root.T
    delta = delta - delta.mean(1, keepdim=True)
    offset = c.mean(0)
    norms = torch.linalg.vector_norm(c - offset, dim=1)
    delta = delta * (norms / torch.linalg.vector_norm(delta, dim=2).clamp(min=1e-300))[..., None]
    return offset + delta


def within_class_covariance(memories, labels) -> tuple[Tensor, Tensor]:
    """The pooled within-class covariance of ``memories`` (N, nz) (each memory minus its
    concept, divided by N − K) and the concepts (K, nz), float64."""
    mem = as_float(memories, "memories", 2).double()
    lab = torch.as_tensor(np.asarray(labels)).long()
    if lab.shape[0] != mem.shape[0]:
        raise ConfigError(f"memories has {mem.shape[0]} rows but labels has {lab.shape[0]}")
    classes, rows = torch.unique(lab, return_inverse=True)
    if mem.shape[0] <= len(classes):
        raise ConfigError("a within-class covariance needs more memories than classes")
    counts = torch.bincount(rows, minlength=len(classes)).double()
    sums = torch.zeros(len(classes), mem.shape[1], dtype=torch.float64).index_add_(0, rows, mem)
    concepts = sums / counts[:, None]
    x = mem - concepts[rows]
    return x.T @ x / (mem.shape[0] - len(classes)), concepts


def random_concepts_null(memories, labels, *, draws: int | None = None, seed: int = 0):
    """C4's null: the mean |off-diagonal cosine| of concepts with random directions
    (:func:`random_concepts`: the observed abstract concept and distances from it,
    directions drawn with the pooled *within-class* covariance of ``memories``), as a
    :class:`~latentdyn.analysis.uncertainty.Null` whose ``quantile`` is its
    :data:`NULL_LEVEL` quantile: a statistic below it is more orthogonal than random
    concepts of this model's geometry in all but 5 % of draws (``draws``: default
    :data:`NULL_DRAWS`).

    Why within-class: the covariance of all the memories holds the concepts' own
    directions (its between-class part has rank K − 1), so drawing from it pulls the
    null's concepts toward the observed ones' span and raises the null: on synthetic
    models whose concepts are random, the rule then passed 8-9 % of them instead of 5 %
    (docs/reproduction.md). Why not random directions in the effective dimension
    (:func:`random_cosine`, issue 11's reference): K concepts centred on their mean have
    cosines pushed toward −1/(K−1), and the covariance is not isotropic."""
    from latentdyn.analysis.uncertainty import Null

    cov, concepts = within_class_covariance(memories, labels)
    draws = NULL_DRAWS if draws is None else draws
    samples = mean_abs_offdiagonal_batch(random_concepts(cov, concepts, draws=draws,
                                                         seed=seed)).numpy()
    q = float(np.quantile(samples, NULL_LEVEL))
    return Null(samples, float(samples.mean()), q, 1 - NULL_LEVEL, int(seed))
