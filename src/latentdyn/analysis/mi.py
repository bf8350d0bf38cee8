"""Mutual information between latent codes and decoded images, for a *fixed* model.

The variational bound of Serdega & Kim (2020) (InfoGAN-style): for any network Q,

    I(c; x̃) ≥ H(c) − E[−log Q(c | x̃)],

where c is part of the latent code and x̃ = E_p[x | z] its decoding. :func:`estimate_mi`
freezes a model that offers ``decode`` (and ``encode`` for the posterior source), draws
pairs (c, x̃), trains a *fresh* Q (:class:`latentdyn.models.auxiliary.AuxiliaryQ`) on a
training pool of them, and reports H(c) minus Q's cross-entropy on a separate held-out
pool, per code, repeated over ``n_fits`` seeds (each fit: new Q weights and new pairs):
mean ± sd over fits. The held-out cross-entropy of a fixed Q is an unbiased estimate of
E[−log Q(c | x̃)], so each fit's number estimates a valid lower bound; a Q that did not
learn gives ≈ 0 (or slightly below, by chance), never a spurious positive bound.

Where the codes come from (``source``):

* ``"prior"`` (default): z_g ~ N(0, I) and c ~ Uniform(K), as the generative model draws
  them. Entropies are exact: H(c) = ln K for the categorical unit and the differential
  entropy of N(0, 1), h = ½ ln(2πe) ≈ 1.419 nats, per Gaussian unit.
* ``"posterior"``: x from ``images``, z_g ~ q(z_g | x) (the model's sampler, else the
  reparameterised Gaussian of ``encode``), c ~ q(c | x) one-hot. Entropies are then
  those of the *aggregate posterior*: for c the plug-in entropy of the mean of q(c | x)
  over the pool (exact for how c is drawn); for a Gaussian unit the entropy of a
  Gaussian with the unit's pooled variance — an upper bound on its true entropy, so in
  this mode the Gaussian numbers are estimates, not guaranteed lower bounds.

The categorical code read as labels (Serdega & Kim's unsupervised accuracy):
:func:`code_accuracy` maps each code value to its majority label on the *training*
images and scores the mapping on the *test* images, beside the cluster purity (the
mapping fitted and scored on the test images, which is optimistic) and a chance level
measured by shuffling the codes against the labels.

The model interface: ``decode(z)`` on z of width ``n_gauss`` (+ ``n_cat`` for a model
with a categorical unit: the one-hot is appended after the Gaussian units), with the
codes declared as :func:`latentdyn.models.codes.code_spec` reads them. For the
posterior source a categorical model also needs ``categorical_probs(x)``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from latentdyn.analysis.uncertainty import Null, permutation_null
from latentdyn.errors import ConfigError
from latentdyn.models.auxiliary import ARCHS, AuxiliaryQ
from latentdyn.models.build import make_adam, seeded_init
from latentdyn.models.codes import (GAUSS_ENTROPY, categorical_accuracy, code_names, code_spec,
                                    majority_mapping, parse_codes)
from latentdyn.models.inference import inference_mode
from latentdyn.models.protocol import check_model, model_device, sample_latent

SOURCES = ("prior", "posterior")


@dataclass
class CodeMI:
    """The MI lower bound of one code over repeated Q fits (nats)."""

    code: str  # "z3" (Gaussian unit 3) or "cat"
    kind: str  # "gaussian" or "categorical"
    entropy: float  # H(c) used
    ce: list[float]  # held-out cross-entropy of each fit
    chosen: bool | None = None  # one of the model's chosen codes (None: model declares none)

    @property
    def bounds(self) -> list[float]:
        return [self.entropy - c for c in self.ce]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.bounds)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.bounds) if len(self.bounds) > 1 else 0.0

    @property
    def ce_mean(self) -> float:
        return statistics.fmean(self.ce)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(bound=self.bounds, bound_mean=self.mean, bound_sd=self.sd, ce_mean=self.ce_mean)
        return d


@dataclass
class MIResult:
    codes: list[CodeMI]
    settings: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> CodeMI:
        for c in self.codes:
            if c.code == name:
                return c
        raise KeyError(name)

    def names(self) -> list[str]:
        return [c.code for c in self.codes]

    def to_dict(self) -> dict:
        return {"settings": self.settings, "codes": [c.to_dict() for c in self.codes]}

    def table(self) -> str:
        """An aligned text table: code, kind, H(c), CE and bound (mean ± sd), chosen."""
        rows = [("code", "kind", "H(c)", "CE (mean ± sd)", "bound (mean ± sd)", "chosen")]
        for c in self.codes:
            ce_sd = statistics.stdev(c.ce) if len(c.ce) > 1 else 0.0
            rows.append((c.code, c.kind, f"{c.entropy:.4f}", f"{c.ce_mean:.4f} ± {ce_sd:.4f}",
                         f"{c.mean:.4f} ± {c.sd:.4f}",
                         "" if c.chosen is None else ("yes" if c.chosen else "no")))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        s = self.settings
        lines.append(f"nats; {s.get('n_fits')} Q fits, source {s.get('source')}; "
                     f"{s.get('entropy_note', '')}")
        return "\n".join(lines)


def _decode_flat(model, z: Tensor, chunk: int) -> Tensor:
    out = [model.decode(z[i:i + chunk]).reshape(min(chunk, z.shape[0] - i), -1)
           for i in range(0, z.shape[0], chunk)]
    return torch.cat(out, 0).float()


def _draw(model, n: int, n_gauss: int, n_cat: int, source: str, images, gen, device,
          chunk: int) -> tuple[Tensor, Tensor, Tensor | None]:
    """``n`` pairs: (z_g (n, g), c one-hot (n, K) or None), and decodings x̃ (n, D)."""
    if source == "prior":
        zg = torch.randn((n, n_gauss), generator=gen, device=device)
        c = None
        if n_cat:
            idx = torch.randint(0, n_cat, (n,), generator=gen, device=device)
            c = torch.nn.functional.one_hot(idx, n_cat).float()
    else:
        pick = torch.randint(0, images.shape[0], (n,), generator=gen, device=device).cpu()
        zs, cs = [], []
        for i in range(0, n, chunk):
            x = images[pick[i:i + chunk]].to(device)
            zs.append(sample_latent(model, x, generator=gen).reshape(x.shape[0], -1).float())
            if n_cat:
                probs = model.categorical_probs(x).float()
                idx = torch.multinomial(probs, 1, generator=gen)[:, 0]
                cs.append(torch.nn.functional.one_hot(idx, n_cat).float())
        zg = torch.cat(zs, 0)
        c = torch.cat(cs, 0) if n_cat else None
    z = torch.cat([zg, c], -1) if c is not None else zg
    if not bool(torch.isfinite(zg).all()):
        raise ConfigError(f"{type(model).__name__}.encode gives non-finite codes (NaN or inf) "
                          "for these images: the model's weights are damaged or too large")
    x = _decode_flat(model, z, chunk)
    if not bool(torch.isfinite(x).all()):  # Q would learn NaN: say why, not where it ends
        raise ConfigError(f"{type(model).__name__}.decode gives non-finite values (NaN or "
                          "inf): the model's weights are damaged or too large; no MI bound "
                          "can be estimated from its decodings")
    return zg, c, x


def _check_options(source, q_arch, lr, ints: dict) -> None:
    if source not in SOURCES:
        raise ConfigError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if q_arch not in ARCHS:
        raise ConfigError(f"q_arch must be one of {', '.join(ARCHS)}, got {q_arch!r}")
    for name, v in ints.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ConfigError(f"lr must be positive, got {lr!r}")


def _entropies(units, use_cat: bool, n_cat: int, source: str, zg: Tensor,
               c: Tensor | None) -> list[float]:
    """H of each code as drawn: exact for the prior, the aggregate posterior's otherwise."""
    h = []
    for u in units:
        if source == "prior":
            h.append(GAUSS_ENTROPY)
        else:
            var = float(zg[:, u].double().var())
            h.append(0.5 * math.log(2 * math.pi * math.e * max(var, 1e-12)))
    if use_cat:
        if source == "prior":
            h.append(math.log(n_cat))
        else:
            p = c.double().mean(0)
            h.append(float(-(p[p > 0] * p[p > 0].log()).sum()))
    return h


def _fit_q(q: AuxiliaryQ, xt, tg, tc, *, n_train: int, steps: int, batch_size: int, lr: float,
           gen, dev, bar) -> None:
    """``steps`` Adam steps of Q's cross-entropy on random batches of the training pool."""
    opt = make_adam(q.parameters(), lr, dev)
    with torch.enable_grad():
        for _ in range(steps):
            idx = torch.randint(0, n_train, (min(batch_size, n_train),), generator=gen,
                                device=dev)
            g, cc = q.nll(xt[idx], tg[idx] if tg is not None else None,
                          tc[idx] if tc is not None else None)
            loss = (g.mean(0).sum() if g is not None else 0.0) + \
                (cc.mean() if cc is not None else 0.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update()
    q.eval()


def _heldout_ce(q: AuxiliaryQ, xt, tg, tc, n_train: int, n_test: int, n_codes: int,
                chunk: int) -> list[float]:
    """Q's mean cross-entropy of each code on the held-out pool."""
    sums = torch.zeros(n_codes, dtype=torch.float64)
    for i in range(n_train, n_train + n_test, chunk):
        j = min(i + chunk, n_train + n_test)
        g, cc = q.nll(xt[i:j], tg[i:j] if tg is not None else None,
                      tc[i:j] if tc is not None else None)
        parts = []
        if g is not None:
            parts.append(g.sum(0).double().cpu())
        if cc is not None:
            parts.append(cc.sum().double().cpu().reshape(1))
        sums += torch.cat(parts)
    return (sums / n_test).tolist()


def _one_fit(model, spec, units, use_cat: bool, source: str, images, fit_seed: int, dev, bar,
             *, n_train, n_test, steps, batch_size, q_arch, q_hidden, q_channels, lr,
             chunk) -> tuple[list[float], list[float]]:
    """One Q fit on fresh pairs drawn from ``fit_seed``: (entropies, held-out CEs)."""
    n_gauss, n_cat = spec.n_gauss, spec.n_cat
    gen = torch.Generator(dev).manual_seed(fit_seed)
    zg, c, xt = _draw(model, n_train + n_test, n_gauss, n_cat, source, images, gen, dev, chunk)
    tg = zg[:, list(units)] if units else None
    tc = c if use_cat else None
    h = _entropies(units, use_cat, n_cat, source, zg, c)
    q = seeded_init(fit_seed, lambda: AuxiliaryQ(
        q_arch, xt.shape[1], len(units), n_cat if use_cat else 0, q_hidden, q_channels,
        "relu")).to(dev)
    _fit_q(q, xt, tg, tc, n_train=n_train, steps=steps, batch_size=batch_size, lr=lr, gen=gen,
           dev=dev, bar=bar)
    return h, _heldout_ce(q, xt, tg, tc, n_train, n_test, len(h), chunk)


def estimate_mi(
    model,
    images: Tensor | None = None,
    codes="all",
    *,
    source: str = "prior",
    n_fits: int = 3,
    steps: int = 1000,
    batch_size: int = 128,
    n_train: int = 10000,
    n_test: int = 2000,
    q_arch: str = "fc",
    q_hidden: int = 256,
    q_channels: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    device=None,
    chunk: int = 1000,
    progress: bool = False,
) -> MIResult:
    """The MI lower bound H(c) − CE of each chosen code of a frozen ``model`` (module doc).

    ``codes``: ``"all"`` (every Gaussian unit and the categorical unit), or a list such
    as ``"cat,0,1"`` (see :func:`latentdyn.models.codes.parse_codes`). One Q per fit
    predicts all of them jointly (a shared trunk; the Gaussian head is diagonal, so each
    code's cross-entropy is reported separately). Fit ``i`` uses ``seed + i`` for Q's
    weights and for its pairs. ``images`` are needed for ``source="posterior"`` (and to
    read the latent width of a model that does not declare it).
    """
    check_model(model)
    _check_options(source, q_arch, lr, dict(
        n_fits=n_fits, steps=steps, batch_size=batch_size, n_train=n_train, n_test=n_test,
        q_hidden=q_hidden, q_channels=q_channels, chunk=chunk))
    if images is not None:
        images = torch.as_tensor(images).float()
        images = images.reshape(images.shape[0], -1)
        if images.shape[0] == 0:
            raise ConfigError("images is empty")
    if source == "posterior" and images is None:
        raise ConfigError("source 'posterior' needs images to encode")
    spec = code_spec(model, images)
    n_gauss, n_cat = spec.n_gauss, spec.n_cat
    units, use_cat = parse_codes(codes, n_gauss, n_cat)
    if not units and not use_cat:
        raise ConfigError("no codes chosen; nothing to estimate")
    if source == "posterior" and n_cat and not callable(getattr(model, "categorical_probs", None)):
        raise ConfigError(f"{type(model).__name__} has n_cat = {n_cat} but no "
                          "categorical_probs(x); the posterior source needs it")
    dev = torch.device(device) if device is not None else model_device(model)
    names = code_names(units, use_cat)
    fits = []
    bar = tqdm(total=n_fits * steps, disable=not progress, desc="MI (Q fits)", unit="step")
    with inference_mode(model):
        try:
            for fit in range(n_fits):
                fits.append(_one_fit(model, spec, units, use_cat, source, images, seed + fit,
                                     dev, bar, n_train=n_train, n_test=n_test, steps=steps,
                                     batch_size=batch_size, q_arch=q_arch, q_hidden=q_hidden,
                                     q_channels=q_channels, lr=lr, chunk=chunk))
        finally:
            bar.close()
    entropies = [[f[0][i] for f in fits] for i in range(len(names))]
    ces = [[f[1][i] for f in fits] for i in range(len(names))]
    chosen = set(spec.chosen) if spec.chosen is not None else None
    out = [CodeMI(code=name, kind="categorical" if name == "cat" else "gaussian",
                  entropy=statistics.fmean(entropies[i]), ce=ces[i],
                  chosen=(name in chosen) if chosen is not None else None)
           for i, name in enumerate(names)]
    note = ("H(c) = ln K (uniform prior) and h = ½ ln 2πe per N(0,1) unit"
            if source == "prior" else
            "H(c) of the aggregate posterior (Gaussian units: Gaussian-fit upper bound)")
    settings = dict(source=source, n_fits=n_fits, steps=steps, batch_size=batch_size,
                    n_train=n_train, n_test=n_test, q_arch=q_arch, q_hidden=q_hidden,
                    q_channels=q_channels, lr=lr, seed=seed, n_gauss=n_gauss, n_cat=n_cat,
                    entropy_note=note)
    return MIResult(codes=out, settings=settings)


# ------------------------------------------------------------ the code as a classifier
@dataclass
class CodeAccuracy:
    """A discrete code read as labels: ``mapping`` (code value -> its majority label on
    the training images, -1 for a value never used there), its test ``accuracy`` with
    the per-image ``correct`` (n_test,) float, the test set's ``purity`` (the mapping
    fitted on the test images themselves) and the accuracy of shuffled codes
    (``null``: codes that carry no information about the labels)."""

    accuracy: float
    correct: np.ndarray
    mapping: list[int]
    purity: float
    null: Null | None

    def summary(self) -> dict:
        out = {"accuracy": self.accuracy, "purity": self.purity, "mapping": self.mapping,
               "n_test": int(len(self.correct))}
        if self.null is not None:
            out.update(chance_mean=self.null.mean, chance_quantile=self.null.quantile,
                       chance_level=self.null.level, permutations=int(len(self.null.samples)))
        return out


def _held_out(train_codes, train_labels, test_codes, test_labels, n_codes: int):
    mapping = torch.tensor(majority_mapping(train_codes, train_labels, n_codes))
    return (mapping[test_codes] == test_labels).double(), mapping.tolist()


def code_accuracy(train_codes, train_labels, test_codes, test_labels, n_codes: int, *,
                  n_permutations: int = 200, level: float = 0.95,
                  seed: int = 0) -> CodeAccuracy:
    """The held-out accuracy of a discrete code (see :class:`CodeAccuracy`). The null
    shuffles the pooled training and test codes against the labels (code frequencies
    kept) ``n_permutations`` times from ``seed`` (0: no null)."""
    def flat(v, name):
        v = torch.as_tensor(v).long().cpu().reshape(-1)
        if v.numel() == 0:
            raise ConfigError(f"{name} is empty")
        return v

    tc, tl = flat(train_codes, "train_codes"), flat(train_labels, "train_labels")
    sc, sl = flat(test_codes, "test_codes"), flat(test_labels, "test_labels")
    if tc.shape != tl.shape or sc.shape != sl.shape:
        raise ConfigError("each code needs one label")
    n_codes = int(n_codes)
    if n_codes < 1 or int(max(tc.max(), sc.max())) >= n_codes or int(min(tc.min(), sc.min())) < 0:
        raise ConfigError(f"codes must lie in [0, {n_codes})")
    correct, mapping = _held_out(tc, tl, sc, sl, n_codes)
    null = None
    if n_permutations:
        pooled, n_train = torch.cat([tc, sc]).numpy(), tc.shape[0]

        def shuffled(codes):
            codes = torch.as_tensor(codes)
            return float(_held_out(codes[:n_train], tl, codes[n_train:], sl, n_codes)[0].mean())

        null = permutation_null(pooled, shuffled, n_permutations=n_permutations, level=level,
                                seed=seed)
    return CodeAccuracy(float(correct.mean()), correct.numpy().astype(np.float64), mapping,
                        categorical_accuracy(sc, sl, n_codes), null)
