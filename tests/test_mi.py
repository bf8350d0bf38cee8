import json
import math

import pytest
import torch
from torch import nn

from latentdyn.cli import main
from latentdyn.errors import ConfigError
from latentdyn.analysis.mi import estimate_mi
from latentdyn.models.codes import GAUSS_ENTROPY, categorical_accuracy, majority_mapping
from latentdyn.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


K = 4
FAST = dict(n_fits=2, steps=250, batch_size=64, n_train=1000, n_test=1000, q_hidden=32, lr=1e-2)


class Toy(nn.Module):
    """Two Gaussian units and a K-way code. The decoder writes the chosen parts into
    pixels (recoverable) and leaves the others out (ignored)."""

    def __init__(self, keep_cat: bool, keep_z0: bool = True):
        super().__init__()
        self.n_gauss, self.n_cat = 2, K
        self.keep_cat, self.keep_z0 = keep_cat, keep_z0
        self.dummy = nn.Parameter(torch.zeros(()))  # a device and a train/eval mode

    def encode(self, x):
        return x[:, :2], torch.zeros_like(x[:, :2])

    def categorical_probs(self, x):
        return torch.softmax(4 * x[:, 2:2 + K], -1)

    def decode(self, z):
        g, c = z[:, :2], z[:, 2:]
        z0 = torch.sigmoid(g[:, :1]) if self.keep_z0 else torch.full_like(g[:, :1], 0.5)
        cat = c if self.keep_cat else torch.zeros_like(c)
        return torch.cat([z0, cat, torch.full((z.shape[0], 5), 0.3)], -1)


def test_fully_recoverable_code_gives_ln_k():
    res = estimate_mi(Toy(keep_cat=True), codes="all", **FAST)
    assert res.names() == ["z0", "z1", "cat"]
    cat = res["cat"]
    assert cat.entropy == pytest.approx(math.log(K))
    assert len(cat.bounds) == 2
    assert cat.mean == pytest.approx(math.log(K), abs=0.08)
    assert cat.sd < 0.05
    # the Gaussian unit written into a pixel is informative, the one left out is not
    assert res["z0"].entropy == pytest.approx(GAUSS_ENTROPY)
    assert res["z0"].mean > 1.0
    assert abs(res["z1"].mean) < 0.1


def test_ignored_code_gives_zero():
    res = estimate_mi(Toy(keep_cat=False, keep_z0=False), codes="cat,0", **FAST)
    assert res.names() == ["z0", "cat"]
    assert abs(res["cat"].mean) < 0.08
    assert abs(res["z0"].mean) < 0.1
    # deterministic for a seed
    again = estimate_mi(Toy(keep_cat=False, keep_z0=False), codes="cat,0", **FAST)
    assert again["cat"].ce == res["cat"].ce


def test_posterior_source_uses_aggregate_entropies():
    torch.manual_seed(0)
    images = torch.rand(300, 2 + K)
    images[:, 2:] = torch.nn.functional.one_hot(torch.randint(0, K, (300,)), K) * 3.0
    res = estimate_mi(Toy(keep_cat=True), images, codes="cat", source="posterior", **FAST)
    # the code is drawn from q(c|x); its aggregate entropy is close to ln K but below it
    assert 0.8 * math.log(K) < res["cat"].entropy <= math.log(K) + 1e-9
    assert res["cat"].mean == pytest.approx(res["cat"].entropy, abs=0.1)
    assert "aggregate" in res.settings["entropy_note"]


def test_errors():
    class NoWidth(nn.Module):
        def encode(self, x):
            return x

        def decode(self, z):
            return z

    with pytest.raises(ConfigError, match="no n_gauss"):
        estimate_mi(NoWidth(), codes="0")
    # with images the width is read from encode()
    res = estimate_mi(NoWidth(), torch.rand(10, 3), codes="1", n_fits=1, steps=2, n_train=20,
                      n_test=10, q_hidden=4)
    assert res.names() == ["z1"] and res.settings["n_gauss"] == 3
    with pytest.raises(ConfigError, match="needs images"):
        estimate_mi(Toy(True), source="posterior")
    with pytest.raises(ConfigError, match="outside"):
        estimate_mi(Toy(True), codes="5")
    with pytest.raises(ConfigError, match="source"):
        estimate_mi(Toy(True), source="bogus")


def test_categorical_accuracy_and_mapping():
    codes = torch.tensor([0, 0, 0, 1, 1, 2])
    labels = torch.tensor([5, 5, 3, 1, 1, 2])
    assert categorical_accuracy(codes, labels) == pytest.approx(5 / 6)
    assert majority_mapping(codes, labels, 4) == [5, 1, 2, -1]


DATA = "synthetic:k=4,m=20,side=8,test=10"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("mi_runs")
    vmi = train(TrainConfig(model="vmi", dataset=DATA, nz=3, hidden=16, epochs=1, batch_size=20,
                            device="cpu", model_options={"n_cat": 4, "arch": "fc", "lam": 1.0,
                                                         "q_hidden": 16}),
                root / "vmi", progress=False)
    vae = train(TrainConfig(dataset=DATA, nz=3, hidden=16, epochs=1, batch_size=20, device="cpu"),
                root / "vae", progress=False)
    return vmi, vae


def test_cli_on_a_vmi_run_writes_json(runs, tmp_path, capsys):
    out = tmp_path / "mi.json"
    rc = main(["mi", "--model", str(runs[0]), "--fits", "2", "--steps", "20", "--n-train", "200",
               "--n-test", "100", "--q-hidden", "16", "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "bound (mean ± sd)" in text and "cat" in text and "z2" in text
    data = json.loads(out.read_text())
    names = [c["code"] for c in data["codes"]]
    assert names == ["z0", "z1", "z2", "cat"]
    cat = data["codes"][-1]
    assert cat["chosen"] is True and data["codes"][0]["chosen"] is False
    assert len(cat["bound"]) == 2 and cat["entropy"] == pytest.approx(math.log(4))
    assert data["settings"]["source"] == "prior"


def test_cli_on_the_paper_vae_posterior_source(runs, capsys):
    rc = main(["mi", "--model", str(runs[1]), "--codes", "0-1", "--source", "posterior",
               "--fits", "2", "--steps", "10", "--n-train", "100", "--n-test", "50", "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "z0" in text and "z1" in text and "z2" not in text.split("---")[-1].split("nats")[0]


def test_cli_errors(tmp_path, capsys):
    assert main(["mi", "--model", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


# --------------------------------------- the code read as labels, held out (issue 11, S3)
def test_code_accuracy_held_out_with_measured_chance():
    from latentdyn.analysis.mi import code_accuracy

    g = torch.Generator().manual_seed(0)
    train_y = torch.randint(0, 10, (3000,), generator=g)
    test_y = torch.randint(0, 10, (1000,), generator=g)
    # a code that is the label, relabelled: the mapping is learnt on the training images
    perfect = code_accuracy((train_y + 3) % 10, train_y, (test_y + 3) % 10, test_y, 10,
                            n_permutations=50, seed=1)
    assert perfect.accuracy == 1.0 and perfect.purity == 1.0
    assert perfect.mapping == [(v - 3) % 10 for v in range(10)]
    assert 0.05 < perfect.null.mean < 0.2 and perfect.null.quantile < 0.2
    # random codes: held-out accuracy at chance, while the test set's purity is optimistic
    rand = code_accuracy(torch.randint(0, 10, (3000,), generator=g), train_y,
                         torch.randint(0, 10, (1000,), generator=g), test_y, 10,
                         n_permutations=50, seed=1)
    assert rand.null.p_value(rand.accuracy) > 0.05
    assert rand.purity > rand.accuracy
    assert rand.correct.shape == (1000,) and rand.summary()["permutations"] == 50
    # a code value never seen in training maps to no label: wrong on the test images
    unseen = code_accuracy(torch.zeros(5, dtype=torch.long), torch.zeros(5, dtype=torch.long),
                           torch.ones(4, dtype=torch.long), torch.ones(4, dtype=torch.long), 2,
                           n_permutations=0)
    assert unseen.accuracy == 0.0 and unseen.mapping == [0, -1] and unseen.null is None
    with pytest.raises(ConfigError, match="lie in"):
        code_accuracy([0, 3], [0, 1], [0], [0], 2)
    with pytest.raises(ConfigError, match="one label"):
        code_accuracy([0, 1], [0], [0], [0], 2)
