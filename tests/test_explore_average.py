"""The explorer's averaged view (``POST /api/average``, issue 23) and the API details
the page builds on: the trials are those of ``latentdyn dynamics --label`` (computed
here independently), mean ± SEM, every trace, the minimum of the mean with its t* and
final value; the map's memories name their images; a foreign Host gets JSON."""

import base64
import warnings

import numpy as np
import pytest
import torch

from latentdyn.analysis import build_hierarchy, distance_to, mean_sem
from latentdyn.analysis.trials import run_trials
from latentdyn.data import corrupt, load_dataset
from latentdyn.dynamics import run_dynamics
from latentdyn.errors import ConfigError
from latentdyn.explore import average, build_explorer, create_app, trajectory
from latentdyn.models import VAE, VAEConfig

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.usefixtures("one_torch_thread")]

DATA = "synthetic:k=3,m=20,side=8,test=6"


@pytest.fixture(scope="module")
def setup():
    data = load_dataset(DATA)
    torch.manual_seed(0)
    a = VAE(VAEConfig(input_dim=64, hidden=16, nz=4)).eval()
    torch.manual_seed(1)
    b = VAE(VAEConfig(input_dim=64, hidden=16, nz=3)).eval()
    ex = build_explorer([("a", "vae", a), ("b", "vae", b)], data)
    return data, a, b, ex


@pytest.fixture(scope="module")
def client(setup):
    return TestClient(create_app(setup[3]), base_url="http://127.0.0.1")


def test_average_over_images_is_the_dynamics_commands_trials(setup, client):
    data, a, b, ex = setup
    body = {"label": 2, "p": 0.3, "steps": 6, "seed": 4, "trials": 12, "vary": "images"}
    r = client.post("/api/average", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    rows, traj = run_trials(a, data.train_images, data.train_labels, 2, 12, "swap", 0.3, 6,
                            "deterministic", 4)
    assert got["input"]["rows"] == rows.tolist()
    hier = build_hierarchy(a, data.train_images, data.train_labels)
    res = got["results"][0]
    for level, target in [("memory", hier.memories[rows]), ("concept", hier.concept(2)),
                          ("abstract", hier.abstract)]:
        d = distance_to(traj.z, target)
        mean, sem = mean_sem(d)
        lv = res["levels"][level]
        np.testing.assert_allclose(lv["traces"], d.numpy(), atol=1e-3)
        np.testing.assert_allclose(lv["mean"], mean.numpy(), atol=1e-4)
        np.testing.assert_allclose(lv["sem"], sem.numpy(), atol=1e-4)
        assert lv["t"] == int(mean.argmin()) and lv["min"] == pytest.approx(float(mean.min()),
                                                                             abs=1e-4)
        assert lv["final"] == pytest.approx(float(mean[-1]), abs=1e-4)
        assert lv["trial_min"]["mean"] == pytest.approx(float(d.min(1).values.mean()), abs=1e-4)
    frames = np.frombuffer(base64.b64decode(res["frames"]), np.uint8).reshape(7, 64)
    assert frames.std() > 0  # the mean image x̄(t) over the trials (checked below)
    assert got["results"][1]["name"] == "b" and len(got["results"][1]["levels"]["memory"][
        "traces"]) == 12
    again = average(ex, **body)
    assert again["results"][0]["levels"] == res["levels"]  # seeded: the same numbers


def test_average_over_noise_starts_every_trial_from_one_image(setup):
    data, a, b, ex = setup
    got = average(ex, source="test", label=1, index=2, trials=5, steps=4, seed=3,
                  vary="noise", models=[0])
    x = data.test_images[(data.test_labels == 1).nonzero().flatten()[2]]
    x0 = corrupt(x[None].expand(5, -1).clone(), kind="swap", p=0.2, generator=3)
    traj = run_dynamics(a, x0, steps=4, generator=4)
    res = got["results"][0]
    assert res["memory_source"] == "nearest"
    hier = build_hierarchy(a, data.train_images, data.train_labels)
    d = distance_to(traj.z, hier.concept(1))
    np.testing.assert_allclose(res["levels"]["concept"]["traces"], d.numpy(), atol=1e-3)
    assert len({tuple(t) for t in res["levels"]["concept"]["traces"]}) > 1  # 5 noises


def test_single_trajectory_gives_each_minimum_its_t_and_final_value(setup):
    data, a, b, ex = setup
    got = trajectory(ex, source="test", label=0, index=1, steps=7, seed=2)
    for res in got["results"]:
        for level, m in res["minima"].items():
            d = np.array(res["distances"][level])
            assert m["final"] == pytest.approx(d[-1], abs=1e-5)
            assert m["value"] == pytest.approx(d.min(), abs=1e-5)  # d is rounded: ties
            assert d[m["t"]] == pytest.approx(d.min(), abs=1e-5)
        mem = np.frombuffer(base64.b64decode(res["memory_image"]), np.uint8)
        want = (data.train_images[res["memory_row"]] * 255).round().numpy()
        np.testing.assert_array_equal(mem, want.astype(np.uint8))


def test_map_points_name_their_training_images(setup, client):
    data, a, b, ex = setup
    info = client.get("/api/model").json()
    m = info["models"][0]["map"]
    for k in (0, 7, len(m["rows"]) - 1):
        label, index, row = m["labels"][k], m["index"][k], m["rows"][k]
        img = client.get("/api/image", params={"label": label, "index": index}).json()
        assert img["row"] == row
    assert info["limits"]["max_trials"] >= 50 and info["limits"]["vary"] == ["images", "noise"]


@pytest.mark.parametrize("body,status,words", [
    ({"label": 0, "trials": 1}, 422, "trials must be in 2.."),
    ({"label": 0, "trials": ""}, 400, "trials must be an integer"),
    ({"label": 0, "trials": 10**40}, 422, "a number of 41 digits"),
    ({"label": 0, "vary": "seeds"}, 422, "unknown vary"),
    ({"source": "test", "label": 0}, 400, "vary 'images' draws training images"),
    ({"label": 0, "steps": None}, 400, "steps must be an integer"),
    ({"label": 0, "extra": 1}, 400, "unknown field 'extra'"),
    ([1, 2], 400, "must be a JSON object"),
])
def test_bad_average_request_is_a_4xx_with_one_line(client, body, status, words):
    r = client.post("/api/average", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"] and "\n" not in r.json()["error"]


def test_a_bad_python_call_raises_the_same_line(setup):
    with pytest.raises(ConfigError, match="trials must be in 2"):
        average(setup[3], label=0, trials=1)


def test_a_foreign_host_gets_a_json_error(setup):
    other = TestClient(create_app(setup[3]), base_url="http://attacker.example")
    for r in (other.get("/api/model"), other.get("/"), other.post("/api/average", json={})):
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/json"
        assert "attacker.example" in r.json()["error"]
    ok = TestClient(create_app(setup[3]), base_url="http://localhost:8000")
    assert ok.get("/api/model").status_code == 200
    wild = TestClient(create_app(setup[3], allowed_hosts=["*"]), base_url="http://a.example")
    assert wild.get("/api/model").status_code == 200


def test_the_end_of_a_trajectory_names_its_nearest_memory(setup):
    data, a, b, ex = setup
    got = trajectory(ex, source="train", label=1, index=3, steps=5, seed=1, models=[0])
    res = got["results"][0]
    z = run_dynamics(a, corrupt(data.train_images[[int(res["memory_row"])]], kind="swap",
                                p=0.2, generator=1), steps=5, generator=2).z[0, -1]
    hier = build_hierarchy(a, data.train_images, data.train_labels)
    d = torch.linalg.vector_norm(hier.memories - z, dim=1)
    assert res["end"]["row"] == int(d.argmin())
    assert res["end"]["distance"] == pytest.approx(float(d.min()), abs=1e-4)
    assert res["end"]["label"] == int(hier.labels[d.argmin()])
    many = average(ex, label=2, trials=6, steps=5, models=[0])["results"][0]["end"]
    assert many["of"] == 6 and 0 <= many["own_memory"] <= 6 and 0 <= many["label"] <= 6
