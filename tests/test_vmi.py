import json
import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from latentdyn.cli import main
from latentdyn.dynamics import run_dynamics
from latentdyn.errors import ConfigError
from latentdyn.models.codes import format_codes, parse_codes
from latentdyn.models.vmi import JointLatent
from latentdyn.models.vmi import VMIConfig, VMIVAE
from latentdyn.train.runs import load_run
from latentdyn.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


D = 64  # 8x8 images: the conv nets need a side divisible by 4


def tiny(**kw) -> VMIVAE:
    torch.manual_seed(0)
    base = dict(input_dim=D, n_gauss=3, n_cat=4, arch="fc", hidden=16, channels=4, q_hidden=16)
    return VMIVAE(VMIConfig(**{**base, **kw}))


@pytest.mark.parametrize("arch", ["fc", "conv"])
def test_protocol_shapes(arch):
    m = tiny(arch=arch).eval()
    x = torch.rand(5, D)
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    assert m.encode_categorical(x).shape == (5, 4)
    assert torch.allclose(m.categorical_probs(x).sum(-1), torch.ones(5))
    full = m.sample_prior(5, torch.Generator().manual_seed(0))
    assert full.shape == (5, 7) and torch.equal(full[:, 3:].sum(-1), torch.ones(5))
    xm = m.decode(full)
    xm = xm.detach()
    assert xm.shape == (5, D) and 0 <= float(xm.min()) and float(xm.max()) <= 1
    # the Gaussian part alone decodes with the categorical part at its prior mean 1/K
    uniform = torch.cat([mu, torch.full((5, 4), 0.25)], -1)
    assert torch.allclose(m.decode(mu), m.decode(uniform))
    with pytest.raises(ConfigError, match="width"):
        m.decode(torch.zeros(2, 5))
    g = torch.Generator().manual_seed(1)
    assert m.sample_latent(x, g).shape == (5, 3)
    assert set(m.sample_data(mu, g).unique().tolist()) <= {0.0, 1.0}
    assert m.elbo(x, generator=g).shape == (5,)
    assert m.chosen_codes == ["cat"] and m.config.codes == "cat"


def test_gaussian_only_model_and_gaussian_likelihood():
    m = tiny(n_cat=0, likelihood="gaussian", obs_std=0.2).eval()
    assert m.chosen_codes == ["z0", "z1"]  # 'auto' without a categorical unit
    x = torch.rand(4, D)
    mu, _ = m.encode(x)
    assert m.decode(mu).shape == (4, D)
    s = m.sample_data(mu, torch.Generator().manual_seed(0)).detach()
    assert float(s.min()) >= 0 and float(s.max()) <= 1 and len(s.unique()) > 2
    terms = m.train().training_terms(x, torch.Generator().manual_seed(0))
    assert terms["kl_c"] is None and terms["ce_cat"] is None and terms["ce_gauss"].shape == (2,)
    with pytest.raises(ConfigError, match="no categorical"):
        m.encode_categorical(x)
    # no chosen code: a plain VAE objective, Q idle
    plain = tiny(codes="none").train()
    terms = plain.training_terms(x, torch.Generator().manual_seed(0))
    terms["backward"].backward()
    assert plain.chosen_codes == [] and plain.q.head is None


def test_parse_codes():
    assert parse_codes("cat,0,1", 16, 10) == ((0, 1), True)
    assert parse_codes([1, "0", "cat"], 16, 10) == ((0, 1), True)
    assert parse_codes(3, 16, 0) == ((3,), False)
    assert parse_codes("2-4", 16, 0) == ((2, 3, 4), False)
    assert parse_codes("auto", 16, 10) == ((), True)
    assert parse_codes("auto", 16, 0) == ((0, 1), False)
    assert parse_codes("all", 3, 4) == ((0, 1, 2), True)
    assert format_codes((0, 1), True) == "0,1,cat" and format_codes((), False) == "none"
    for bad, msg in (("cat", "has none"), ("16", "outside"), ("x", "bad code"), (True, "latent")):
        with pytest.raises(ConfigError, match=msg):
            parse_codes(bad, 16, 0)


def test_config_validation():
    with pytest.raises(ConfigError, match="side divisible by 4"):
        VMIConfig(input_dim=36, arch="conv").validate()
    with pytest.raises(ConfigError, match="n_cat"):
        VMIConfig(n_cat=1).validate()
    with pytest.raises(ConfigError, match="temp_min"):
        VMIConfig(temp_start=0.5, temp_min=0.8).validate()
    with pytest.raises(ConfigError, match="lam"):
        VMIConfig(lam=-1).validate()


def test_temperature_decays_to_its_floor_and_never_resets():
    m = tiny(temp_start=1.0, temp_min=0.5, temp_steps=10)
    taus = [m.temperature_at(s) for s in range(30)]
    assert taus[0] == 1.0 and taus[10] == pytest.approx(0.5) and taus[29] == 0.5
    assert all(a >= b for a, b in zip(taus, taus[1:]))  # monotone: no resets
    assert taus[5] == pytest.approx(math.sqrt(0.5))  # exponential decay


def test_categorical_kl_to_uniform():
    m = tiny()
    assert float(m.kl_cat(torch.zeros(1, 4))) == pytest.approx(0.0, abs=1e-6)
    assert float(m.kl_cat(torch.tensor([[50.0, 0, 0, 0]]))) == pytest.approx(math.log(4), abs=1e-4)


def test_elbo_is_exact_expectation_over_categories():
    m = tiny().eval()
    x = (torch.rand(3, D) > 0.5).float()
    g = torch.Generator().manual_seed(0)
    got = m.elbo(x, generator=g)
    eps = torch.randn((1, 3, 3), generator=torch.Generator().manual_seed(0))
    mu, logvar, logits = m.encode_joint(x)
    z = mu + torch.exp(0.5 * logvar) * eps[0]
    q = F.softmax(logits, -1)
    rec = torch.zeros(3)
    for k in range(4):
        p = m.decode(torch.cat([z, F.one_hot(torch.full((3,), k), 4).float()], -1))
        ll = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1)
        rec += q[:, k] * ll
    kl_g = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)
    kl_c = (q * torch.log(q * 4)).sum(-1)
    assert torch.allclose(got, rec - kl_g - kl_c, atol=1e-4)


def _grads(m, lam, source="posterior"):
    m.config.lam = lam
    m.config.q_source = source
    m.zero_grad()
    x = torch.rand((6, D), generator=torch.Generator().manual_seed(3))
    terms = m.training_terms(x, torch.Generator().manual_seed(0))
    terms["backward"].backward()
    return {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}, terms


def test_mi_term_gradients():
    m = tiny(codes="cat,0").train()
    g0, t0 = _grads(m, 0.0)
    g1, t1 = _grads(m, 2.0)
    # Q gets the plain cross-entropy gradient whatever lambda is
    for n in g0:
        if n.startswith("q."):
            assert torch.allclose(g0[n], g1[n], atol=1e-6), n
    # with lambda = 0 the VAE sees no gradient from the MI term: the encoder's categorical
    # head then only follows the ELBO; with lambda > 0 the decoder's gradient changes
    assert not torch.allclose(g0["decoder.0.weight"], g1["decoder.0.weight"])
    ce = float(t1["ce_gauss"].sum() + t1["ce_cat"])
    assert float(t1["vae_loss"]) == pytest.approx(float(t0["vae_loss"]) + 2.0 * ce, rel=1e-5)
    g2, _ = _grads(m, 1.0, source="both")
    assert all(torch.isfinite(v).all() for v in g2.values())


def test_dynamics_run_on_the_model_and_its_joint_latent():
    m = tiny().eval()
    x = torch.rand(6, D)
    tr = run_dynamics(m, x, steps=3)
    assert tr.z.shape == (6, 4, 3)
    view = JointLatent(m)
    tr = run_dynamics(view, x, steps=3)
    assert tr.z.shape == (6, 4, 7)
    zg, cat = view.split(tr.z)
    assert zg.shape == (6, 4, 3) and cat.shape == (6, 4)
    assert torch.equal(cat[:, 0], m.categorical_code(x))
    assert torch.allclose(zg[:, 0], m.encode(x)[0])
    tr = run_dynamics(view, x, steps=2, mode="sampling", generator=0)
    assert torch.equal(tr.z[:, :, 3:].sum(-1), torch.ones(6, 3))
    soft = JointLatent(m, categorical="soft").encode(x)[:, 3:]
    assert torch.allclose(soft, m.categorical_probs(x))


DATA = "synthetic:k=4,m=30,side=8,test=10"
OPTS = {"n_cat": 4, "arch": "conv", "channels": 4, "q_hidden": 16, "lam": 1.0, "codes": "cat,0",
        "temp_steps": 10, "q_source": "both"}


def cfg(**kw):
    base = dict(model="vmi", dataset=DATA, nz=3, hidden=16, epochs=3, batch_size=16,
                device="cpu", lr=1e-2, model_options=dict(OPTS))
    return TrainConfig(**{**base, **kw})


def test_train_resume_and_load(tmp_path):
    full = train(cfg(), tmp_path / "full", progress=False)
    part = tmp_path / "part"
    train(cfg(), part, progress=False, stop_after_epoch=1)
    train(cfg(), part, progress=False, resume=True)
    wa, wb = load_file(str(full / "model.safetensors")), load_file(str(part / "model.safetensors"))
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert int(wa["steps"]) == 3 * 8 and any(k.startswith("q.") for k in wa)
    header = (full / "metrics.csv").read_text().splitlines()[0].split(",")
    for col in ("train_loss", "train_elbo", "train_ce_z0", "train_ce_cat", "test_elbo",
                "test_mi_z0", "test_mi_cat", "test_cat_acc", "temperature"):
        assert col in header
    model, config = load_run(full)
    assert isinstance(model, VMIVAE) and not model.training
    assert model.temperature == 0.5 and model.chosen_codes == ["z0", "cat"]
    assert model.config_dict()["input_dim"] == D
    # the checkpoint holds both optimisers
    from latentdyn.io import load_tensors

    _, meta = load_tensors(full / "checkpoint.safetensors")
    assert set(meta["optimizers"]) == {"vae", "q"}


def test_option_errors(tmp_path):
    with pytest.raises(ConfigError, match="--nz"):
        train(cfg(model_options={"n_gauss": 4}), tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="no option"):
        train(cfg(model_options={"bogus": 1}), tmp_path / "b", progress=False)
    with pytest.raises(ConfigError, match="q_lr"):
        train(cfg(model_options={"q_lr": -1}), tmp_path / "c", progress=False)


def test_cli_train_with_options(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--model", "vmi", "--dataset", DATA, "--nz", "2", "--hidden", "8",
               "--epochs", "1", "--batch-size", "40", "--device", "cpu", "--quiet",
               "--option", "arch=fc", "--option", "lam=0.5", "--option", "codes=cat,1",
               "--option", "q_lr=0.002", "--option", "n_cat=3", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["model_options"]["codes"] == "cat,1" and config["model_options"]["lam"] == 0.5
    model, _ = load_run(out)
    assert model.chosen_codes == ["z1", "cat"] and model.n_cat == 3
