import math

import pytest
import torch
import torch.nn.functional as F

from latentdyn.errors import ConfigError
from latentdyn.models import VAE, VAEConfig, build_model


def tiny(**kw):
    torch.manual_seed(0)
    return VAE(VAEConfig(input_dim=12, hidden=8, nz=3, **kw))


def test_shapes_and_ranges():
    m = tiny()
    x = torch.rand(5, 12)
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    xm = m.decode(mu)
    assert xm.shape == (5, 12) and float(xm.min()) >= 0 and float(xm.max()) <= 1
    g = torch.Generator().manual_seed(1)
    assert m.sample_latent(x, generator=g).shape == (5, 3)
    s = m.sample_data(mu, generator=g)
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    assert m.elbo(x).shape == (5,)


def test_elbo_matches_hand_computation():
    m = tiny()
    x = torch.rand(4, 12)
    eps = torch.randn(2, 4, 3)
    mu, logvar = m.encode(x)
    rec = 0.0
    for s in range(2):
        z = mu + torch.exp(0.5 * logvar) * eps[s]
        p = m.decode(z)
        rec = rec + (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1) / 2
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)
    torch.testing.assert_close(m.elbo(x, eps=eps), rec - kl, rtol=1e-5, atol=1e-4)
    # the training loss is the same quantity, negated and averaged over the batch
    torch.testing.assert_close(m.loss(x, eps), -(rec - kl).mean(), rtol=1e-5, atol=1e-4)


def test_elbo_is_summed_over_pixels_not_averaged():
    # a decoder that says 0.5 everywhere and an encoder equal to the prior:
    # log p(x) = 784 * log(1/2) exactly, in nats per image.
    m = VAE(VAEConfig(input_dim=784, hidden=4, nz=2))
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    x = (torch.rand(3, 784) > 0.5).float()
    torch.testing.assert_close(m.elbo(x), torch.full((3,), 784 * math.log(0.5)))


def test_iwae_equals_exact_likelihood_when_posterior_is_prior():
    # encoder outputs mu = 0, logvar = 0 (q = prior) and the decoder ignores z:
    # every importance weight equals p(x), so the bound is exact for any k.
    m = tiny()
    with torch.no_grad():
        m.encoder_out.weight.zero_()
        m.encoder_out.bias.zero_()
        m.decoder_out.weight.zero_()
        m.decoder_out.bias.copy_(torch.linspace(-2, 2, 12))
    x = (torch.rand(6, 12) > 0.5).float()
    exact = -F.binary_cross_entropy_with_logits(
        m.decoder_out.bias.expand(6, 12), x, reduction="none"
    ).sum(-1)
    for k in (1, 7, 300):
        torch.testing.assert_close(m.log_likelihood(x, k=k, chunk=64), exact, rtol=1e-5, atol=1e-4)


def test_iwae_bound_tightens_with_k():
    m = tiny()
    x = (torch.rand(50, 12) > 0.5).float()
    g = torch.Generator().manual_seed(0)
    elbo = m.elbo(x, n_samples=2000, generator=g).mean()
    ll1 = m.log_likelihood(x, k=1, generator=g).mean()
    ll500 = m.log_likelihood(x, k=500, generator=g).mean()
    assert abs(float(ll1 - elbo)) < 0.3  # k = 1 is the ELBO itself
    assert float(ll500) > float(elbo) + 0.05


@pytest.mark.parametrize("bad", [{"nz": 0}, {"nz": -3}, {"hidden": 0}, {"activation": "swish9"}])
def test_bad_model_options(bad):
    with pytest.raises(ConfigError):
        VAE(VAEConfig(**bad))


def test_build_model_rejects_unknown():
    with pytest.raises(ConfigError, match="unknown model kind"):
        build_model("transformer")
    with pytest.raises(ConfigError, match="no option"):
        build_model("vae", depth=3)
