"""`latentdyn data list|info|download` through latentdyn.cli.main."""

import json
import urllib.request

import numpy as np
import pytest

from latentdyn.cli import main


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("LATENTDYN_DATA", str(tmp_path / "data"))


def _error_line(capsys):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_help(capsys):
    for args in (["data", "--help"], ["data", "list", "--help"], ["data", "info", "--help"],
                 ["data", "download", "--help"]):
        assert main(args) == 0
        assert "Usage:" in capsys.readouterr().out


def test_list(capsys, tmp_path):
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["name", "present"]
    assert "mnist-embedded  yes" in out and "latentdyn data download mnist" in out
    assert "npz:PATH" in out


def test_info(capsys):
    assert main(["data", "info", "synthetic:k=2,m=3,test=1"]) == 0
    out = capsys.readouterr().out
    assert "train/test:  6 / 2" in out and "arrays.sha256" in out and "8x8" in out
    assert main(["data", "info", "synthetic:k=2,m=3,test=1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["label_balance"]["train"] == {"0": 3, "1": 3}


def test_info_npz(capsys, tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, images=np.zeros((10, 2, 2), np.uint8), labels=np.arange(10) % 2)
    assert main(["data", "info", f"npz:{path}"]) == 0
    out = capsys.readouterr().out
    assert "mine.npz" in out and "train/test:  9 / 1" in out


@pytest.mark.parametrize("args, pattern", [
    (["data", "info", "nonsense"], "unknown data set 'nonsense'"),
    (["data", "info", "mnist"], "latentdyn data download mnist"),
    (["data", "info", "npz:/no/such.npz"], "no such file"),
    (["data", "info", "synthetic:k=zero"], "k must be int"),
    (["data", "download", "digits"], "nothing to download"),
    (["data", "download", "mnist", "-q"], "offline"),
])
def test_errors_exit_2_with_one_line(capsys, args, pattern):
    assert main(args) == 2
    assert pattern in _error_line(capsys)
