import json

import pytest
import torch
from safetensors.torch import load_file

import latentdyn
from latentdyn.cli import main
from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models.classifier import CNNClassifier
from latentdyn.train import TrainConfig, train
from latentdyn.models.classifier import ClassifierTask

DATA = "synthetic:k=4,m=30,side=8,test=10"
SMALL = {"conv1": 8, "conv2": 16, "dense": 32}
# the kind's constant schedule spelled out, so a fresh config resumes the run (see
# ClassifierTask.apply_defaults)
TINY = dict(model="classifier", dataset=DATA, epochs=3, batch_size=16, device="cpu", lr=1e-2,
            lr_factors=[1.0], lr_milestones=[], model_options=SMALL)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest on one thread, and the machine is shared."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_cnn_shapes_probabilities_and_square_images():
    torch.manual_seed(0)
    model = CNNClassifier(input_dim=784).eval()
    assert model.fc1.in_features == 12 * 12 * 64 and model.fc1.out_features == 128
    x = torch.rand(3, 784)
    p = model.predict_proba(x)
    assert p.shape == (3, 10) and torch.allclose(p.sum(-1), torch.ones(3), atol=1e-5)
    assert model.predict(x).shape == (3,) and model.predict(x).dtype == torch.int64
    # leading axes (e.g. time × trials) are kept
    assert model.predict_proba(torch.rand(2, 3, 784)).shape == (2, 3, 10)
    assert not p.requires_grad
    small = CNNClassifier(input_dim=64, num_classes=4)  # 8×8 images
    assert small(torch.rand(5, 64)).shape == (5, 4)
    for bad in ({"input_dim": 50}, {"input_dim": 16}, {"dropout_conv": 1.0}, {"num_classes": 1}):
        with pytest.raises(ConfigError):
            CNNClassifier(**bad)


def test_dropout_uses_the_given_generator_only():
    model = CNNClassifier(input_dim=64, **SMALL).train()
    x = torch.rand(4, 64)
    a = model(x, generator=torch.Generator().manual_seed(1))
    b = model(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, model(x, generator=torch.Generator().manual_seed(2)))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_classifier_trains_above_chance_and_loads(tmp_path):
    out = train(TrainConfig(**TINY), tmp_path / "run", progress=False)
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,lr,train_loss,train_acc,test_acc,test_loss,seconds"
    final = json.loads((out / "manifest.json").read_text())["final_metrics"]
    assert final["test_acc"] > 0.6  # 4 classes: chance is 0.25
    model, config = latentdyn.load_run(out)
    assert isinstance(model, CNNClassifier) and not model.training
    assert model.config_dict()["input_dim"] == 64 and config.model == "classifier"
    data = latentdyn.data.load_dataset(DATA)
    acc = float((model.predict(data.test_images) == data.test_labels).float().mean())
    assert acc == pytest.approx(final["test_acc"])


def test_kind_defaults_and_options():
    cfg = TrainConfig(model="classifier", dataset=DATA)
    ClassifierTask(cfg, 64, torch.device("cpu"))
    assert cfg.lr == 1e-3 and cfg.lr_factors == [1.0] and cfg.lr_milestones == []
    chosen = TrainConfig(model="classifier", lr=1e-2, lr_factors=[1.0, 0.5], lr_milestones=[0.5])
    ClassifierTask(chosen, 64, torch.device("cpu"))
    assert chosen.lr == 1e-2 and chosen.lr_factors == [1.0, 0.5]
    with pytest.raises(ConfigError, match="no option"):
        ClassifierTask(TrainConfig(model="classifier", model_options={"nope": 1}), 64,
                       torch.device("cpu"))


def test_stopped_and_resumed_equals_uninterrupted(tmp_path):
    full = train(TrainConfig(**TINY), tmp_path / "full", progress=False)
    part = tmp_path / "part"
    train(TrainConfig(**TINY), part, progress=False, stop_after_epoch=1)
    train(TrainConfig(**TINY), part, progress=False, resume=True)
    a, b = load_file(str(full / "model.safetensors")), load_file(str(part / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_labels_beyond_the_classes_are_a_one_line_error(tmp_path):
    cfg = TrainConfig(**{**TINY, "model_options": {**SMALL, "num_classes": 3}})
    with pytest.raises(ConfigError, match="num_classes=4"):
        train(cfg, tmp_path / "run", progress=False)


def test_cli_classifier_train_and_eval(tmp_path, capsys):
    out = tmp_path / "clf"
    args = ["classifier", "train", "--dataset", DATA, "--epochs", "2", "--batch-size", "16",
            "--lr", "1e-2", "--option", "conv1=8", "--option", "conv2=16", "--option", "dense=32",
            "--device", "cpu", "--quiet", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and str(out) in printed
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "classifier" and config["lr_factors"] == [1.0]
    assert config["model_options"] == SMALL
    assert main(["classifier", "eval", "--model", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    # the folder holds a run now: a second train needs --resume or --overwrite
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already holds" in err and err.count("\n") == 1
    # resuming a finished run with the same options is a no-op that succeeds
    assert main(args + ["--resume"]) == 0


def test_cli_eval_refuses_other_kinds(tmp_path, capsys):
    vae = train(TrainConfig(dataset=DATA, nz=2, hidden=8, epochs=1, batch_size=16, device="cpu"),
                tmp_path / "vae", progress=False)
    assert main(["classifier", "eval", "--model", str(vae)]) == 2
    err = capsys.readouterr().err
    assert "not a classifier" in err and err.count("\n") == 1


def test_weights_of_another_kind_are_refused(tmp_path):
    clf = train(TrainConfig(**{**TINY, "epochs": 1}), tmp_path / "clf", progress=False)
    vae = train(TrainConfig(dataset=DATA, nz=2, hidden=8, epochs=1, batch_size=16, device="cpu"),
                tmp_path / "vae", progress=False)
    (clf / "model.safetensors").write_bytes((vae / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError) as info:
        latentdyn.load_run(clf)
    assert "'vae'" in str(info.value) and "\n" not in str(info.value)
