"""The explorer's JSON API through Starlette's test client: every endpoint against
answers computed independently, every bad request of issue 13 (4xx, one line), no file
written, and `latentdyn explore` end to end on tiny runs (VAE, VMI VAE, GAN encoder)."""

import base64
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from latentdyn.analysis import build_hierarchy, distance_to, pca_2d
from latentdyn.cli import main
from latentdyn.data import corrupt, load_dataset
from latentdyn.dynamics import run_dynamics
from latentdyn.errors import ConfigError
from latentdyn.explore import build_explorer, create_app, load_explorer
from latentdyn.explore.schema import MAX_BODY_BYTES, MAX_STEPS
from latentdyn.explore.state import memory_map
from latentdyn.models.inference import encode_all, predict_labels
from latentdyn.train import TrainConfig, train
from latentdyn.train.runs import load_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.usefixtures("one_torch_thread")]

DATA = "synthetic:k=3,m=20,side=8,test=6"  # 60 training, 18 test images of 8x8, 3 labels
STATIC = Path(__file__).resolve().parents[1] / "src" / "latentdyn" / "explore" / "static"
CONST = dict(lr_factors=[1.0], lr_milestones=[])
CLF = dict(model="classifier", dataset=DATA, epochs=1, batch_size=10, device="cpu", lr=1e-2,
           model_options={"conv1": 4, "conv2": 8, "dense": 16}, **CONST)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("explore")
    vae = train(TrainConfig(dataset=DATA, nz=4, hidden=16, epochs=1, device="cpu"),
                root / "vae", progress=False)
    vae3 = train(TrainConfig(dataset=DATA, nz=3, hidden=16, epochs=1, device="cpu", seed=1),
                 root / "vae3", progress=False)
    clf = train(TrainConfig(**CLF), root / "clf", progress=False)
    return {"vae": vae, "vae3": vae3, "clf": clf, "root": root}


@pytest.fixture(scope="module")
def fixed(runs):
    """Fixed points for the first model: its concepts (a known place on the map)."""
    model, _ = load_run(runs["vae"])
    data = load_dataset(DATA)
    hier = build_hierarchy(model, data.train_images, data.train_labels)
    path = runs["root"] / "attractors.json"
    path.write_text(json.dumps({"fixed_points": [
        {"z": c.tolist(), "label": int(k), "stable": True}
        for k, c in zip(hier.classes, hier.concepts)]}))
    return path, hier


@pytest.fixture(scope="module")
def explorer(runs, fixed):
    return load_explorer([runs["vae"], runs["vae3"]], runs["clf"], [fixed[0]])


@pytest.fixture(scope="module")
def client(explorer):
    return TestClient(create_app(explorer), base_url="http://127.0.0.1")


def pixels(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8)


def u8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy().reshape(-1)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (hashlib.md5(p.read_bytes()).hexdigest(),
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def post(client, **body):
    return client.post("/api/trajectory", json=body)


# ----------------------------------------------------------------------- /api/model
def test_model_lists_both_models_their_maps_and_the_fixed_points(client, explorer, fixed):
    info = client.get("/api/model").json()
    assert [m["nz"] for m in info["models"]] == [4, 3]
    assert [m["name"] for m in info["models"]] == ["vae", "vae3"]
    assert info["dataset"]["shape"] == [8, 8] and info["dataset"]["classes"] == [0, 1, 2]
    assert info["dataset"]["counts"]["train"] == {"0": 20, "1": 20, "2": 20}
    assert info["dataset"]["counts"]["test"] == {"0": 6, "1": 6, "2": 6}
    assert info["limits"]["max_steps"] == MAX_STEPS and info["classifier"]["name"] == "clf"
    first = info["models"][0]["map"]
    assert len(first["memories"]) == 60 and len(first["concepts"]) == 3
    # the fixed points were put at the concepts: on the map they are the concepts
    np.testing.assert_allclose(first["fixed_points"]["points"], first["concepts"], atol=2e-4)
    assert first["fixed_points"]["info"][1] == {"label": 1, "stable": True}
    assert info["models"][1]["map"]["fixed_points"] is None
    # the map is Fig. A.1's PCA of the memories
    emb, ratios = pca_2d(explorer.models[0].hierarchy.memories)
    np.testing.assert_allclose(first["memories"], emb.numpy(), atol=1e-4)
    np.testing.assert_allclose(first["explained"], ratios.numpy(), atol=1e-4)


def test_memory_map_places_other_points_like_the_memories_even_rank_deficient():
    g = torch.Generator().manual_seed(0)
    low = torch.randn(50, 2, generator=g, dtype=torch.float64)
    memories = (low @ torch.randn(2, 5, generator=g, dtype=torch.float64)).float()  # rank 2
    m = memory_map(memories)
    emb, _ = pca_2d(memories)
    torch.testing.assert_close(m.project(memories), emb, atol=1e-4, rtol=0)
    torch.testing.assert_close(m.project(memories.mean(0)), torch.zeros(2), atol=1e-5, rtol=0)


# ----------------------------------------------------------------------- /api/image
def test_image_is_the_index_th_image_of_its_label(client, explorer):
    data = explorer.data
    body = client.get("/api/image", params={"split": "test", "label": 2, "index": 3}).json()
    row = int((data.test_labels == 2).nonzero()[3])
    assert body["row"] == row and body["count"] == 6 and body["shape"] == [8, 8]
    np.testing.assert_array_equal(pixels(body["pixels"]), u8(data.test_images[row]))
    default = client.get("/api/image", params={"label": 1}).json()
    assert default["split"] == "train" and default["index"] == 0
    assert default["row"] == int((data.train_labels == 1).nonzero()[0])


# ----------------------------------------------------------------------- /api/trajectory
def test_trajectory_is_repeated_inference_from_the_corrupted_image(client, explorer):
    r = post(client, source="train", label=1, index=4, noise="flip", p=0.3, steps=12, seed=5)
    assert r.status_code == 200, r.text
    body = r.json()
    data, row = explorer.data, int((explorer.data.train_labels == 1).nonzero()[4])
    x0 = corrupt(data.train_images[row][None], kind="flip", p=0.3, generator=5)
    np.testing.assert_array_equal(pixels(body["input"]["corrupted"]), u8(x0))
    np.testing.assert_array_equal(pixels(body["input"]["clean"]), u8(data.train_images[row]))
    assert body["steps"] == 12 and len(body["results"]) == 2
    for k, res in enumerate(body["results"]):
        entry = explorer.models[k]
        traj = run_dynamics(entry.model, x0, steps=12, record_x="all", generator=6)
        frames = pixels(res["frames"]).reshape(13, 64)
        np.testing.assert_array_equal(frames, u8(traj.x[0]).reshape(13, 64))
        np.testing.assert_array_equal(frames[0], u8(x0))  # the same input for both models
        hier = entry.hierarchy
        expect = {"memory": hier.memories[row], "concept": hier.concept(1),
                  "abstract": hier.abstract}
        for level, target in expect.items():
            d = distance_to(traj.z, target)[0].numpy()
            np.testing.assert_allclose(res["distances"][level], d, atol=1e-5)
            assert res["minima"][level]["t"] == int(d.argmin())
        assert res["memory_source"] == "own" and res["memory_row"] == row
        assert res["label"] == 1 and res["label_source"] == "data"
        np.testing.assert_allclose(res["map"], entry.map.project(traj.z[0]).numpy(), atol=1e-4)
        clf = predict_labels(explorer.classifier, traj.x[0])
        assert res["readings"]["labels"] == clf.tolist()
        assert all(0 < c <= 1 for c in res["readings"]["confidence"])


def test_same_request_same_numbers_and_p_changes_them(client):
    a = post(client, label=0, index=2, p=0.2, steps=8).json()
    b = post(client, label=0, index=2, p=0.2, steps=8).json()
    c = post(client, label=0, index=2, p=0.6, steps=8).json()
    for key in ("input", "results"):
        assert a[key] == b[key]
    assert a["input"]["corrupted"] != c["input"]["corrupted"]
    assert a["results"][0]["distances"] != c["results"][0]["distances"]


def test_sampling_mode_is_seeded(client):
    a = post(client, label=2, index=0, mode="sampling", steps=6, seed=3).json()
    b = post(client, label=2, index=0, mode="sampling", steps=6, seed=3).json()
    c = post(client, label=2, index=0, mode="sampling", steps=6, seed=4).json()
    assert a["results"] == b["results"] and a["results"] != c["results"]


def test_one_model_of_two_and_in_the_order_asked(client):
    body = post(client, label=0, models=[1], steps=3).json()
    assert [r["model"] for r in body["results"]] == [1]
    body = post(client, label=0, models=[1, 0], steps=3).json()
    assert [r["name"] for r in body["results"]] == ["vae3", "vae"]


def test_test_image_is_measured_against_its_nearest_memory(client, explorer):
    body = post(client, source="test", label=2, index=1, steps=4).json()
    row = int((explorer.data.test_labels == 2).nonzero()[1])
    for k, res in enumerate(body["results"]):
        hier = explorer.models[k].hierarchy
        z = encode_all(explorer.models[k].model, explorer.data.test_images[row][None])[0]
        nearest = int(torch.linalg.vector_norm(hier.memories - z, dim=1).argmin())
        assert res["memory_source"] == "nearest" and res["memory_row"] == nearest
        assert res["label"] == 2 and res["label_source"] == "data"


def test_a_drawn_copy_of_a_training_image_finds_that_image_as_its_memory(client, explorer):
    data = explorer.data
    row = int((data.train_labels == 1).nonzero()[7])
    drawn = data.train_images[row].tolist()
    as_drawn = post(client, source="drawn", pixels=drawn, label=1, steps=5, p=0.1).json()
    as_train = post(client, source="train", label=1, index=7, steps=5, p=0.1).json()
    for a, b in zip(as_drawn["results"], as_train["results"]):
        assert a["memory_source"] == "nearest" and a["memory_row"] == row
        assert a["label_source"] == "given"
        np.testing.assert_allclose(a["distances"]["concept"], b["distances"]["concept"],
                                   atol=1e-5)
    unlabelled = post(client, source="drawn", pixels=drawn, steps=2).json()
    read = int(predict_labels(explorer.classifier, data.train_images[row][None])[0])
    assert all(r["label_source"] == "classifier" and r["label"] == read
               for r in unlabelled["results"])


def test_without_a_classifier_a_drawn_image_takes_its_nearest_memorys_label(runs):
    ex = load_explorer([runs["vae"]])
    client = TestClient(create_app(ex), base_url="http://127.0.0.1")
    assert client.get("/api/model").json()["classifier"] is None
    drawn = ex.data.train_images[45].tolist()
    res = post(client, source="drawn", pixels=drawn, steps=2).json()["results"][0]
    assert res["readings"] is None and res["label_source"] == "nearest memory"
    assert res["label"] == int(ex.data.train_labels[res["memory_row"]])


# ----------------------------------------------------------------------- bad requests
BAD = [  # (body, status, words in the message)
    ({"label": 0, "p": 1.5}, 422, "p must be in [0, 1]"),
    ({"label": 0, "p": -0.1}, 422, "p must be in [0, 1]"),
    ({"label": 0, "p": "0.2"}, 400, "p must be a number"),
    ({"label": 0, "steps": MAX_STEPS + 1}, 422, f"steps must be in 0..{MAX_STEPS}"),
    ({"label": 0, "steps": -1}, 422, "steps must be in"),
    ({"label": 0, "steps": 2.5}, 400, "steps must be an integer"),
    ({"label": 7}, 404, "unknown label 7"),
    ({"label": "six"}, 400, "label must be an integer"),
    ({"label": 0, "index": 20}, 404, "index 20 is out of range"),
    ({"source": "test", "label": 0, "index": 6}, 404, "index 6 is out of range"),
    ({"label": 0, "index": -1}, 422, "index must be at least 0"),
    ({"source": "train"}, 400, "label is required"),
    ({"source": "drawn", "pixels": [0.5] * 63}, 422, "pixels has 63 values"),
    ({"source": "drawn", "pixels": [0.5] * 784}, 422, "a 8x8 image"),
    ({"source": "drawn", "pixels": [2.0] * 64}, 422, "in [0, 1]"),
    ({"source": "drawn", "pixels": "AAAA"}, 400, "pixels must be a list"),
    ({"source": "drawn"}, 400, "needs pixels"),
    ({"source": "drawn", "pixels": [0.5] * 64, "index": 3}, 400, "takes no index"),
    ({"source": "train", "label": 0, "pixels": [0.5] * 64}, 400, "only for source"),
    ({"source": "/etc/passwd", "label": 0}, 422, "unknown source"),
    ({"label": 0, "noise": "fog"}, 422, "unknown noise 'fog'"),
    ({"label": 0, "mode": "chaotic"}, 422, "unknown mode"),
    ({"label": 0, "seed": -1}, 422, "seed must be in"),
    ({"label": 0, "seed": 2**40}, 422, "seed must be in"),
    ({"label": 0, "models": [2]}, 422, "model id must be in 0..1"),
    ({"label": 0, "models": [0, 0]}, 400, "twice"),
    ({"label": 0, "models": []}, 400, "non-empty list"),
    ({"label": 0, "path": "/tmp/x"}, 400, "unknown field 'path'"),
    ([1, 2], 400, "JSON object"),
]


def one_line_error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    message = r.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("body, status, words", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_trajectory_request_is_a_4xx_with_one_line(client, body, status, words):
    assert words in one_line_error(client.post("/api/trajectory", json=body), status)


@pytest.mark.parametrize("raw, ctype, status, words", [
    (b'{"label": 0, "p": NaN}', "application/json", 400, "NaN is not a number"),
    (b'{"label": 0, "p": Infinity}', "application/json", 400, "Infinity"),
    (b'{"label": 0', "application/json", 400, "not valid JSON"),
    (b"\xff\xfe", "application/json", 400, "not valid JSON"),
    (b'{"label": 0}', "text/plain", 415, "as JSON"),
    (b" " * (MAX_BODY_BYTES + 1), "application/json", 413, "larger than"),
])
def test_malformed_bodies_are_refused(client, raw, ctype, status, words):
    r = client.post("/api/trajectory", content=raw, headers={"content-type": ctype})
    assert words in one_line_error(r, status)


@pytest.mark.parametrize("params, status, words", [
    ({"label": 9}, 404, "unknown label 9"),
    ({"label": 0, "index": 20}, 404, "out of range"),
    ({"label": 0, "index": "x"}, 400, "index must be an integer"),
    ({"label": 0, "index": -2}, 422, "index must be at least 0"),
    ({}, 400, "label is required"),
    ({"label": 0, "split": "validation"}, 422, "unknown split"),
    ({"label": 0, "file": "model.safetensors"}, 400, "unknown parameter 'file'"),
])
def test_bad_image_request_is_a_4xx_with_one_line(client, params, status, words):
    assert words in one_line_error(client.get("/api/image", params=params), status)


def test_wrong_methods_routes_and_hosts(client, explorer):
    assert one_line_error(client.get("/api/trajectory"), 405)
    assert one_line_error(client.get("/api/nothing"), 404)
    assert one_line_error(client.get("/static/../../train/runs.py"), 404)
    other = TestClient(create_app(explorer), base_url="http://attacker.example")
    assert other.get("/api/model").status_code == 400  # DNS rebinding: a foreign Host


def test_the_server_writes_nothing_into_the_run_folders(runs):
    folders = [runs["vae"], runs["vae3"], runs["clf"]]
    before = {f: snapshot(f) for f in folders}
    client = TestClient(create_app(load_explorer(folders[:2], folders[2])),
                        base_url="http://127.0.0.1")
    client.get("/api/model")
    client.get("/api/image", params={"label": 0})
    post(client, label=0, steps=5)
    post(client, source="drawn", pixels=[0.2] * 64, steps=5)
    post(client, label=0, p=3)
    assert {f: snapshot(f) for f in folders} == before


# ----------------------------------------------------------------------- the page
def test_page_and_assets_are_served_from_the_package_and_need_no_network(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/explore.js" in refs and "/static/explore.css" in refs
    for ref in refs:
        if ref.startswith("/static/"):
            assert client.get(ref).status_code == 200, ref
    for f in STATIC.iterdir():
        text = f.read_text()
        assert not re.search(r"https?://", text), f"{f.name} names a URL"


# ----------------------------------------------------------------------- the command
def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def no_serving(monkeypatch):
    """Fail the test if a server would start."""
    import latentdyn.explore.server as server

    def refuse(*a, **k):
        raise AssertionError("the server started")

    monkeypatch.setattr(server, "serve", refuse)


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_a_model_that_fails_to_load_stops_before_the_server(runs, tmp_path, capsys, no_serving):
    assert cli("explore", "--model", tmp_path / "nothing", "--no-browser") == 2
    assert "not a run folder" in one_error(capsys)  # the loader every --model goes through
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "manifest.json"):
        (broken / name).write_bytes((runs["vae"] / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"not safetensors at all")
    assert cli("explore", "--model", broken, "--no-browser") == 2
    assert "not a readable safetensors file" in one_error(capsys)
    assert cli("explore", "--model", runs["clf"], "--no-browser") == 2
    assert "is a 'classifier' run" in one_error(capsys)
    assert cli("explore", "--model", runs["vae"], "--classifier", runs["vae3"],
               "--no-browser") == 2
    assert "--classifier needs a run trained with --model classifier" in one_error(capsys)
    assert cli("explore", *["--model", runs["vae"]] * 3, "--no-browser") == 2
    assert "at most 2" in one_error(capsys)


def test_bad_attractors_and_ports_stop_before_the_server(runs, tmp_path, capsys, no_serving):
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([[0.0, 1.0]]))
    assert cli("explore", "--model", runs["vae"], "--attractors", wrong, "--no-browser") == 2
    assert "not a list of 4 finite numbers" in one_error(capsys)
    junk = tmp_path / "junk.json"
    junk.write_text("{nope")
    assert cli("explore", "--model", runs["vae"], "--attractors", junk, "--no-browser") == 2
    assert "not valid JSON" in one_error(capsys)
    assert cli("explore", "--model", runs["vae"], "--attractors", tmp_path, "--no-browser") == 2
    assert "no attractors.json" in one_error(capsys)
    assert cli("explore", "--model", runs["vae"], "--port", 70000, "--no-browser") == 2
    assert "--port must be in 0..65535" in one_error(capsys)


def test_a_port_in_use_is_one_line(runs, capsys, no_serving):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert cli("explore", "--model", runs["vae"], "--port", port, "--no-browser") == 2
    assert "cannot listen on 127.0.0.1" in one_error(capsys)


def test_attractors_folder_holding_attractors_json(runs, fixed, tmp_path):
    folder = tmp_path / "att"
    folder.mkdir()
    (folder / "attractors.json").write_text(fixed[0].read_text())
    ex = load_explorer([runs["vae"]], attractor_paths=[folder])
    torch.testing.assert_close(ex.models[0].fixed_points, fixed[1].concepts)


def test_attractors_output_folder_layout(runs, fixed, tmp_path):
    """`latentdyn attractors --out F` writes F/data/attractors.json, whose fixed_points is
    a count today: refused in one line; with a fixed_point_list it is read."""
    (tmp_path / "data").mkdir()
    summary = tmp_path / "data" / "attractors.json"
    summary.write_text(json.dumps({"fixed_points": 3, "stable_fixed_points": 1}))
    with pytest.raises(ConfigError, match="records 3 fixed points but not where they are"):
        load_explorer([runs["vae"]], attractor_paths=[tmp_path])
    points = [{"z": c.tolist(), "basin": 5} for c in fixed[1].concepts[:2]]
    summary.write_text(json.dumps({"fixed_points": 2, "fixed_point_list": points}))
    ex = load_explorer([runs["vae"]], attractor_paths=[tmp_path])
    assert ex.models[0].fixed_info == [{"basin": 5}, {"basin": 5}]
    torch.testing.assert_close(ex.models[0].fixed_points, fixed[1].concepts[:2])


@pytest.mark.slow
def test_explore_command_serves_until_interrupted(runs):
    """End to end: the real command in a subprocess, on a free port, stopped by Ctrl-C."""
    import httpx

    code = "import sys; from latentdyn.cli import run; sys.argv[0] = 'latentdyn'; run()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "explore", "--model", str(runs["vae"]), "--model",
         str(runs["vae3"]), "--classifier", str(runs["clf"]), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "the command printed no address within 120 s"
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
        info = httpx.get(url.group(0) + "api/model", timeout=20).json()
        assert [m["name"] for m in info["models"]] == ["vae", "vae3"]
        r = httpx.post(url.group(0) + "api/trajectory", json={"label": 1, "steps": 80},
                       timeout=20)
        assert r.status_code == 200 and len(r.json()["results"]) == 2
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in out


# ----------------------------------------------------------------------- other kinds
GAN_DATA = "synthetic:k=4,m=24,side=8,test=8"


@pytest.mark.slow
def test_explore_works_on_the_vmi_vae_and_the_gan_encoder(tmp_path):
    vmi = train(TrainConfig(model="vmi", dataset=GAN_DATA, nz=3, hidden=16, epochs=1,
                            batch_size=16, device="cpu", lr=1e-2,
                            model_options={"n_cat": 4, "arch": "conv", "channels": 4,
                                           "q_hidden": 16, "lam": 1.0, "codes": "cat,0",
                                           "temp_steps": 10, "q_source": "both"}),
                tmp_path / "vmi", progress=False)
    clf = train(TrainConfig(**{**CLF, "dataset": GAN_DATA, "batch_size": 16}), tmp_path / "clf",
                progress=False)
    gan = train(TrainConfig(model="gan", dataset=GAN_DATA, nz=8, epochs=1, batch_size=16,
                            device="cpu", lr=2e-4, model_options={
                                "g_width": 16, "d_width": 8, "grid": 16,
                                "diversity_samples": 32, "classifier": str(clf)}, **CONST),
                tmp_path / "gan", progress=False)
    enc = train(TrainConfig(model="gan-encoder", dataset=GAN_DATA, nz=8, epochs=1,
                            batch_size=16, device="cpu", lr=1e-3, model_options={
                                "gan": str(gan), "classifier": str(clf), "g_width": 16,
                                "e_width": 8, "e_hidden": 16}, **CONST),
                tmp_path / "enc", progress=False)
    ex = load_explorer([vmi, enc], clf)
    assert [(e.kind, e.nz) for e in ex.models] == [("vmi", 3), ("gan-encoder", 8)]
    client = TestClient(create_app(ex), base_url="http://127.0.0.1")
    for mode in ("deterministic", "sampling"):
        body = post(client, label=3, index=2, mode=mode, steps=10).json()
        assert [len(r["distances"]["concept"]) for r in body["results"]] == [11, 11], body
        assert all(len(r["readings"]["labels"]) == 11 for r in body["results"])
    assert cli("explore", "--model", gan, "--no-browser") == 2  # a GAN alone has no encoder


def test_build_explorer_takes_any_protocol_model():
    class Identity(torch.nn.Module):  # a model with a known answer: z = x, x = z
        def encode(self, x):
            return x

        def decode(self, z):
            return z

    data = load_dataset(DATA)
    ex = build_explorer([("identity", "user", Identity())], data)
    client = TestClient(create_app(ex), base_url="http://127.0.0.1")
    res = post(client, label=0, index=0, p=0.0, steps=3).json()["results"][0]
    assert res["distances"]["memory"] == [0.0] * 4  # x(0) is its own memory, for ever
