"""Model families: one registry line makes a family trainable and loadable, and loading
a run builds only its network (no task, no optimizer, no input run)."""

import shutil
import textwrap

import pytest
import torch

import latentdyn
from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models import build_model
from latentdyn.models.registry import FAMILIES, family, kinds
from latentdyn.train import TrainConfig, make_task, train
from latentdyn.train.runs import load_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "synthetic:k=3,m=12,side=8,test=6"
SMALL = dict(dataset=DATA, epochs=1, batch_size=12, device="cpu", lr_factors=[1.0],
             lr_milestones=[])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny finished run of every built-in family."""
    root = tmp_path_factory.mktemp("families")
    train(TrainConfig(model="vae", nz=3, hidden=8, **SMALL), root / "vae", progress=False)
    train(TrainConfig(model="vmi", nz=3, hidden=8, model_options={
        "arch": "fc", "n_cat": 3, "q_hidden": 8}, **SMALL), root / "vmi", progress=False)
    train(TrainConfig(model="classifier", model_options={
        "conv1": 2, "conv2": 2, "dense": 4, "num_classes": 3}, **SMALL), root / "classifier",
        progress=False)
    gan_opts = {"g_width": 8, "d_width": 4, "grid": 4, "diversity_samples": 8}
    train(TrainConfig(model="gan", nz=3, model_options={
        **gan_opts, "classifier": str(root / "classifier")}, **SMALL), root / "gan",
        progress=False)
    train(TrainConfig(model="gan-encoder", nz=3, model_options={
        "gan": str(root / "gan"), "classifier": str(root / "classifier"), "g_width": 8,
        "e_width": 2, "e_hidden": 4}, **SMALL), root / "gan-encoder", progress=False)
    return root


def test_every_built_in_family_is_registered_once():
    assert kinds() == ["vae", "vmi", "gan", "gan-encoder", "classifier"]
    for kind in kinds():
        fam = family(kind)
        assert fam.kind == kind and fam.network.config_class
    with pytest.raises(ConfigError, match="unknown model kind 'nope'; choose from vae, vmi"):
        family("nope")


def test_loading_a_run_constructs_no_optimizer(runs, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("an optimizer was constructed")

    monkeypatch.setattr(torch.optim.Adam, "__init__", refuse)
    for kind in kinds():
        model, config = load_run(runs / kind)
        assert config.model == kind and isinstance(model, family(kind).network)
        assert not model.training
    with pytest.raises(AssertionError, match="optimizer"):  # the patch does bite
        make_task(TrainConfig(model="vae", nz=3, hidden=8, **SMALL), 64, torch.device("cpu"))


def test_loading_needs_no_input_run_and_keeps_the_weights(runs, tmp_path):
    import json

    from safetensors.torch import load_file

    run = tmp_path / "encoder"
    shutil.copytree(runs / "gan-encoder", run)
    # its GAN run is gone and a VAE run stands where its classifier was: loading the
    # encoder (which holds G) reads neither
    shutil.copytree(runs / "vae", tmp_path / "stand-in")
    config = json.loads((run / "config.json").read_text())
    config["model_options"].update(gan=str(tmp_path / "gone"),
                                   classifier=str(tmp_path / "stand-in"))
    (run / "config.json").write_text(json.dumps(config))
    model, _ = load_run(run)
    saved = load_file(run / "model.safetensors")
    state = model.state_dict()
    assert saved.keys() == state.keys() and all(torch.equal(saved[k], state[k]) for k in saved)
    assert model.sources["gan"]["path"] == str(tmp_path / "gone")
    with pytest.raises(ConfigError, match="no run there"):  # training again needs them
        make_task(load_run(run).config, 64, torch.device("cpu"))


def test_loading_keeps_its_one_line_errors(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs / "vae", run)
    (run / "model.safetensors").write_bytes((runs / "classifier" / "model.safetensors")
                                            .read_bytes())
    with pytest.raises(CheckpointError, match="weights are for model 'classifier'"):
        load_run(run)
    shutil.copy(runs / "vmi" / "config.json", run / "config.json")
    (run / "model.safetensors").write_bytes((runs / "vae" / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="weights are for model 'vae', config says 'vmi'"):
        load_run(run)
    (run / "config.json").write_text((runs / "vae" / "config.json").read_text()
                                     .replace('"nz": 3', '"nz": 4'))
    with pytest.raises(CheckpointError, match="another architecture"):
        load_run(run)
    (run / "config.json").write_text((runs / "vae" / "config.json").read_text()
                                     .replace('"model": "vae"', '"model": "nope"'))
    (run / "model.safetensors").unlink()
    (run / "checkpoint.safetensors").unlink(missing_ok=True)
    with pytest.raises(CheckpointError, match="no model.safetensors or checkpoint"):
        load_run(run)
    with pytest.raises(CheckpointError, match="no config.json"):
        load_run(tmp_path)


def test_build_model_builds_every_family():
    sizes = {"vae": dict(input_dim=16, hidden=4, nz=2),
             "vmi": dict(input_dim=16, arch="fc", hidden=4, n_gauss=2, n_cat=2, q_hidden=4),
             "gan": dict(input_dim=64, nz=2, g_width=8, d_width=4),
             "gan-encoder": dict(input_dim=64, nz=2, g_width=8, e_width=2, e_hidden=4),
             "classifier": dict(input_dim=64, conv1=2, conv2=2, dense=4, num_classes=3)}
    for kind, options in sizes.items():
        assert isinstance(build_model(kind, **options), family(kind).network)
    with pytest.raises(ConfigError, match="no option"):
        build_model("gan", depth=3)


FAMILY_MODULE = '''
import torch
from torch import nn

from latentdyn.models.build import make_adam, seeded_init
from latentdyn.models.family import Family


class Linear(nn.Module):
    def __init__(self, input_dim, nz):
        super().__init__()
        self.input_dim, self.nz = input_dim, nz
        self.enc, self.dec = nn.Linear(input_dim, nz), nn.Linear(nz, input_dim)

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        return torch.sigmoid(self.dec(z))

    def config_dict(self):
        return {"input_dim": self.input_dim, "nz": self.nz}


def build(config, input_dim):
    return seeded_init(config.seed, lambda: Linear(input_dim, config.nz))


class Task:
    def __init__(self, config, input_dim, device):
        self.model = build(config, input_dim).to(device)
        self.optimizers = {"adam": make_adam(self.model.parameters(), config.lr, device)}

    def loss(self, x):
        return ((self.model.decode(self.model.encode(x)) - x) ** 2).sum(-1).mean()

    def train_step(self, x, y, generator):
        loss = self.loss(x)
        self.optimizers["adam"].zero_grad()
        loss.backward()
        self.optimizers["adam"].step()
        return loss.detach()

    def train_metrics(self, mean_loss):
        return {"mse": mean_loss}

    @torch.no_grad()
    def evaluate(self, x, y, generator):
        return {"mse": float(self.loss(x))}


FAMILY = Family("linear-test", build=build, task=Task)
'''


def test_one_registry_line_makes_a_family_trainable_and_loadable(tmp_path, monkeypatch):
    (tmp_path / "linear_test_family.py").write_text(textwrap.dedent(FAMILY_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = TrainConfig(model="linear-test", nz=2, **SMALL)
    with pytest.raises(ConfigError, match="unknown model kind 'linear-test'"):
        train(config, tmp_path / "run", progress=False)
    monkeypatch.setitem(FAMILIES, "linear-test", "linear_test_family:FAMILY")  # the line
    out = train(config, tmp_path / "run", progress=False)
    assert (out / "model.safetensors").is_file() and "test_mse" in (out / "metrics.csv") \
        .read_text()
    model, loaded = latentdyn.load_run(out)
    assert loaded.model == "linear-test" and model.encode(torch.rand(3, 64)).shape == (3, 2)
    assert "linear-test" in kinds()
