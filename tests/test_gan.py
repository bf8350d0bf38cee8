import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

import latentdyn
from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models.gan import GAN, EncoderTask, GANEncoder, GANTask
from latentdyn.models.protocol import check_model, data_mean, latent_mean, sample_latent
from latentdyn.png import png_bytes
from latentdyn.train import TrainConfig, make_task, train

DATA = "synthetic:k=4,m=24,side=8,test=8"
GAN_OPTS = {"g_width": 16, "d_width": 8, "grid": 16, "diversity_samples": 32}
# the kind's constant schedule spelled out, so a fresh config resumes the run
CONST = dict(lr_factors=[1.0], lr_milestones=[])
GAN_CFG = dict(model="gan", dataset=DATA, nz=8, epochs=3, batch_size=16, device="cpu",
               lr=2e-4, model_options=GAN_OPTS, **CONST)
CLF_CFG = dict(model="classifier", dataset=DATA, epochs=2, batch_size=16, device="cpu", lr=1e-2,
               model_options={"conv1": 4, "conv2": 8, "dense": 16}, **CONST)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest on one thread, and the machine is shared."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def enc_cfg(gan, clf, **extra):
    opts = {"gan": str(gan), "classifier": str(clf), "g_width": 16, "e_width": 8,
            "e_hidden": 16, **extra}
    return TrainConfig(model="gan-encoder", dataset=DATA, nz=8, epochs=2, batch_size=16,
                       device="cpu", lr=1e-3, model_options=opts, **CONST)


def weights(path):
    return load_file(str(path / "model.safetensors"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    gan = train(TrainConfig(**GAN_CFG), root / "gan", progress=False)
    clf = train(TrainConfig(**CLF_CFG), root / "clf", progress=False)
    return gan, clf


def test_dcgan_shapes_and_ranges():
    torch.manual_seed(0)
    gan = GAN(nz=100)  # the 28×28 MNIST shape of SPEC §3
    assert gan.generator.fc.out_features == 7 * 7 * 256
    z = torch.randn(3, 100)
    with torch.no_grad():
        x = gan.decode(z)
    assert x.shape == (3, 784) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert gan.discriminator(x * 2 - 1).shape == (3,)
    gan.train()
    assert gan.decode(torch.randn(1, 100)).shape == (1, 784)  # a batch of one trains too
    assert gan.decode(torch.randn(2, 5, 100)).shape == (2, 5, 784)
    with pytest.raises(ConfigError, match="multiple of 4"):
        GAN(input_dim=36)


def test_gan_trains_writes_grids_and_metrics(runs):
    gan, _ = runs
    rows = (gan / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    for col in ("train_d_loss", "train_g_loss", "train_d_real", "train_d_fake", "test_d_loss",
                "diversity", "collapse", "diverged"):
        assert col in header
    assert len(rows) == 1 + 3
    grids = sorted((gan / "samples").iterdir())
    assert [p.name for p in grids] == ["epoch-0001.png", "epoch-0002.png", "epoch-0003.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in grids)
    model, config = latentdyn.load_run(gan)
    assert isinstance(model, GAN) and not model.training and config.nz == 8
    assert model.decode(torch.randn(4, 8)).shape == (4, 64)
    sd = weights(gan)
    assert any(k.startswith("generator.") for k in sd) and any(k.startswith("discriminator.")
                                                              for k in sd)


def test_cli_train_gan_and_resume(tmp_path, capsys):
    from latentdyn.cli import main

    out = tmp_path / "gan"
    args = ["train", "--model", "gan", "--dataset", DATA, "--nz", "8", "--epochs", "1",
            "--batch-size", "16", "--device", "cpu", "--quiet", "--out", str(out)]
    for k, v in GAN_OPTS.items():
        args += ["--option", f"{k}={v}"]
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["lr"] == 2e-4 and config["lr_factors"] == [1.0]  # the kind's defaults
    assert (out / "samples" / "epoch-0001.png").is_file()
    assert main(args + ["--resume"]) == 0  # the run's own config.json is reused


def test_gan_kind_defaults():
    cfg = TrainConfig(model="gan", dataset=DATA, model_options=GAN_OPTS)
    task = GANTask(cfg, 64, torch.device("cpu"))
    assert cfg.lr == 2e-4 and cfg.lr_factors == [1.0] and cfg.lr_milestones == []
    for opt in task.optimizers.values():
        assert opt.param_groups[0]["betas"] == (0.5, 0.99) and opt.param_groups[0]["lr"] == 2e-4
    with pytest.raises(ConfigError, match="no option"):
        GANTask(TrainConfig(model="gan", model_options={"bogus": 1}), 64, torch.device("cpu"))


def test_gan_checkpoint_resume_equals_uninterrupted(runs, tmp_path):
    full, _ = runs
    part = tmp_path / "part"
    train(TrainConfig(**GAN_CFG), part, progress=False, stop_after_epoch=1)
    assert not (part / "model.safetensors").exists()
    train(TrainConfig(**GAN_CFG), part, progress=False, resume=True)
    a, b = weights(full), weights(part)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    def drop_seconds(run):
        return [r.rsplit(",", 1)[0] for r in (run / "metrics.csv").read_text().splitlines()]

    assert drop_seconds(full) == drop_seconds(part)  # incl. the collapse/divergence streaks
    assert (full / "samples" / "epoch-0003.png").read_bytes() == \
        (part / "samples" / "epoch-0003.png").read_bytes()


def test_collapse_and_divergence_are_detected(tmp_path, capsys):
    task = GANTask(TrainConfig(model="gan", nz=8, model_options=GAN_OPTS), 64, torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 64)
    with torch.no_grad():  # every sample is the same image
        task.model.generator.up3.weight.zero_()
    flags = []
    for epoch in (1, 2, 3):
        task.train_step(x, torch.zeros(16, dtype=torch.long), gen)
        with torch.no_grad():
            task.model.generator.up3.weight.zero_()
        task.train_metrics(0.0)
        task._last = {"d_loss": 1e-3, "g_loss": 12.0}  # D wins, G loss explodes
        flags.append(task.on_epoch_end(epoch, tmp_path))
    assert flags[0]["diversity"] < 1e-6 and flags[0]["collapse"] == 0
    assert flags[1]["collapse"] == 1 and flags[1]["diverged"] == 0
    assert flags[2]["diverged"] == 1 and flags[2]["diverging_epochs"] == 3
    err = capsys.readouterr().err
    assert "mode collapse" in err and "diverging" in err
    assert all(line.startswith("warning: ") for line in err.splitlines() if line)


def test_label_entropy_with_a_classifier(runs, tmp_path):
    _, clf = runs
    opts = {**GAN_OPTS, "classifier": str(clf)}
    # the training layer loads the classifier run the GAN declares, and hands it in
    task = make_task(TrainConfig(model="gan", nz=8, model_options=opts), 64, torch.device("cpu"))
    assert task.manifest_extra()["inputs"]["classifier"]["md5"]
    task.train_step(torch.rand(16, 64), torch.zeros(16, dtype=torch.long),
                    torch.Generator().manual_seed(0))
    task.train_metrics(0.0)
    metrics = task.on_epoch_end(1, tmp_path)
    assert 0 <= metrics["label_entropy"] <= 1 and 1 <= metrics["classes_seen"] <= 10
    with pytest.raises(ConfigError, match="is a 'gan' run"):
        opts = {**GAN_OPTS, "classifier": str(runs[0])}
        make_task(TrainConfig(model="gan", nz=8, model_options=opts), 64, torch.device("cpu"))
    # a task made without the training layer gets no input run: refused in one line
    with pytest.raises(ConfigError, match="input run classifier .* was not loaded"):
        GANTask(TrainConfig(model="gan", nz=8, model_options=opts), 64, torch.device("cpu"))


def test_png_writer():
    data = png_bytes(torch.arange(12, dtype=torch.uint8).reshape(3, 4).numpy())
    assert data.startswith(b"\x89PNG") and b"IHDR" in data and data.endswith(b"IEND\xaeB`\x82")


def test_encoder_run_is_self_contained_and_offers_the_protocol(runs, tmp_path):
    gan, clf = runs
    # copies, so removing the GAN run later does not disturb other tests
    gan_copy, clf_copy = tmp_path / "gan", tmp_path / "clf"
    shutil.copytree(gan, gan_copy)
    shutil.copytree(clf, clf_copy)
    out = train(enc_cfg(gan_copy, clf_copy), tmp_path / "enc", progress=False)
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train_rec", "train_ce", "train_kl", "test_acc"} <= set(header)
    inputs = json.loads((out / "inputs.json").read_text())
    assert inputs["gan"]["md5"] and inputs["classifier"]["md5"]
    meta_sources = json.loads((out / "config.json").read_text())["model_options"]
    assert meta_sources["gan"] == str(gan_copy)
    # G's weights are copied into the encoder run
    g_gan = {k[len("generator."):]: v for k, v in weights(gan_copy).items()
             if k.startswith("generator.")}
    g_enc = {k[len("generator."):]: v for k, v in weights(out).items()
             if k.startswith("generator.")}
    assert g_gan.keys() == g_enc.keys() and all(torch.equal(g_gan[k], g_enc[k]) for k in g_gan)
    shutil.rmtree(gan_copy)
    shutil.rmtree(clf_copy)
    model, config = latentdyn.load_run(out)
    assert isinstance(model, GANEncoder) and config.model == "gan-encoder"
    check_model(model)
    x = latentdyn.data.load_dataset(DATA).test_images[:5]
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 8)
    with torch.no_grad():
        xr = data_mean(model, latent_mean(model, x))
        assert xr.shape == (5, 64) and 0 <= float(xr.min()) and float(xr.max()) <= 1
        z = sample_latent(model, x, generator=torch.Generator().manual_seed(0))
        assert z.shape == (5, 8)
        # one step of the repeated-inference dynamics x -> E -> G -> E
        assert latent_mean(model, model.decode(mu)).shape == (5, 8)
    # training again needs the inputs, and says which one is missing
    with pytest.raises(ConfigError, match="no run there"):
        train(enc_cfg(gan_copy, clf_copy), tmp_path / "enc2", progress=False)


def test_encoder_refuses_inputs_of_another_kind(runs, tmp_path):
    gan, clf = runs
    with pytest.raises(ConfigError) as info:
        train(enc_cfg(clf, clf), tmp_path / "enc", progress=False)
    assert "is a 'classifier' run" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="--model classifier"):
        make_task(enc_cfg(gan, gan), 64, torch.device("cpu"))
    with pytest.raises(ConfigError, match="needs --option gan=RUN"):
        EncoderTask(TrainConfig(model="gan-encoder", nz=8), 64, torch.device("cpu"))
    with pytest.raises(ConfigError, match="needs --option gan=RUN"):
        make_task(TrainConfig(model="gan-encoder", nz=8), 64, torch.device("cpu"))
    with pytest.raises(ConfigError, match="--nz 8"):  # the GAN's shape must be kept
        cfg = enc_cfg(gan, clf)
        cfg.nz = 5
        make_task(cfg, 64, torch.device("cpu"))
    with pytest.raises(ConfigError, match="input run gan .* was not loaded"):
        EncoderTask(enc_cfg(gan, clf), 64, torch.device("cpu"))


def test_checkpoint_of_another_kind_is_refused(runs, tmp_path):
    gan, clf = runs
    run = tmp_path / "clf"
    train(TrainConfig(**CLF_CFG), run, progress=False, stop_after_epoch=1)
    (run / "checkpoint.safetensors").write_bytes((gan / "checkpoint.safetensors").read_bytes())
    with pytest.raises(CheckpointError) as info:
        train(TrainConfig(**CLF_CFG), run, progress=False, resume=True)
    assert "'gan'" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CheckpointError) as info:
        latentdyn.load_run(run)  # no model.safetensors yet: the checkpoint is used
    assert "\n" not in str(info.value)
