"""A stack of same-shape VAEs computed as one: the batched model of the ensembles.

:class:`VAEEnsemble` stacks the parameters of M models of the same shape (same input
size, hidden width, Nz, activation) into one tensor per layer, ``(M, in, out)`` for
weights and ``(M, 1, out)`` for biases, and runs the paper's loss for all of them with
``torch.baddbmm``: one batched matrix product per layer instead of M. Each member's
``nn.Module`` keeps working: its parameters become views of its slice of the stacks, so
``state_dict()`` always shows the current weights and checkpoints are written exactly as
``train()`` writes them.

Adam is elementwise, so one Adam update of a stacked tensor equals independent updates
of its slices when they share the learning rate. Members are ordered by learning rate and
each run of equal rates is updated with one call of PyTorch's own functional Adam
(``torch.optim.adam.adam``, with the flags of the member's ``make_adam`` optimizer:
the fused kernel where the solo trainer uses it), so the update is the solo trainer's
update, not a re-implementation of it.

Why explicit ``baddbmm`` rather than ``torch.func.vmap(functional_call(...))``: on CPU,
forward + backward of 8 paper-sized models (784-1024-100, batch 100, L = 2, one thread)
took 355 ms with the explicit products, 525 ms under vmap (whose batching rules transpose
and copy the weights) and 429 ms one model after another. Weights are stored ``(M, in,
out)`` so that no gradient needs a transposed copy.

Equivalence with ``train()``: on CPU the batched products run the same GEMM kernel per
slice as ``nn.Linear`` does, and a member's gradients are bitwise equal to the solo
model's; only the reported loss values can differ in the last bits (another summation
order). :func:`latentdyn.train.train_ensemble` trains a stack into run folders.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models.distributions import (
    bernoulli_log_prob,
    gaussian_kl,
    posterior_log_prob,
    reparameterise,
    standard_normal_log_prob,
)
from latentdyn.models.vae.network import ACTIVATIONS, VAE

LAYERS = ("encoder.0", "encoder_out", "decoder.0", "decoder_out")

def _scalar_dtype(fused: bool) -> torch.dtype:
    if fused:
        return torch.float32
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class VAEEnsemble:
    """M same-shape VAEs as stacked tensors; optionally with their Adam optimizers.

    ``models`` are :class:`~latentdyn.models.vae.VAE` modules; they are re-pointed at
    slices of the stacks (and keep seeing every update). ``optimizers`` (one
    ``torch.optim.Adam`` per model, e.g. ``VAETask.optimizers["adam"]``) and ``lrs`` (the
    base learning rate of each member) are needed only for :meth:`train_step`.
    """

    def __init__(self, models: list[VAE], optimizers: list | None = None,
                 lrs: list[float] | None = None):
        if not models:
            raise ConfigError("an ensemble needs at least one model")
        c0 = models[0].config
        for m in models[1:]:
            if m.config != c0:
                raise ConfigError(f"ensemble members differ in shape ({m.config} vs {c0})")
        self.config = c0
        self.models = list(models)
        self.act = ACTIVATIONS[c0.activation]()
        device = models[0].decoder_out.weight.device
        self.device = device
        with torch.no_grad():
            self.weights = [torch.stack([m.get_parameter(f"{n}.weight").detach().t()
                                         for m in models]).contiguous().requires_grad_()
                            for n in LAYERS]
            self.biases = [torch.stack([m.get_parameter(f"{n}.bias").detach()
                                        for m in models]).unsqueeze(1).contiguous()
                           .requires_grad_() for n in LAYERS]
        self.optimizers = list(optimizers) if optimizers is not None else None
        if self.optimizers is not None:
            if lrs is None or len(lrs) != len(models) or len(self.optimizers) != len(models):
                raise ConfigError("an ensemble with optimizers needs one optimizer and one "
                                  "learning rate per model")
            self._init_adam(list(lrs))
        self._bind()

    @property
    def size(self) -> int:
        return len(self.models)

    def params(self) -> list[Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    # --- member views ---------------------------------------------------------------
    def _member_params(self, i: int) -> list:
        m = self.models[i]
        return [p for n in LAYERS for p in (m.get_parameter(f"{n}.weight"),
                                             m.get_parameter(f"{n}.bias"))]

    def _bind(self) -> None:
        """Point every member's parameters (and Adam state) at its slices of the stacks."""
        for i in range(self.size):
            for j, p in enumerate(self._member_params(i)):
                stack = self.params()[j]
                p.data = stack.data[i].t() if j % 2 == 0 else stack.data[i, 0]
                if self.optimizers is not None:
                    view = (lambda t: t[i].t()) if j % 2 == 0 else (lambda t: t[i, 0])
                    self.optimizers[i].state[p] = {
                        "step": self._steps[self._group_of[i]][j],
                        "exp_avg": view(self._exp_avg[j]),
                        "exp_avg_sq": view(self._exp_avg_sq[j]),
                    }

    # --- Adam -----------------------------------------------------------------------
    def _init_adam(self, lrs: list[float]) -> None:
        groups = [o.param_groups for o in self.optimizers]
        if any(len(g) != 1 for g in groups):
            raise ConfigError("ensemble members need one Adam parameter group each")
        g0 = dict(groups[0][0])
        flags = ("betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach",
                 "capturable", "differentiable", "fused", "decoupled_weight_decay")
        for g in groups[1:]:
            if any(g[0].get(k) != g0.get(k) for k in flags):
                raise ConfigError("ensemble members need Adam optimizers with the same settings")
        if g0.get("amsgrad"):
            raise ConfigError("ensembles do not support AMSGrad")
        self._flags = {k: g0.get(k) for k in flags}
        self._base_lrs = [float(lr) for lr in lrs]
        # runs of equal base learning rate share one Adam call
        self._runs: list[tuple[int, int]] = []
        start = 0
        for i in range(1, self.size + 1):
            if i == self.size or self._base_lrs[i] != self._base_lrs[start]:
                self._runs.append((start, i))
                start = i
        self._group_of = [g for g, (a, b) in enumerate(self._runs) for _ in range(a, b)]
        self._lrs = [self._base_lrs[a] for a, _ in self._runs]
        # state: restored from the members' optimizers when they have any, else fresh
        params0 = self._member_params(0)
        restored = [self.optimizers[i].state.get(p) for i in range(self.size)
                    for p in self._member_params(i)]
        if all(s for s in restored):
            def stacked(key: str, j: int) -> Tensor:
                parts = []
                for i in range(self.size):
                    t = self.optimizers[i].state[self._member_params(i)[j]][key]
                    parts.append(t.t() if j % 2 == 0 else t.unsqueeze(0))
                return torch.stack(parts).to(self.device).contiguous()

            self._exp_avg = [stacked("exp_avg", j) for j in range(len(params0))]
            self._exp_avg_sq = [stacked("exp_avg_sq", j) for j in range(len(params0))]
            self._steps = []
            for a, b in self._runs:
                steps = []
                for j in range(len(params0)):
                    values = {float(self.optimizers[i].state[self._member_params(i)[j]]["step"])
                              for i in range(a, b)}
                    if len(values) != 1:
                        raise CheckpointError("ensemble members are at different Adam steps")
                    steps.append(self.optimizers[a].state[self._member_params(a)[j]]["step"]
                                 .detach().clone())
                self._steps.append(steps)
        elif any(s for s in restored):
            raise CheckpointError("some ensemble members have optimizer state and others not")
        else:
            fused = bool(self._flags.get("fused"))
            on_device = fused or bool(self._flags.get("capturable"))
            self._exp_avg = [torch.zeros_like(p) for p in self.params()]
            self._exp_avg_sq = [torch.zeros_like(p) for p in self.params()]
            self._steps = [[torch.zeros((), dtype=_scalar_dtype(fused),
                                        device=self.device if on_device else "cpu")
                            for _ in params0] for _ in self._runs]

    def set_lrs(self, lrs: list[float]) -> None:
        """This epoch's learning rate of every member (equal within a run of equal base
        rates); also written into the members' optimizers, as ``train()`` does."""
        for g, (a, b) in enumerate(self._runs):
            if any(lrs[i] != lrs[a] for i in range(a, b)):
                raise ConfigError("members with one base learning rate need one learning rate")
            self._lrs[g] = float(lrs[a])
        for opt, lr in zip(self.optimizers, lrs):
            for group in opt.param_groups:
                group["lr"] = lr

    @torch.no_grad()
    def _adam_step(self) -> None:
        from torch.optim.adam import adam

        f = self._flags
        beta1, beta2 = f["betas"]
        options = dict(foreach=f["foreach"], capturable=bool(f["capturable"]),
                       differentiable=False, fused=f["fused"], grad_scale=None, found_inf=None,
                       has_complex=False, amsgrad=False, beta1=beta1, beta2=beta2,
                       weight_decay=f["weight_decay"], eps=f["eps"],
                       maximize=bool(f["maximize"]))
        if f.get("decoupled_weight_decay") is not None:  # torch >= 2.6
            options["decoupled_weight_decay"] = bool(f["decoupled_weight_decay"])
        for g, (a, b) in enumerate(self._runs):
            adam([p.data[a:b] for p in self.params()], [p.grad[a:b] for p in self.params()],
                 [t[a:b] for t in self._exp_avg], [t[a:b] for t in self._exp_avg_sq], [],
                 self._steps[g], lr=self._lrs[g], **options)

    def train_step(self, x: Tensor, eps: Tensor) -> Tensor:
        """One Adam step of every member on its own batch: ``x`` (M, B, D), ``eps``
        (M, L, B, nz); returns the detached losses (M,) (negative ELBO per image)."""
        for p in self.params():
            p.grad = None
        loss = self.loss(x, eps)
        loss.sum().backward()  # members share no parameter: each gets its own gradient
        self._adam_step()
        return loss.detach()

    def keep(self, keep: list[int]) -> None:
        """Drop every member not in ``keep`` (e.g. one whose loss diverged)."""
        idx = torch.tensor(keep, dtype=torch.long, device=self.device)
        with torch.no_grad():
            self.weights = [w.detach()[idx].contiguous().requires_grad_() for w in self.weights]
            self.biases = [b.detach()[idx].contiguous().requires_grad_() for b in self.biases]
        self.models = [self.models[i] for i in keep]
        if self.optimizers is not None:
            old_steps, old_group = self._steps, self._group_of
            self._exp_avg = [t[idx].contiguous() for t in self._exp_avg]
            self._exp_avg_sq = [t[idx].contiguous() for t in self._exp_avg_sq]
            self.optimizers = [self.optimizers[i] for i in keep]
            lrs = [self._lrs[old_group[i]] for i in keep]
            base = [self._base_lrs[i] for i in keep]
            self._base_lrs = base
            self._runs, start = [], 0
            for i in range(1, len(keep) + 1):
                if i == len(keep) or base[i] != base[start]:
                    self._runs.append((start, i))
                    start = i
            self._group_of = [g for g, (a, b) in enumerate(self._runs) for _ in range(a, b)]
            self._steps = [[s.clone() for s in old_steps[old_group[keep[a]]]]
                           for a, _ in self._runs]
            self._lrs = [lrs[a] for a, _ in self._runs]
        self._bind()

    # --- the model, batched -----------------------------------------------------------
    def _linear(self, j: int, x: Tensor) -> Tensor:
        if x.dim() == 2:  # one input shared by every member
            x = x.unsqueeze(0).expand(self.size, *x.shape)
        return torch.baddbmm(self.biases[j], x, self.weights[j])

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(M, B, nz) posterior means and log-variances; ``x`` is (B, D) or (M, B, D)."""
        h = self.act(self._linear(0, x))
        mu, logvar = self._linear(1, h).chunk(2, dim=-1)
        return mu, logvar

    def decode_logits(self, z: Tensor) -> Tensor:
        """Bernoulli logits for ``z`` (M, ..., nz) -> (M, ..., D)."""
        lead = z.shape[1:-1]
        flat = z.reshape(self.size, -1, z.shape[-1])
        out = self._linear(3, self.act(self._linear(2, flat)))
        return out.view(self.size, *lead, out.shape[-1])

    def loss(self, x: Tensor, eps: Tensor) -> Tensor:
        """Each member's ``VAE.loss`` (negative ELBO averaged over the batch), (M,)."""
        mu, logvar = self.encode(x)
        z = reparameterise(mu.unsqueeze(1), logvar.unsqueeze(1), eps)  # (M, L, B, nz)
        logits = self.decode_logits(z)  # (M, L, B, D)
        L, B = eps.shape[1], eps.shape[2]
        rec = (F.softplus(logits).sum((1, 2, 3)) - (x * logits.sum(1)).sum((1, 2))) / (L * B)
        return rec + gaussian_kl(mu, logvar, (1, 2)) / B

    @torch.no_grad()
    def elbo(self, x: Tensor, eps: Tensor) -> Tensor:
        """Per-image ELBO (M, B) of shared images ``x`` (B, D) with ``eps`` (M, L, B, nz)."""
        mu, logvar = self.encode(x)
        logits = self.decode_logits(reparameterise(mu.unsqueeze(1), logvar.unsqueeze(1), eps))
        return bernoulli_log_prob(logits, x).mean(1) - gaussian_kl(mu, logvar)

    @torch.no_grad()
    def evaluate_elbo(self, x: Tensor, generators: list, chunk: int = 2000) -> list[float]:
        """Mean test ELBO of each member, with the same chunks and noise draws as
        ``VAETask.evaluate`` (so equal to it up to float rounding)."""
        L, nz = self.config.n_samples, self.config.nz
        totals = [0.0] * self.size
        for start in range(0, x.shape[0], chunk):
            xc = x[start:start + chunk]
            eps = torch.stack([torch.randn((L, xc.shape[0], nz), generator=g, device=x.device)
                               for g in generators])
            for i, v in enumerate(self.elbo(xc, eps).sum(1).tolist()):
                totals[i] += v
        return [t / max(1, x.shape[0]) for t in totals]

    @torch.no_grad()
    def latent_means(self, x: Tensor, chunk: int = 2000) -> Tensor:
        """E_q[z | x] of every member for shared ``x`` (N, D): (M, N, nz), on x's device."""
        return torch.cat([self.encode(x[s:s + chunk])[0] for s in range(0, x.shape[0], chunk)],
                         dim=1)

    @torch.no_grad()
    def log_likelihood(self, x: Tensor, generators: list, k: int, chunk: int = 50,
                       batch: int = 100) -> Tensor:
        """Importance-weighted log p(x) (IWAE, ``k`` samples) per member and image,
        (M, N) nats. Images go ``batch`` at a time and samples ``chunk`` at a time, each
        member drawing from its own generator, so a member's estimate does not depend on
        the ensemble it is in (it equals ``VAE.log_likelihood(x[block], k, chunk,
        generator)`` block by block)."""
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        nz = self.config.nz
        out = []
        for start in range(0, x.shape[0], batch):
            xb = x[start:start + batch]
            mu, logvar = self.encode(xb)  # (M, B, nz)
            std = torch.exp(0.5 * logvar)
            total = None
            for s in range(0, k, chunk):
                n = min(chunk, k - s)
                eps = torch.stack([torch.randn((n, xb.shape[0], nz), generator=g,
                                               device=x.device) for g in generators])
                z = mu.unsqueeze(1) + std.unsqueeze(1) * eps  # (M, n, B, nz)
                logits = self.decode_logits(z)
                log_px_z = bernoulli_log_prob(logits, xb)
                log_pz = standard_normal_log_prob(z)
                log_qz = posterior_log_prob(eps, logvar.unsqueeze(1))
                lw = torch.logsumexp(log_px_z + log_pz - log_qz, dim=1)
                total = lw if total is None else torch.logaddexp(total, lw)
            out.append(total - math.log(k))
        return torch.cat(out, dim=1)
