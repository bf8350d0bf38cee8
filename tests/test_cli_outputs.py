"""The analysis commands' promise: errors in the input are one `error:` line with status
2, nothing existing is overwritten unless --overwrite, every option and input is checked
before an output is touched, and one writer holds an output folder at a time
(`dynamics`, `lsd`, `mi`, `classifier`, `data`)."""

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from latentdyn.cli import main
from latentdyn.data import list_datasets, load_dataset, mnist
from latentdyn.data.idx import encode_idx
from latentdyn.errors import DataError
from latentdyn.io import folder_lock
from latentdyn.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "synthetic:k=3,m=10,side=6,test=6"  # 30 training images of 6x6 in 3 classes
FAST_MI = ["--fits", "1", "--steps", "5", "--n-train", "50", "--n-test", "20",
           "--q-hidden", "8", "--quiet"]
FAST_LSD = ["--prior-samples", "60", "--max-per-class", "20", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    vae = train(TrainConfig(dataset=DATA, nz=4, hidden=8, epochs=1, batch_size=10,
                            device="cpu"), root / "vae", progress=False)
    clf = train(TrainConfig(model="classifier", dataset=DATA, epochs=1, batch_size=10,
                            device="cpu", lr=1e-2, lr_factors=[1.0], lr_milestones=[],
                            model_options={"conv1": 4, "conv2": 8, "dense": 16,
                                           "num_classes": 3}),
                root / "clf", progress=False)
    return vae, clf


@pytest.fixture
def vae(runs, tmp_path):
    """A fresh copy of the VAE run (dynamics writes into its run folder by default)."""
    return Path(shutil.copytree(runs[0], tmp_path / "vae"))


def cli(*args) -> int:
    return main([str(a) for a in args])


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (lock files aside) with the md5 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".latentdyn.lock"}


# ---------------------------------------------------------------------------- dynamics
DYN = ["--trials", "3", "--steps", "2", "--p", "0.1,0.3", "--device", "cpu", "--quiet"]


def test_dynamics_refuses_to_replace_results_without_overwrite(vae, capsys):
    assert cli("dynamics", "--model", vae, *DYN, "--seed", 1) == 0
    capsys.readouterr()
    first = snapshot(vae)
    assert {"dynamics-swap.npz", "dynamics-swap.json", "dynamics-swap.manifest.json"} <= set(first)
    assert cli("dynamics", "--model", vae, *DYN, "--seed", 2) == 2
    err = one_error(capsys)
    assert "dynamics-swap" in err and "--overwrite" in err
    assert snapshot(vae) == first
    assert cli("dynamics", "--model", vae, *DYN, "--seed", 2, "--overwrite") == 0
    again = snapshot(vae)
    assert again["dynamics-swap.npz"] != first["dynamics-swap.npz"]
    assert json.loads((vae / "dynamics-swap.json").read_text())["seed"] == 2


def test_dynamics_outputs_never_swallow_one_another(vae, tmp_path, capsys):
    out = tmp_path / "x.json"
    assert cli("dynamics", "--model", vae, *DYN, "--out", out) == 2
    assert ".npz" in one_error(capsys)
    assert not out.exists() and not list(tmp_path.glob("x.*"))
    out = tmp_path / "res" / "x.npz"
    assert cli("dynamics", "--model", vae, *DYN, "--out", out) == 0
    names = {p.name for p in out.parent.iterdir()}
    assert {"x.npz", "x.json", "x.manifest.json"} <= names
    with np.load(out) as z:
        assert z["z"].shape == (2, 3, 3, 4)
    assert json.loads((out.parent / "x.json").read_text())["trials"] == 3


def test_dynamics_manifest_is_completed_with_the_command_line(vae, tmp_path):
    out = tmp_path / "d.npz"
    args = ["dynamics", "--model", str(vae), *DYN, "--out", str(out)]
    assert main(args) == 0
    manifest = json.loads((tmp_path / "d.manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["kind"] == "dynamics"
    assert manifest["command"] == ["latentdyn", *args]
    assert manifest["config"]["trials"] == 3


def test_dynamics_waits_for_no_one_in_its_output_folder(vae, tmp_path, capsys):
    with folder_lock(tmp_path / "busy"):
        assert cli("dynamics", "--model", vae, *DYN, "--out", tmp_path / "busy" / "d.npz") == 2
    assert "in use by another latentdyn process" in one_error(capsys)
    assert not (tmp_path / "busy" / "d.npz").exists()


def test_dynamics_bad_mode_before_any_output(vae, capsys):
    before = snapshot(vae)
    assert cli("dynamics", "--model", vae, *DYN, "--mode", "bogus") == 2
    assert "--mode" in one_error(capsys)
    assert snapshot(vae) == before


# --------------------------------------------------------------------------------- lsd
def test_lsd_keeps_a_result_exactly_when_the_next_command_is_refused(runs, tmp_path, capsys):
    vae, clf = runs
    out = tmp_path / "lsd"
    args = ["lsd", "--model", vae, "--classifier", clf, "--out", out, "--device", "cpu",
            *FAST_LSD]
    assert cli(*args) == 0
    capsys.readouterr()
    first = snapshot(out)
    assert set(first) == {"basis.safetensors", "lsd.json", "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["command"] == ["latentdyn", *map(str, args)]
    for extra, message in ((["--batch-size", "0"], "--batch-size"),
                           (["--max-per-class", "0"], "--max-per-class"),
                           (["--prior-samples", "-1"], "--prior-samples"),
                           (["--dataset", "digits"], "64 values"),
                           (["--device", "bogus"], "unknown device"),
                           ([], "--overwrite")):
        assert cli(*args, *extra) == 2, extra
        assert message in one_error(capsys)
        assert snapshot(out) == first, extra
    assert cli(*args, "--seed", "3", "--overwrite") == 0
    assert json.loads((out / "manifest.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("extra, message", [
    (["--batch-size", "0"], "--batch-size must be >= 1"),
    (["--dataset", "digits"], "has 64 values per image"),
    (["--classifier", "VAE"], "--classifier needs a run trained with --model classifier"),
    (["--seed", "-1"], "--seed must be"),
])
def test_lsd_bad_input_is_one_line_and_writes_nothing(runs, tmp_path, capsys, extra, message):
    vae, clf = runs
    if extra[:1] == ["--classifier"]:
        extra = ["--classifier", str(vae)]
    out = tmp_path / "lsd"
    assert cli("lsd", "--model", vae, "--classifier", clf, "--out", out, "--device", "cpu",
               *FAST_LSD, *extra) == 2
    assert message in one_error(capsys)
    assert not out.exists()


def test_lsd_failing_analysis_creates_no_folder(runs, tmp_path, capsys, monkeypatch):
    import latentdyn.analysis.lsd as lsd_api
    from latentdyn.errors import ConfigError

    def fails(*args, **kwargs):
        raise ConfigError("the class means are linearly dependent")

    monkeypatch.setattr(lsd_api, "analyse", fails)
    out = tmp_path / "lsd"
    assert cli("lsd", "--model", runs[0], "--classifier", runs[1], "--out", out,
               *FAST_LSD) == 2
    assert "linearly dependent" in one_error(capsys)
    assert not out.exists()


def test_lsd_default_folder_is_not_created_by_a_refused_command(vae, runs, capsys):
    assert cli("lsd", "--model", vae, "--classifier", runs[1], "--dataset", "digits",
               *FAST_LSD) == 2
    one_error(capsys)
    assert not (vae / "lsd").exists()


# ---------------------------------------------------------------------------------- mi
def test_mi_refuses_to_replace_its_json_without_overwrite(runs, tmp_path, capsys):
    out = tmp_path / "mi.json"
    args = ["mi", "--model", str(runs[0]), *FAST_MI, "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    first = out.read_bytes()
    assert json.loads(first)["command"] == ["latentdyn", *args]
    assert main([*args, "--seed", "4"]) == 2
    assert "--overwrite" in one_error(capsys)
    assert out.read_bytes() == first
    assert main([*args, "--seed", "4", "--overwrite"]) == 0
    assert json.loads(out.read_text())["settings"]["seed"] == 4


def test_mi_posterior_of_another_width_is_one_line(runs, tmp_path, capsys):
    out = tmp_path / "mi.json"
    assert cli("mi", "--model", runs[0], "--source", "posterior", "--dataset", "digits",
               *FAST_MI, "--out", out) == 2
    assert "has 64 values per image" in one_error(capsys)
    assert not out.exists()


def test_mi_bad_options_before_loading(runs, capsys):
    assert cli("mi", "--model", runs[0], *FAST_MI, "--steps", "0") == 2
    assert "--steps" in one_error(capsys)


# ------------------------------------------------------------------------ the device
@pytest.mark.parametrize("command", ["dynamics", "mi", "lsd", "classifier eval"])
def test_unknown_device_is_one_line(runs, vae, tmp_path, capsys, command):
    args = {"dynamics": ["dynamics", "--model", vae, *DYN[:-3], "--quiet"],
            "mi": ["mi", "--model", vae, *FAST_MI, "--out", tmp_path / "mi.json"],
            "lsd": ["lsd", "--model", vae, "--classifier", runs[1], *FAST_LSD],
            "classifier eval": ["classifier", "eval", "--model", runs[1]]}[command]
    before = snapshot(vae)
    assert cli(*args, "--device", "bogus") == 2
    assert "unknown device 'bogus'" in one_error(capsys)
    assert snapshot(vae) == before and not (tmp_path / "mi.json").exists()


# --------------------------------------------- attractors, dynamics, lsd: the study shape
# every option and default of the three commands before they ran on the study driver,
# with the options of --model's sources (issue 22) and attractors' --method auto
SOURCE = {"--weights": None, "--model-kind": None, "--trust-pickles": False}
OPTIONS = {
    "attractors": {"--model": None, "--classifier": None, "--dataset": None,
                   "--data-dir": None, "--noise": "swap", "--p": "0,0.1,0.2,0.3,0.4,0.6,0.8,1",
                   "--trials": 100, "--label": None, "--steps": 80, "--memories": 500,
                   "--starts": 1000, "--tol": 1e-3, "--max-steps": 500, "--method": "auto",
                   "--seed": 0, "--device": "auto", "--out": None, "--overwrite": False,
                   "--quiet": False, **SOURCE},
    "dynamics": {"--model": None, "--dataset": None, "--data-dir": None, "--noise": "swap",
                 "--p": "0.1,0.2,0.4", "--trials": 100, "--label": None, "--steps": 80,
                 "--mode": "deterministic", "--seed": 0, "--device": "auto", "--out": None,
                 "--report-trials": 4, "--overwrite": False, "--quiet": False, **SOURCE},
    "lsd": {"--model": None, "--classifier": None, "--dataset": None, "--data-dir": None,
            "--out": None, "--max-per-class": 5000, "--prior-samples": 20000,
            "--train-images": None, "--test-images": None, "--batch-size": 1000, "--seed": 0,
            "--device": "cpu", "--overwrite": False, "--progress": True, **SOURCE},
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_the_options_come_from_params_and_keep_their_flags_and_defaults(name):
    import dataclasses
    import importlib

    import click

    from latentdyn.cli import cli as group

    study = importlib.import_module(f"latentdyn.studies.{name}").STUDY
    command = group.get_command(click.Context(group), name)
    options = [o for o in command.params if isinstance(o, click.Option) and o.name != "help"]
    fields = {f.name: f for f in dataclasses.fields(study.params)}
    assert {o.name for o in options} <= set(fields)  # one option per field of Params
    got = {o.opts[0]: None if o.required else o.default for o in options}
    assert got == OPTIONS[name]
    assert {o.opts[0] for o in options if o.required} == (
        {"--model", "--classifier"} if name == "lsd" else {"--model"})
    assert study.kind == name and study.name == name


def test_dynamics_and_lsd_run_on_a_model_object(runs, tmp_path):
    """run() takes a model object where the command takes --model (then --dataset and
    --out are needed); the result is the same as from the run folder."""
    from latentdyn.errors import ConfigError
    from latentdyn.studies import dynamics, lsd
    from latentdyn.train.runs import load_run

    vae, clf = runs
    model = load_run(vae).model
    with pytest.raises(ConfigError, match="--out is needed"):
        dynamics.run(model=model, dataset=DATA, trials=3, steps=2, device="cpu", quiet=True)
    kw = dict(dataset=DATA, trials=3, steps=2, ps=[0.1, 0.3], device="cpu", quiet=True)
    npz = dynamics.run(model=model, out=tmp_path / "obj" / "d.npz", **kw)
    assert npz == tmp_path / "obj" / "d.npz"
    ref = dynamics.run(model=str(vae), out=tmp_path / "dir" / "d.npz", **kw)
    with np.load(npz) as a, np.load(ref) as b:
        assert sorted(a.files) == sorted(b.files)
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
    manifest = json.loads((tmp_path / "obj" / "d.manifest.json").read_text())
    assert manifest["kind"] == "dynamics" and manifest["config"]["model"] == "<VAE object>"
    out = lsd.run(model, clf, tmp_path / "lsd", dataset=DATA, prior_samples=60,
                  max_per_class=20, progress=False)
    assert out == tmp_path / "lsd" / "basis.safetensors"
    assert set(snapshot(tmp_path / "lsd")) == {"basis.safetensors", "lsd.json", "manifest.json"}


def test_a_failing_dynamics_run_leaves_no_folder_it_created(vae, tmp_path, capsys, monkeypatch):
    import latentdyn.analysis.trials as trials
    from latentdyn.errors import ConfigError

    def fails(*args, **kwargs):
        raise ConfigError("no trajectories today")

    monkeypatch.setattr(trials, "trajectories_by_noise", fails)
    out = tmp_path / "new" / "deeper" / "d.npz"
    assert cli("dynamics", "--model", vae, *DYN, "--out", out) == 2
    assert "no trajectories today" in one_error(capsys)
    assert not (tmp_path / "new").exists()
    # in a folder that was there, the folder stays as it was
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keep.txt").write_text("keep me")
    assert cli("dynamics", "--model", vae, *DYN, "--out", tmp_path / "old" / "d.npz") == 2
    one_error(capsys)
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == [".latentdyn.lock",
                                                                    "keep.txt"]


# -------------------------------------------------------------------------- classifier
def test_classifier_eval_bad_inputs_are_one_line(runs, tmp_path, capsys):
    clf = runs[1]
    assert cli("classifier", "eval", "--model", clf, "--dataset", "digits") == 2
    assert "has 64 values per image" in one_error(capsys)
    broken = Path(shutil.copytree(clf, tmp_path / "broken"))
    (broken / "config.json").write_text("{not json")
    assert cli("classifier", "eval", "--model", broken) == 2
    assert "not a readable run folder" in one_error(capsys)
    assert cli("classifier", "eval", "--model", clf, "--split", "train") == 0
    assert "train accuracy" in capsys.readouterr().out


def test_classifier_train_bad_device_writes_nothing(tmp_path, capsys):
    out = tmp_path / "clf"
    assert cli("classifier", "train", "--dataset", DATA, "--epochs", 1, "--device", "bogus",
               "--quiet", "--out", out) == 2
    one_error(capsys)
    assert not out.exists()


def test_classifier_train_records_the_command_line(tmp_path):
    out = tmp_path / "clf"
    args = ["classifier", "train", "--dataset", DATA, "--epochs", "1", "--batch-size", "10",
            "--option", "conv1=4", "--option", "conv2=8", "--option", "dense=16",
            "--option", "num_classes=3", "--device", "cpu", "--quiet", "--out", str(out)]
    assert main(args) == 0
    assert json.loads((out / "manifest.json").read_text())["command"] == ["latentdyn", *args]


# -------------------------------------------------------------------------------- data
def test_data_info_counts_only_the_labels_that_occur(tmp_path):
    """A label of 10**9 once allocated a count for every class below it; run in a
    child process whose memory is capped, so the old behaviour fails fast."""
    path = tmp_path / "big.npz"
    labels = np.array([0, 1, 10**9, 5, 0, 1, 10**9, 5, 3, 3])
    np.savez(path, images=np.zeros((10, 2, 2), np.uint8), labels=labels)
    code = textwrap.dedent("""
        import resource, sys
        cap = 8 * 1024 ** 3
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        from latentdyn.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    proc = subprocess.run([sys.executable, "-c", code, "data", "info", f"npz:{path}", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["num_classes"] == 10**9 + 1 and d["labels_present"] == 5
    assert d["label_balance"]["train"] == {"0": 2, "1": 2, "3": 1, "5": 2, "1000000000": 2}
    assert d["label_balance"]["test"] == {"0": 0, "1": 0, "3": 1, "5": 0, "1000000000": 0}
    proc = subprocess.run([sys.executable, "-c", code, "data", "info", f"npz:{path}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "5 distinct labels occur" in proc.stdout


def test_data_info_ordinary_labels_list_every_class(tmp_path, capsys):
    path = tmp_path / "small.npz"
    np.savez(path, images=np.zeros((20, 2, 2), np.uint8), labels=np.arange(20) % 4 * 2)
    assert main(["data", "info", f"npz:{path}"]) == 0
    out = capsys.readouterr().out
    assert "classes:     7 (4 distinct labels occur)" in out
    assert "train labels: 0:5 1:0 2:5 3:0 4:4 5:0 6:4" in out


@pytest.fixture
def fallback_copy(tmp_path, monkeypatch):
    """A valid (trusted) Fashion-MNIST of 6x6 images in a system-wide folder, like
    Debian's."""
    import dataclasses

    system = tmp_path / "system" / "fashion-mnist"
    system.mkdir(parents=True)
    md5s = {}
    rng = np.random.default_rng(0)
    for stem, n in zip(mnist.STANDARD_FILES, (6, 6, 4, 4)):
        array = (rng.integers(0, 256, (n, 6, 6), dtype=np.uint8) if "images" in stem
                 else np.arange(n, dtype=np.uint8) % 10)
        raw = encode_idx(array)
        md5s[stem] = hashlib.md5(raw).hexdigest()
        (system / stem).write_bytes(raw)
    spec = dataclasses.replace(mnist.FASHION, raw_md5=md5s, extra_dirs=(str(system),))
    monkeypatch.setitem(mnist.IDX_SETS, "fashion-mnist", spec)
    monkeypatch.delenv("LATENTDYN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # absent
    return system


def test_explicit_data_dir_that_does_not_exist_is_an_error(fallback_copy, tmp_path, capsys,
                                                           monkeypatch):
    # the default cache folder may be absent: the system copy is found
    assert load_dataset("fashion-mnist").train_images.shape == (6, 36)
    missing = tmp_path / "no" / "such"
    with pytest.raises(DataError, match=f"data folder {missing} .*does not exist"):
        load_dataset("fashion-mnist", missing)
    assert main(["data", "info", "fashion-mnist", "--data-dir", str(missing)]) == 2
    err = one_error(capsys)
    assert str(missing) in err and "--data-dir" in err
    monkeypatch.setenv("LATENTDYN_DATA", str(missing))
    assert main(["data", "info", "fashion-mnist"]) == 2
    err = one_error(capsys)
    assert str(missing) in err and "$LATENTDYN_DATA" in err
    # listing stays a listing: the set is not present there
    rows = {r["name"]: r for r in list_datasets(missing)}
    assert rows["fashion-mnist"]["available"] is False


def test_explicit_data_dir_missing_in_an_analysis_command(fallback_copy, vae, capsys, tmp_path):
    """Once, the system copy was used silently in place of the folder given."""
    missing = tmp_path / "nowhere"
    assert cli("dynamics", "--model", vae, *DYN, "--dataset", "fashion-mnist",
               "--data-dir", missing) == 2
    assert f"data folder {missing}" in one_error(capsys)
    assert not list(vae.glob("dynamics-*"))
    # without --data-dir (the default cache is absent) the system copy is what there is
    assert cli("dynamics", "--model", vae, *DYN, "--dataset", "fashion-mnist") == 0
