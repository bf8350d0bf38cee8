"""The VAE of the variational mutual-information framework (Serdega & Kim 2020, SPEC §2).

Latent: ``n_gauss`` Gaussian units z_g with a N(0, I) prior, plus (optionally) one
``n_cat``-way categorical unit c with a uniform prior. During training c is relaxed with
Gumbel-softmax at a temperature that decays exponentially with the number of training
steps, from ``temp_start`` to the floor ``temp_min`` (reached after ``temp_steps`` steps,
then held; it never resets). At evaluation c is hard: the one-hot of the most likely
category (or a one-hot sample in ``sample_joint``). The categorical KL is to the uniform
prior, KL(q(c|x) ‖ U) = Σ q log q + log K.

The MI regulariser: an auxiliary network Q(c | x̃) sees decoded images x̃ (the
reconstructions of the batch, and with ``q_source="both"`` or ``"prior"`` decodings of
prior samples) and predicts the *chosen codes*: a subset of the Gaussian units (Q gives
a diagonal Gaussian) and/or the categorical unit (Q gives logits). The targets are the
codes the decoder was given: the Gaussian sample, and the category argmax(logits + g) of
the Gumbel draw — an exact sample of q(c|x) whose relaxation the decoder saw. The VAE
minimises

    −E[log p(x|z, c)] + kl_weight · (KL_g + KL_c) + lam · E[−log Q(c | x̃)],

and Q minimises E[−log Q(c | x̃)] on the same decodings with its own optimiser (the
trainer's task holds one Adam per part). I(c; x̃) ≥ H(c) − E[−log Q(c | x̃)], so a small
cross-entropy means the decoder cannot ignore c. Q lives inside the model (``model.q``),
so a run's weights and ``load_run`` carry it.

Protocol (SPEC §4). ``encode(x) -> (mu, logvar)`` of the **Gaussian part only**, so every
analysis (hierarchy, distances, geometry, dynamics) runs on the continuous latent
unchanged. The categorical code is exposed separately: ``encode_categorical(x)`` gives
its logits, ``categorical_probs(x)`` the probabilities. ``decode(z)`` accepts

* z of width ``n_gauss + n_cat``: the last ``n_cat`` entries are the categorical part
  (a one-hot, or probabilities), used as given;
* z of width ``n_gauss``: the categorical part is set to its prior mean, the uniform
  vector 1/K (the plug-in of E[c], as the deterministic dynamics plug in E[z]).

So ``run_dynamics(model, x0)`` works and iterates the Gaussian part with the category
averaged out. To iterate the full latent (the category carried from step to step, as
the VMI VAE actually infers), run the dynamics on :class:`JointLatent` ``(model)``: its
``encode`` returns ``[mu, one-hot of the most likely category]``; split the trajectory
with :meth:`JointLatent.split`.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentdyn.errors import ConfigError
from latentdyn.models.auxiliary import (
    AuxiliaryQ,
    _scale_grad,
    gumbel_softmax,
    image_head,
    image_trunk,
)
from latentdyn.models.codes import CodeSpec, code_names, parse_codes
from latentdyn.models.distributions import (
    LOG_2PI,
    bernoulli_log_prob,
    gaussian_kl,
    gaussian_sample,
    reparameterise,
)
from latentdyn.models.vmi.config import VMIConfig


# ------------------------------------------------------------------------ the model
class VMIVAE(nn.Module):
    """VAE with Gaussian (+ categorical) latents and the auxiliary network ``q``."""

    kind = "vmi"
    config_class = VMIConfig

    def __init__(self, config: VMIConfig | None = None, **kwargs):
        super().__init__()
        self.config = (config or VMIConfig(**kwargs)).validate()
        c = self.config
        self.encoder = image_trunk(c.arch, c.input_dim, c.hidden, c.channels, c.activation)
        self.enc_gauss = nn.Linear(c.hidden, 2 * c.n_gauss)
        self.enc_cat = nn.Linear(c.hidden, c.n_cat) if c.n_cat else None
        self.decoder = image_head(c.arch, c.n_gauss + c.n_cat, c.input_dim, c.hidden,
                                  c.channels, c.activation)
        units, use_cat = parse_codes(c.codes, c.n_gauss, c.n_cat)
        self.code_units: tuple[int, ...] = units
        self.code_cat: bool = use_cat
        self.q = AuxiliaryQ(c.arch, c.input_dim, len(units), c.n_cat if use_cat else 0,
                            c.q_hidden, c.channels, c.activation)
        # training steps taken: drives the temperature schedule; checkpointed with the weights
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))

    # --- shape ----------------------------------------------------------------------
    @property
    def nz(self) -> int:
        """Width of the continuous latent (what ``encode`` returns)."""
        return self.config.n_gauss

    @property
    def n_gauss(self) -> int:
        return self.config.n_gauss

    @property
    def n_cat(self) -> int:
        return self.config.n_cat

    @property
    def chosen_codes(self) -> list[str]:
        return code_names(self.code_units, self.code_cat)

    def code_spec(self) -> CodeSpec:
        """The declared codes (:mod:`latentdyn.models.codes`)."""
        return CodeSpec(self.n_gauss, self.n_cat, tuple(self.chosen_codes))

    def config_dict(self) -> dict:
        return asdict(self.config)

    def vae_parameters(self):
        """Everything but Q (the VAE optimiser's parameters)."""
        return [p for n, p in self.named_parameters() if not n.startswith("q.")]

    # --- temperature ----------------------------------------------------------------
    def temperature_at(self, step: int) -> float:
        """τ(step) = max(temp_min, temp_start · (temp_min / temp_start)^(step / temp_steps))."""
        c = self.config
        frac = min(1.0, max(0, int(step)) / c.temp_steps)
        return max(c.temp_min, c.temp_start * (c.temp_min / c.temp_start) ** frac)

    @property
    def temperature(self) -> float:
        return self.temperature_at(int(self.steps))

    # --- the encode/decode protocol -------------------------------------------------
    def _features(self, x: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        lead = x.shape[:-1]
        return self.encoder(x.reshape(-1, x.shape[-1])), lead

    def encode_joint(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(mu, logvar, categorical logits or None)`` in one pass."""
        h, lead = self._features(x)
        mu, logvar = self.enc_gauss(h).chunk(2, dim=-1)
        logits = self.enc_cat(h).reshape(*lead, -1) if self.enc_cat is not None else None
        return mu.reshape(*lead, -1), logvar.reshape(*lead, -1), logits

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance of the Gaussian units, each ``(..., n_gauss)``."""
        mu, logvar, _ = self.encode_joint(x)
        return mu, logvar

    def encode_categorical(self, x: Tensor) -> Tensor:
        """Logits of q(c | x), ``(..., n_cat)``."""
        if self.enc_cat is None:
            raise ConfigError("this VMI model has no categorical unit (n_cat = 0)")
        return self.encode_joint(x)[2]

    def categorical_probs(self, x: Tensor) -> Tensor:
        """q(c | x), ``(..., n_cat)``."""
        return F.softmax(self.encode_categorical(x), dim=-1)

    def categorical_code(self, x: Tensor) -> Tensor:
        """The most likely category of each image, ``(...,)`` int64."""
        return self.encode_categorical(x).argmax(-1)

    def full_latent(self, z: Tensor) -> Tensor:
        """``z`` with the categorical part appended at its prior mean 1/K when absent."""
        c = self.config
        if z.shape[-1] == c.n_gauss + c.n_cat:
            return z
        if z.shape[-1] == c.n_gauss:
            if c.n_cat == 0:
                return z
            fill = z.new_full((*z.shape[:-1], c.n_cat), 1.0 / c.n_cat)
            return torch.cat([z, fill], dim=-1)
        raise ConfigError(f"decode needs z of width {c.n_gauss} (Gaussian part) or "
                          f"{c.n_gauss + c.n_cat} (Gaussian + categorical), got {z.shape[-1]}")

    def decode_logits(self, z: Tensor) -> Tensor:
        z = self.full_latent(z)
        lead = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).reshape(*lead, -1)

    def decode(self, z: Tensor) -> Tensor:
        """Pixel means E_p[x | z] in [0, 1] (see the module doc for the width of z)."""
        return torch.sigmoid(self.decode_logits(z))

    def sample_latent(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """z_g ~ q(z_g | x), the Gaussian part."""
        return gaussian_sample(*self.encode(x), generator)

    def sample_joint(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """[z_g, one-hot c] with z_g ~ q(z_g | x) and c ~ q(c | x)."""
        mu, logvar, logits = self.encode_joint(x)
        z = gaussian_sample(mu, logvar, generator)
        if logits is None:
            return z
        probs = F.softmax(logits, -1).reshape(-1, self.n_cat)
        idx = torch.multinomial(probs, 1, generator=generator).reshape(logits.shape[:-1])
        return torch.cat([z, F.one_hot(idx, self.n_cat).to(z.dtype)], dim=-1)

    def sample_data(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """x ~ p(x | z): binary pixels (Bernoulli) or clipped Gaussian noise around the mean."""
        mean = self.decode(z)
        if self.config.likelihood == "bernoulli":
            return torch.bernoulli(mean, generator=generator)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return (mean + self.config.obs_std * eps).clamp(0.0, 1.0)

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` draws of [z_g ~ N(0, I), c ~ uniform one-hot], width n_gauss + n_cat."""
        device = self.enc_gauss.weight.device
        z = torch.randn((n, self.n_gauss), generator=generator, device=device)
        if not self.n_cat:
            return z
        idx = torch.randint(0, self.n_cat, (n,), generator=generator, device=device)
        return torch.cat([z, F.one_hot(idx, self.n_cat).to(z.dtype)], dim=-1)

    # --- objectives -----------------------------------------------------------------
    def log_likelihood_terms(self, logits: Tensor, x: Tensor) -> Tensor:
        """log p(x | decoder output), summed over pixels."""
        if self.config.likelihood == "bernoulli":
            return bernoulli_log_prob(logits, x)
        s = self.config.obs_std
        mean = torch.sigmoid(logits)
        return -0.5 * (((x - mean) / s).pow(2) + LOG_2PI + 2 * math.log(s)).sum(-1)

    @staticmethod
    def kl_gauss(mu: Tensor, logvar: Tensor) -> Tensor:
        return gaussian_kl(mu, logvar)

    def kl_cat(self, logits: Tensor | None) -> Tensor | None:
        """KL(q(c | x) ‖ uniform) = Σ q log q + log K, per image."""
        if logits is None:
            return None
        logq = F.log_softmax(logits, -1)
        return (logq.exp() * logq).sum(-1) + math.log(self.n_cat)

    def training_terms(self, x: Tensor, generator: torch.Generator | None = None) -> dict:
        """One training forward pass (model in train mode): every term, batch-averaged.

        Returns ``vae_loss`` (the VAE objective: −rec + kl_weight·KL + lam·CE),
        ``backward`` (a scalar whose gradient is the VAE objective's for the VAE's
        parameters and the plain CE's for Q's), and the detached parts ``rec``, ``kl_g``,
        ``kl_c``, ``ce_gauss`` (per chosen unit, (k,)), ``ce_cat`` and ``temperature``.
        """
        c = self.config
        B = x.shape[0]
        L = c.n_samples
        tau = self.temperature
        mu, logvar, logits = self.encode_joint(x)
        eps = torch.randn((L, *mu.shape), generator=generator, device=x.device, dtype=mu.dtype)
        zg = reparameterise(mu, logvar, eps)  # (L, B, n_gauss)
        parts = [zg]
        y = None
        if logits is not None:
            y = gumbel_softmax(logits.expand(L, *logits.shape), tau, generator)
            parts.append(y)
        z = torch.cat(parts, -1)
        dec = self.decode_logits(z)  # (L, B, D)
        rec = self.log_likelihood_terms(dec, x).mean(0)  # (B,)
        kl_g = self.kl_gauss(mu, logvar)
        kl_c = self.kl_cat(logits)
        kl = kl_g + (kl_c if kl_c is not None else 0.0)
        nelbo_w = (-rec + c.kl_weight * kl).mean()

        # the MI term on decoded images; targets are the codes the decoder was given
        decodings, targets_g, targets_c = [], [], []
        if c.q_source in ("posterior", "both"):
            decodings.append(torch.sigmoid(dec).reshape(L * B, -1))
            targets_g.append(zg.reshape(L * B, -1))
            targets_c.append(y.reshape(L * B, -1) if y is not None else None)
        if c.q_source in ("prior", "both"):
            zp = torch.randn((B, c.n_gauss), generator=generator, device=x.device, dtype=mu.dtype)
            pp = [zp]
            yp = None
            if c.n_cat:
                yp = gumbel_softmax(torch.zeros((B, c.n_cat), device=x.device, dtype=mu.dtype),
                                    tau, generator)
                pp.append(yp)
            decodings.append(self.decode(torch.cat(pp, -1)))
            targets_g.append(zp)
            targets_c.append(yp)
        xt = torch.cat(decodings, 0)
        units = list(self.code_units)
        tg = torch.cat(targets_g, 0)[:, units].detach() if units else None
        tc = None
        if self.code_cat:
            # the category drawn is argmax(logits + g), an exact sample of q(c|x) (Gumbel-max);
            # the decoder saw its relaxation y, Q must name the category itself
            y_all = torch.cat(targets_c, 0).detach()
            tc = F.one_hot(y_all.argmax(-1), c.n_cat).to(y_all.dtype)
        # Q gets the full gradient of its CE; the VAE gets lam times it (through x̃ only)
        nll_g, nll_c = self.q.nll(_scale_grad(xt, c.lam), tg, tc)
        ce_g = nll_g.mean(0) if nll_g is not None else x.new_zeros(0)
        ce_c = nll_c.mean() if nll_c is not None else None
        ce = ce_g.sum() + (ce_c if ce_c is not None else 0.0)
        return {
            "vae_loss": (nelbo_w + c.lam * ce).detach(),
            "backward": nelbo_w + ce,
            "rec": rec.mean().detach(),
            "kl_g": kl_g.mean().detach(),
            "kl_c": kl_c.mean().detach() if kl_c is not None else None,
            "ce_gauss": ce_g.detach(),
            "ce_cat": ce_c.detach() if ce_c is not None else None,
            "temperature": tau,
        }

    @torch.no_grad()
    def elbo(self, x: Tensor, n_samples: int = 1, generator: torch.Generator | None = None,
             return_terms: bool = False):
        """Per-image ELBO in nats (summed over pixels), ``(B,)``, with hard categories.

        The reconstruction term is the exact expectation over the K categories under
        q(c | x) (K decodes per Gaussian sample), averaged over ``n_samples`` Gaussian
        samples; both KL terms are analytic (kl_weight is not applied: this is the ELBO).
        ``return_terms`` also returns ``(rec, kl_g, kl_c)``.
        """
        mu, logvar, logits = self.encode_joint(x)
        eps = torch.randn((n_samples, *mu.shape), generator=generator, device=x.device,
                          dtype=mu.dtype)
        zg = reparameterise(mu, logvar, eps)  # (L, B, g)
        if logits is None:
            rec = self.log_likelihood_terms(self.decode_logits(zg), x).mean(0)
            kl_c = torch.zeros_like(rec)
        else:
            K = self.n_cat
            q = F.softmax(logits, -1)  # (B, K)
            eye = torch.eye(K, device=x.device, dtype=mu.dtype)
            zz = torch.cat([zg[:, :, None, :].expand(-1, -1, K, -1),
                            eye.expand(*zg.shape[:2], K, K)], -1)  # (L, B, K, g + K)
            ll = self.log_likelihood_terms(self.decode_logits(zz), x[None, :, None, :])
            rec = (ll * q).sum(-1).mean(0)
            kl_c = self.kl_cat(logits)
        kl_g = self.kl_gauss(mu, logvar)
        out = rec - kl_g - kl_c
        return (out, (rec, kl_g, kl_c)) if return_terms else out
