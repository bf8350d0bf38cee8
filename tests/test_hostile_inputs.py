"""Hostile files and requests (issue 21, items 5, 6, 7 and 11): JSON nested 100 000
deep, safetensors metadata of the wrong shape, NaN and huge weights, and the messages
that used to mislead. Each ends in one `error:` line and exit status 2 (HTTP 4xx in the
explorer), never a RecursionError, an AttributeError or torch's own complaint."""

import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from latentdyn.cli import main

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.usefixtures("one_torch_thread")]

DATA = "synthetic:k=7,m=6,side=6,test=3"  # 7 labels: the sampling study needs a 6
DEEP = "[" * 100_000 + "]" * 100_000
ATTX = ["--p", "0,0.5", "--trials", 2, "--steps", 3, "--memories", 3, "--starts", 3,
        "--max-steps", 10, "--device", "cpu", "--quiet"]


def cli(*args) -> int:
    return main([str(a) for a in args])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err, err
    assert "internal error" not in err and "RecursionError" not in err, err
    return err


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "run"
    assert cli("train", "--dataset", DATA, "--nz", 3, "--hidden", 8, "--epochs", 2,
               "--device", "cpu", "--quiet", "--out", out) == 0
    return out


def variant(run: Path, where: Path, *, meta=None, weights=None, config=None) -> Path:
    """A copy of ``run`` with its weights' metadata, weights or config.json replaced."""
    out = where / "variant"
    shutil.copytree(run, out)
    path = out / "model.safetensors"
    with safe_open(str(path), "pt") as fh:
        raw = fh.metadata()["latentdyn"]
    tensors = load_file(str(path))
    if weights is not None:
        tensors = {k: weights(k, v) for k, v in tensors.items()}
    save_file(tensors, str(path), metadata={"latentdyn": raw if meta is None
                                            else meta(json.loads(raw))})
    if config is not None:
        (out / "config.json").write_text(config)
    return out


# ------------------------------------------------------------------- 5: deep JSON
@pytest.mark.parametrize("what", ["config", "metadata"])
def test_json_nested_100000_deep_in_a_run(run, tmp_path, capsys, what):
    bad = variant(run, tmp_path, config=DEEP) if what == "config" else \
        variant(run, tmp_path, meta=lambda m: DEEP)
    assert cli("attractors", "--model", bad, "--out", tmp_path / "a", *ATTX) == 2
    assert "nested deeper" in one_error_line(capsys)
    if what == "config":  # train reads the config of the run it is asked to resume
        assert cli("train", "--dataset", DATA, "--nz", 3, "--hidden", 8, "--epochs", 2,
                   "--device", "cpu", "--quiet", "--out", bad, "--resume") == 2
        one_error_line(capsys)


@pytest.mark.parametrize("name, text", [
    ("deep.json", DEEP), ("obj.json", '{"nz": ' + DEEP + "}"),
    ("deep.yaml", "nz: " + DEEP), ("deep.toml", "nz = " + DEEP)])
def test_config_files_nested_100000_deep(tmp_path, capsys, name, text):
    """train --config of any format nested 100 000 deep: one line saying so (the JSON
    parser's and the YAML and TOML parsers' recursion never reaches the user)."""
    (tmp_path / name).write_text(text)
    assert cli("train", "--config", tmp_path / name, "--dataset", DATA, "--epochs", 1,
               "--device", "cpu", "--quiet", "--out", tmp_path / "r") == 2
    err = one_error_line(capsys)
    assert "nested" in err and "recursion" not in err
    assert not (tmp_path / "r").exists()


def test_json_nested_100000_deep_as_attractors_and_as_a_request(run, tmp_path):
    from latentdyn.errors import ConfigError
    from latentdyn.explore import create_app, load_explorer

    deep = tmp_path / "attractors.json"
    deep.write_text(DEEP)
    with pytest.raises(ConfigError, match="nested deeper"):
        load_explorer([run], attractor_paths=[deep])
    client = TestClient(create_app(load_explorer([run])), base_url="http://127.0.0.1",
                        raise_server_exceptions=False)
    for body in (DEEP, '{"label": ' + DEEP + "}"):
        r = client.post("/api/trajectory", content=body,
                        headers={"content-type": "application/json"})
        assert r.status_code == 400 and "nested" in r.json()["error"]


# ------------------------------------------------------------------- 6: metadata shapes
@pytest.mark.parametrize("meta, message", [
    (lambda m: "[1]", "not a JSON object"),
    (lambda m: json.dumps({**m, "model_config": "oops"}), "input size"),
    (lambda m: json.dumps({**m, "model_config": {**m["model_config"], "input_dim": 10**9}}),
     "more than its weights hold"),
])
def test_metadata_of_the_wrong_shape(run, tmp_path, capsys, meta, message):
    bad = variant(run, tmp_path, meta=meta)
    assert cli("mi", "--model", bad, "--device", "cpu", "--quiet") == 2
    err = one_error_line(capsys)
    assert message in err and "GiB" not in err  # loading is not training


# ------------------------------------------------------------------- 7: NaN, huge weights
def nan_bias(k, v):
    return torch.cat([torch.tensor([float("nan")]), v[1:]]) if k == "decoder_out.bias" else v


def huge(k, v):
    return torch.full_like(v, 1e30)


@pytest.mark.parametrize("weights, message", [(nan_bias, "NaN"), (huge, "non-finite")])
@pytest.mark.parametrize("command", [
    ["dynamics", "--mode", "sampling", "--trials", 2, "--steps", 3, "--device", "cpu",
     "--quiet", "--out", "{tmp}/d.npz"],
    ["mi", "--source", "posterior", "--fits", 1, "--steps", 5, "--device", "cpu", "--quiet"],
    ["reproduce", "nagano2017-sampling", "--profile", "smoke", "--dataset", DATA, "--quiet",
     "--device", "cpu", "--out", "{tmp}/s"],
])
def test_nan_and_huge_weights(run, tmp_path, capsys, weights, message, command):
    bad = variant(run, tmp_path, weights=weights)
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in command]
    assert cli(*args, "--model", bad) == 2
    err = one_error_line(capsys)
    assert message in err and "p_in" not in err and "numerator" not in err
    assert not (tmp_path / "d.npz").exists() and not (tmp_path / "s" / "report.html").exists()


def test_huge_weights_in_attractors_say_what_is_wrong(run, tmp_path, capsys):
    bad = variant(run, tmp_path, weights=huge)
    assert cli("attractors", "--model", bad, "--out", tmp_path / "a", *ATTX) == 2
    err = one_error_line(capsys)
    assert "tol must be positive" not in err and "same latent point" in err


def test_the_explorer_answers_4xx_for_non_finite_models(run):
    from latentdyn.explore import create_app, load_explorer

    explorer = load_explorer([run])
    client = TestClient(create_app(explorer), base_url="http://127.0.0.1",
                        raise_server_exceptions=False)
    model = explorer.models[0].model
    with torch.no_grad():
        model.decoder_out.bias[0] = float("nan")
    r = client.post("/api/trajectory", json={"label": 0, "mode": "sampling", "steps": 3})
    assert r.status_code == 422 and "non-finite" in r.json()["error"]
    r = client.post("/api/trajectory", json={"label": 0, "mode": "deterministic", "steps": 3})
    assert 400 <= r.status_code < 500
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1e30)
    for mode in ("sampling", "deterministic"):
        r = client.post("/api/trajectory", json={"label": 0, "mode": mode, "steps": 3})
        assert 400 <= r.status_code < 500, r.text


# ------------------------------------------------------------------- 11: messages
def test_the_explorer_does_not_echo_a_300_digit_index(run):
    from latentdyn.explore import create_app, load_explorer

    client = TestClient(create_app(load_explorer([run])), base_url="http://127.0.0.1")
    for r in (client.post("/api/trajectory", json={"label": 0, "index": 10**300}),
              client.get("/api/image", params={"label": 0, "index": "9" * 300}),
              client.post("/api/trajectory", json={"label": -10**300, "index": 0})):
        assert r.status_code == 422 and "9" * 40 not in r.text and "0" * 40 not in r.text
        assert len(r.json()["error"]) < 120


@pytest.mark.parametrize("args", [["train", "--no-such-option"], ["train", "--nz", "x"],
                                  ["attractors"], ["reproduce", "nosuch"]])
def test_usage_errors_are_one_line(capsys, args):
    assert cli(*args) == 2
    assert "--help" in one_error_line(capsys)


def test_a_model_option_nested_100000_deep(tmp_path, capsys):
    """--option KEY=VALUE reads VALUE as JSON where it is JSON: one nested 100 000 deep is
    taken as text, and refused as a bad value in one line (it used to be an internal
    RecursionError)."""
    assert cli("train", "--dataset", DATA, "--epochs", 1, "--device", "cpu", "--quiet",
               "--option", "dropout=" + DEEP, "--out", tmp_path / "r") == 2
    assert "dropout" in one_error_line(capsys)
