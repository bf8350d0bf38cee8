"""--model from anywhere (issue 22): a factory of the user's own (with a state dict), a
pythae model folder and a diffusers AutoencoderKL folder, each built here by its own
library at toy size (nothing is downloaded), loaded through the command line and run
through dynamics, attractors (matrix-free for the convolutional latent), mi and the
explorer's API; the adapters' encodings against the libraries' own calls, exactly; and
every bad input as one ``error:`` line."""

import json
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

from latentdyn.cli import main
from latentdyn.data import load_dataset
from latentdyn.errors import ConfigError
from latentdyn.train.sources import open_model

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("one_torch_thread")]

DATA = "synthetic:k=3,m=20,side=8,test=6"  # 60 training, 18 test images of 8x8, 3 labels
SMALL = ["--quiet", "--device", "cpu"]
DYN = ["--trials", "3", "--steps", "3", "--p", "0.2", "--report-trials", "2"]
ATT = ["--p", "0,0.5", "--trials", "3", "--steps", "4", "--memories", "3", "--starts", "6",
       "--max-steps", "20"]
MI = ["--codes", "0-1", "--source", "posterior", "--fits", "1", "--steps", "5", "--n-train",
      "40", "--n-test", "20", "--batch-size", "20"]

FACTORY = textwrap.dedent('''
    import torch
    from torch import nn


    class TinyVAE(nn.Module):  # PyTorch-VAE style: encode -> [mu, log_var]
        def __init__(self, d=64, nz=3):
            super().__init__()
            self.nz = nz
            self.enc, self.dec = nn.Linear(d, 2 * nz), nn.Linear(nz, d)

        def encode(self, x):
            mu, log_var = self.enc(x).chunk(2, dim=1)
            return [mu, log_var]

        def decode(self, z):
            return torch.sigmoid(self.dec(z))


    def make_model():
        torch.manual_seed(0)
        return TinyVAE()


    def make_wide():
        return TinyVAE(nz=5)


    def make_colour():  # 8 x 8 RGB images
        torch.manual_seed(0)
        return TinyVAE(d=192, nz=3)


    def make_nothing():
        return {"encode": "not a method"}


    def make_broken():
        raise RuntimeError("needs a GPU")
''')


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def cli(*args) -> int:
    return main([str(a) for a in args])


def colour_npz(path, side=8):
    """The synthetic images, tinted by class: (N, H, W, 3), channels last."""
    ds = load_dataset(DATA)
    x = np.concatenate([ds.train_images, ds.test_images]).reshape(-1, side, side)
    y = np.concatenate([ds.train_labels, ds.test_labels])
    tint = np.array([[1.0, 0.3, 0.2], [0.2, 1.0, 0.3], [0.3, 0.2, 1.0]])[y]
    np.savez(path, images=(x[..., None] * tint[:, None, None, :]).astype(np.float32),
             labels=y, test_images=(x[-9:, ..., None] * tint[-9:, None, None, :])
             .astype(np.float32), test_labels=y[-9:])
    return f"npz:{path}"


def check_dynamics(npz, nz):
    with np.load(npz) as arrays:
        assert arrays["z"].shape == (1, 3, 4, nz) and np.isfinite(arrays["z"]).all()


# ------------------------------------------------------------------------ a factory
@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("factory")
    (root / "usermodels.py").write_text(FACTORY)
    sys.path.insert(0, str(root))
    import usermodels

    sys.path.remove(str(root))
    torch.manual_seed(1)
    trained = usermodels.TinyVAE()  # other weights than make_model's
    save_file(dict(trained.state_dict()), root / "w.safetensors")
    torch.save(trained.state_dict(), root / "w.pt")
    torch.save({"state_dict": trained.state_dict(), "epoch": 3}, root / "ckpt.pt")
    torch.save(usermodels.TinyVAE(nz=5).state_dict(), root / "wide.pt")
    return {"root": root, "spec": f"{root / 'usermodels.py'}:make_model", "trained": trained}


def test_a_factory_with_a_state_dict_loads_those_weights(factory):
    root, trained = factory["root"], factory["trained"]
    for weights in ("w.safetensors", "w.pt", "ckpt.pt"):
        model = open_model(factory["spec"], "cpu", weights=root / weights).model
        for k, v in trained.state_dict().items():
            assert torch.equal(model.state_dict()[k], v), (weights, k)
    bare = open_model(factory["spec"], "cpu")
    assert bare.kind == "factory" and bare.config is None
    assert not torch.equal(bare.model.enc.weight, trained.enc.weight)


def test_a_factory_runs_through_the_commands(factory, tmp_path, monkeypatch):
    root, spec = factory["root"], factory["spec"]
    out = tmp_path / "dyn.npz"
    assert cli("dynamics", "--model", spec, "--weights", root / "w.pt", "--dataset", DATA,
               "--out", out, *DYN, *SMALL) == 0
    check_dynamics(out, 3)
    assert json.loads((tmp_path / "dyn.json").read_text())["model"] == spec
    monkeypatch.syspath_prepend(str(root))  # package.module:FUNCTION
    assert cli("attractors", "--model", "usermodels:make_model", "--weights",
               root / "w.safetensors", "--dataset", DATA, "--out", tmp_path / "att", *ATT,
               *SMALL) == 0
    summary = json.loads((tmp_path / "att" / "attractors.json").read_text())
    assert summary["settings"]["method"] == "auto"
    assert cli("mi", "--model", spec, "--dataset", DATA, "--out", tmp_path / "mi.json", *MI,
               "--quiet") == 0
    assert json.loads((tmp_path / "mi.json").read_text())


def test_the_explorer_takes_a_factory_with_its_weights(factory):
    """explore --model FILE.py:FUNCTION --weights FILE: the factory's model with those
    weights, through the explorer's API."""
    from latentdyn.explore import create_app, load_explorer

    root = factory["root"]
    explorer = load_explorer([factory["spec"], factory["spec"]], dataset=DATA,
                             weights=[str(root / "w.safetensors"), str(root / "w.pt")])
    assert [m.kind for m in explorer.models] == ["factory", "factory"]
    for m in explorer.models:
        assert torch.equal(m.model.enc.weight, factory["trained"].enc.weight)
    body = _trajectory(create_app(explorer))
    assert len(body["results"]) == 2
    assert body["results"][0]["distances"] == body["results"][1]["distances"]


def test_lsd_takes_a_factory_with_its_weights(factory, tmp_path):
    """lsd --model FILE.py:FUNCTION --weights FILE, beside a classifier run."""
    data = "synthetic:k=10,m=10,side=8,test=3"
    assert cli("train", "--model", "classifier", "--dataset", data, "--epochs", "1", "--out",
               tmp_path / "clf", "--quiet", "--device", "cpu") == 0
    assert cli("lsd", "--model", factory["spec"], "--weights", factory["root"] / "w.pt",
               "--classifier", tmp_path / "clf", "--dataset", data, "--out", tmp_path / "lsd",
               "--prior-samples", "50", "--no-progress", "--device", "cpu") == 0
    summary = json.loads((tmp_path / "lsd" / "lsd.json").read_text())
    assert summary["model"] == factory["spec"] and 0 <= summary["test"]["lsd_accuracy"] <= 1
    assert (tmp_path / "lsd" / "basis.safetensors").is_file()


def test_the_sampling_study_takes_a_colour_factory(factory, tmp_path):
    """The --model of a reproduction from a factory, on colour images: the study runs
    end to end and its Fig. 2a holds the chain in RGB (row, column and channel)."""
    ds = load_dataset("synthetic:k=10,m=6,side=8,test=2")  # the study reads a '6'
    x = np.concatenate([ds.train_images, ds.test_images]).reshape(-1, 8, 8, 1)
    y = np.concatenate([ds.train_labels, ds.test_labels])
    tint = np.random.default_rng(0).uniform(0.2, 1.0, (10, 3))[y][:, None, None, :]
    n = len(ds.train_labels)
    np.savez(tmp_path / "c.npz", images=(x * tint)[:n].astype(np.float32), labels=y[:n],
             test_images=(x * tint)[n:].astype(np.float32), test_labels=y[n:])
    out = tmp_path / "sampling"
    assert cli("reproduce", "nagano2017-sampling", "--profile", "smoke", "--model",
               f"{factory['root'] / 'usermodels.py'}:make_colour", "--dataset",
               f"npz:{tmp_path / 'c.npz'}", "--out", out, "--quiet", "--device", "cpu") == 0
    assert (out / "report.html").is_file()
    header = (out / "data" / "fig2a_sequence.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["pixel_row", "pixel_col", "channel", "x_t0"]
    rows = (out / "data" / "fig2a_sequence.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 * 8 * 8


@pytest.mark.parametrize("args, message", [
    (["{root}/usermodels.py:make_nothing"], "returned dict lacks encode and decode"),
    (["{root}/usermodels.py:make_broken"], "RuntimeError while building the model: needs a GPU"),
    (["{root}/usermodels.py:no_such"], "has no function 'no_such'"),
    (["{root}/nothing.py:make_model"], "no such file"),
    (["no_such_package.models:make_model"], "no module 'no_such_package.models'"),
    (["{root}/usermodels.py:make_wide", "--weights", "{root}/w.pt"],
     "not weights of the model"),
    (["{root}/usermodels.py:make_model", "--weights", "{root}/wide.pt"],
     "enc.weight (10, 64) in the file, (6, 64) in the model"),
    (["{root}/usermodels.py:make_model", "--dataset", "COLOUR"],
     "cannot encode and decode the images of npz:"),
])
def test_a_bad_factory_is_one_line(factory, tmp_path, capsys, args, message):
    root = factory["root"]
    colour = colour_npz(tmp_path / "colour.npz")
    args = [a.format(root=root).replace("COLOUR", colour) for a in args]
    dataset = [] if "--dataset" in args else ["--dataset", DATA]
    assert cli("dynamics", "--model", *args, *dataset, "--out", tmp_path / "d.npz",
               *DYN, *SMALL) == 2
    assert message in one_error(capsys)
    assert not (tmp_path / "d.npz").exists()


def test_unknown_folders_snapshots_and_misplaced_weights_are_one_line(factory, tmp_path,
                                                                      capsys):
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "weights.bin").write_bytes(b"\0" * 8)
    assert cli("dynamics", "--model", odd, "--dataset", DATA, *SMALL) == 2
    err = one_error(capsys)
    assert "not a run folder" in err and "pythae" in err and "--model-kind" in err
    assert cli("dynamics", "--model", odd, "--model-kind", "pythae", "--dataset", DATA,
               *SMALL) == 2
    assert "odd" in one_error(capsys)
    assert cli("dynamics", "--model", f"{odd}@100", "--dataset", DATA, *SMALL) == 2
    assert "not a run folder" in one_error(capsys)
    assert cli("dynamics", "--model", odd, "--weights", factory["root"] / "w.pt",
               "--dataset", DATA, *SMALL) == 2
    assert "--weights loads a state dict into the model a factory builds" in one_error(capsys)


def test_model_folders_with_json_nested_too_deeply_are_one_line(tmp_path, capsys):
    """Detecting a folder's kind reads its JSON with the depth limit of latentdyn.io:
    a config nested 100 000 deep is one line, not Python's RecursionError."""
    deep = "[" * 100_000 + "]" * 100_000
    for folder, config, other in (("d", "config.json", "diffusion_pytorch_model.safetensors"),
                                  ("p", "model_config.json", "model.pt")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / config).write_text('{"_class_name": "AutoencoderKL", '
                                                '"name": "VAEConfig", "x": ' + deep + "}")
        (tmp_path / folder / other).write_bytes(b"")
        for kind in ([], ["--model-kind", "diffusers" if folder == "d" else "pythae"]):
            assert cli("dynamics", "--model", tmp_path / folder, *kind, "--dataset", DATA,
                       *SMALL) == 2
            assert "internal error" not in one_error(capsys)


def test_a_missing_library_names_its_extra(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "model_config.json").write_text(json.dumps({"name": "VAEConfig"}))
    torch.save({"model_state_dict": {}}, folder / "model.pt")
    monkeypatch.setitem(sys.modules, "pythae", None)  # import pythae fails
    assert cli("dynamics", "--model", folder, "--dataset", DATA, *SMALL) == 2
    assert 'pip install -e ".[pythae]"' in one_error(capsys)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKL"}))
    (tmp_path / "d" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "diffusers", None)
    assert cli("dynamics", "--model", tmp_path / "d", "--dataset", DATA, *SMALL) == 2
    assert 'pip install -e ".[diffusers]"' in one_error(capsys)


# ------------------------------------------------------------------------ pythae
@pytest.fixture(scope="module")
def pythae_folder(tmp_path_factory):
    pytest.importorskip("pythae", reason="the pythae extra is not installed "
                                         "(pip install -e '.[pythae]')")
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseEncoder

    class OwnEncoder(BaseEncoder):
        """A network of the user's own: pythae saves it as a cloudpickle."""

        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(64, 6)

        def forward(self, x):
            h = self.net(x.reshape(x.shape[0], -1))
            return ModelOutput(embedding=h[:, :3], log_covariance=h[:, 3:])

    root = tmp_path_factory.mktemp("pythae")
    torch.manual_seed(0)
    VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3)).save(str(root / "vae"))
    VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), encoder=OwnEncoder()).save(
        str(root / "own"))
    return root


def test_pythae_encodings_are_the_librarys_own(pythae_folder):
    from pythae.models import AutoModel

    model = open_model(pythae_folder / "vae", "cpu").model
    lib = AutoModel.load_from_folder(str(pythae_folder / "vae"))
    x = load_dataset(DATA).train_images[:5]
    with torch.no_grad():
        mean, logvar = model.encode(x)
        out = lib.encoder(x.reshape(5, 1, 8, 8))
        assert torch.equal(mean, out.embedding) and torch.equal(logvar, out.log_covariance)
        z = torch.randn(4, 3)
        assert torch.equal(model.decode(z),
                           lib.decoder(z)["reconstruction"].reshape(4, 64))
    assert model.config_dict()["input_dim"] == 64 and model.nz == 3


def test_pythae_runs_through_the_commands_and_the_explorer(pythae_folder, tmp_path):
    from latentdyn.explore import create_app, load_explorer

    folder = pythae_folder / "vae"
    assert cli("dynamics", "--model", folder, "--dataset", DATA, "--out",
               tmp_path / "dyn.npz", *DYN, *SMALL) == 0
    check_dynamics(tmp_path / "dyn.npz", 3)
    assert cli("attractors", "--model", folder, "--dataset", DATA, "--out", tmp_path / "att",
               *ATT, *SMALL) == 0
    assert cli("mi", "--model", folder, "--dataset", DATA, *MI, "--quiet") == 0
    explorer = load_explorer([folder], dataset=DATA)
    assert explorer.models[0].kind == "pythae"
    body = _trajectory(create_app(explorer))
    assert len(body["results"]) == 1 and len(body["results"][0]["distances"]["concept"]) == 5


def test_pickled_pythae_networks_need_trust(pythae_folder, tmp_path, capsys):
    folder = pythae_folder / "own"
    assert (folder / "encoder.pkl").is_file()
    assert cli("dynamics", "--model", folder, "--dataset", DATA, "--out",
               tmp_path / "dyn.npz", *DYN, *SMALL) == 2
    err = one_error(capsys)
    assert "encoder.pkl" in err and "--trust-pickles" in err
    assert not (tmp_path / "dyn.npz").exists()
    assert cli("dynamics", "--model", folder, "--trust-pickles", "--dataset", DATA, "--out",
               tmp_path / "dyn.npz", *DYN, *SMALL) == 0


def test_pythae_refuses_images_of_another_size(pythae_folder, tmp_path, capsys):
    colour = colour_npz(tmp_path / "colour.npz")
    assert cli("dynamics", "--model", pythae_folder / "vae", "--dataset", colour, *SMALL) == 2
    assert "has 192 values per image (3x8x8) but the model" in one_error(capsys)


# ------------------------------------------------------------------------ diffusers
TINY_KL = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
               down_block_types=("DownEncoderBlock2D",) * 2,
               up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16),
               norm_num_groups=4, sample_size=8)


@pytest.fixture(scope="module")
def kl_folder(tmp_path_factory):
    pytest.importorskip("diffusers", reason="the diffusers extra is not installed "
                                            "(pip install -e '.[diffusers]')")
    from diffusers import AutoencoderKL

    root = tmp_path_factory.mktemp("diffusers")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        AutoencoderKL(**TINY_KL).save_pretrained(root / "kl")
        AutoencoderKL(**TINY_KL, scaling_factor=0.5, shift_factor=0.1).save_pretrained(
            root / "shifted")
    return root


@pytest.mark.parametrize("name", ["kl", "shifted"])
def test_diffusers_encodings_are_the_librarys_own(kl_folder, tmp_path, name):
    from diffusers import AutoencoderKL
    from diffusers.image_processor import VaeImageProcessor

    model = open_model(kl_folder / name, "cpu").model
    data = load_dataset(colour_npz(tmp_path / "c.npz"))
    model.fit_images(data.image_shape)
    vae = AutoencoderKL.from_pretrained(kl_folder / name, local_files_only=True,
                                        low_cpu_mem_usage=False)
    scale, shift = vae.config.scaling_factor, vae.config.shift_factor or 0.0
    proc = VaeImageProcessor(do_resize=False)
    x = data.train_images[:4]
    with torch.no_grad():
        mean, logvar = model.encode(x)
        dist = vae.encode(proc.normalize(x.reshape(4, 3, 8, 8))).latent_dist
        assert torch.equal(mean, ((dist.mean - shift) * scale).reshape(4, -1))
        torch.testing.assert_close(logvar.exp(), (dist.var * scale ** 2).reshape(4, -1))
        z = mean + 0.1
        own = vae.decode(z.reshape(4, 4, 4, 4) / scale + shift).sample
        expect = proc.postprocess(own, output_type="pt")
        assert torch.equal(model.decode(z), expect.reshape(4, -1))
    assert model.nz == 64 and model.config_dict()["image_shape"] == [3, 8, 8]


def test_diffusers_runs_through_the_commands_and_the_explorer(kl_folder, tmp_path):
    from latentdyn.explore import create_app, load_explorer

    colour = colour_npz(tmp_path / "colour.npz")
    folder = kl_folder / "kl"
    assert cli("dynamics", "--model", folder, "--dataset", colour, "--out",
               tmp_path / "dyn.npz", *DYN, *SMALL) == 0
    check_dynamics(tmp_path / "dyn.npz", 64)
    page = (tmp_path / "dyn.html").read_text()
    assert '"shape":[8,8,3]' in page  # the viewer shows colour frames
    assert cli("attractors", "--model", folder, "--dataset", colour, "--method", "matrix-free",
               "--out", tmp_path / "att", *ATT, *SMALL) == 0
    summary = json.loads((tmp_path / "att" / "attractors.json").read_text())
    assert summary["settings"]["method"] == "matrix-free"
    assert (tmp_path / "att" / "figures" / "attractor_stability.png").is_file()
    assert cli("mi", "--model", folder, "--dataset", colour, *MI, "--quiet") == 0
    explorer = load_explorer([str(folder)], dataset=colour)
    body = _trajectory(create_app(explorer))
    assert body["input"]["shape"] == [3, 8, 8]
    frames = np.frombuffer(__import__("base64").b64decode(body["results"][0]["frames"]),
                           dtype=np.uint8)
    assert frames.size == 5 * 3 * 64


def test_diffusers_refuses_grey_images(kl_folder, capsys):
    assert cli("dynamics", "--model", kl_folder / "kl", "--dataset", DATA, *SMALL) == 2
    assert "takes images of 3 channel(s)" in one_error(capsys)


def _trajectory(app) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    client = TestClient(app, base_url="http://127.0.0.1")
    r = client.post("/api/trajectory", json={"label": 1, "index": 0, "p": 0.2, "steps": 4})
    assert r.status_code == 200, r.text
    return r.json()


def test_python_api_takes_model_objects(factory, tmp_path):
    """Every study's run() takes a model object as well as a run folder."""
    from latentdyn.studies import attractors, dynamics, mi

    model = open_model(factory["spec"], "cpu").model
    dynamics.run(model=model, dataset=DATA, out=tmp_path / "d.npz", trials=3, steps=3,
                 ps="0.2", report_trials=0, quiet=True, device="cpu")
    attractors.run(model=model, dataset=DATA, out=tmp_path / "a", ps="0,0.5", trials=3,
                   steps=4, memories=3, starts=6, max_steps=20, quiet=True, device="cpu")
    mi.run(model=model, dataset=DATA, out=tmp_path / "mi.json", codes="0-1",
           source="posterior", n_fits=1, steps=5, n_train=40, n_test=20, batch_size=20,
           quiet=True, device="cpu")
    assert (tmp_path / "d.npz").is_file() and (tmp_path / "a" / "attractors.json").is_file()
    assert json.loads((tmp_path / "mi.json").read_text())
    with pytest.raises(ConfigError, match="lacks encode"):
        dynamics.run(model=object(), dataset=DATA, out=tmp_path / "x.npz", quiet=True)
    with pytest.raises(ConfigError, match="lacks encode"):
        mi.run(model=object(), dataset=DATA, out=tmp_path / "y.json", quiet=True)
