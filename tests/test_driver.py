"""The study driver: a study's command built from its Params, the one run lifecycle
(lock, staging, manifest, an all-or-nothing commit), file results, the registry."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import click
import pytest
from click.testing import CliRunner

from latentdyn.errors import ConfigError
from latentdyn.reporting.claims import Claim
from latentdyn.studies import lifecycle
from latentdyn.studies.common import Common, Reproduction
from latentdyn.studies.driver import Study, execute
from latentdyn.studies.lifecycle import Run, files_target, folder_target
from latentdyn.studies.params import click_options, from_command_line, int_list, listed, param


# ------------------------------------------------------------------ a toy study
@dataclass(frozen=True)
class ToyParams(Reproduction):
    size: int = param(3, "How many numbers.")
    scale: float | None = param(None, "Scale [default: the profile's].")
    sizes: tuple | None = param(None, "Sizes, comma-separated.", parse=listed(int_list, "--sizes"))
    mode: str = param("up", "Direction.", choices=("up", "down"))
    fancy: bool = param(True, "Fancy output.", flag="--fancy/--plain")
    fail: bool = param(False, "Fail in the stage.", cli=False)
    out: str | None = param("results/toy", "Output folder.", path="dir", group=1)


@dataclass
class ToySetup:
    params: ToyParams
    settings: dict
    device: str = "cpu"
    data_record: dict | None = None


def toy_prepare(p: ToyParams) -> ToySetup:
    if p.size < 1:
        raise ConfigError(f"--size must be positive, got {p.size}")
    return ToySetup(p, {"profile": p.profile, "size": p.size, "mode": p.mode, "seed": p.seed,
                        "device": p.device})


def toy_stages(run: Run, s: ToySetup) -> list[int]:
    with run.stage("count", "counting"):
        numbers = list(range(s.params.size))
    if s.params.fail:
        raise RuntimeError("the stage failed")
    return numbers


def toy_claims(numbers) -> list[Claim]:
    return [Claim("X1", "There are numbers", "count", "—", "> 0", len(numbers),
                  len(numbers) > 0)]


def toy_report(run: Run, s: ToySetup, numbers, claims) -> None:
    (run.out / "data").mkdir()
    (run.out / "data" / "numbers.csv").write_text("\n".join(map(str, numbers)))
    (run.out / "report.html").write_text(f"<p>{len(numbers)} numbers</p>")


TOY = Study("reproduce toy", ToyParams, toy_prepare, toy_stages, toy_claims, toy_report,
            default_out="results/toy", help="A toy study.")


def manifest(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text())


# ------------------------------------------------------------------ Params -> command
def test_options_come_from_params_in_groups_and_order():
    names = [o.name for o in click_options(ToyParams)]
    assert names[0] == "profile"  # group -1 first
    assert names[-5:] == ["out", "seed", "device", "overwrite", "quiet"]  # group 1 last
    assert "fail" not in names  # a Python-only parameter
    opts = {o.name: o for o in click_options(ToyParams)}
    assert opts["n_seeds"].opts == ["--seeds"]
    assert opts["fancy"].opts == ["--fancy"] and opts["fancy"].secondary_opts == ["--plain"]
    assert isinstance(opts["mode"].type, click.Choice)
    assert opts["size"].default == 3 and opts["scale"].default is None


def test_command_line_values_become_params():
    cmd = TOY.command()
    seen = {}
    cmd.callback = lambda **v: seen.update(v)
    result = CliRunner().invoke(cmd, ["--size", "5", "--sizes", "1,2", "--plain", "--seeds", "2"])
    assert result.exit_code == 0, result.output
    p = from_command_line(ToyParams, seen)
    assert (p.size, p.sizes, p.fancy, p.n_seeds, p.profile) == (5, [1, 2], False, 2, "quick")
    with pytest.raises(ConfigError, match="--sizes"):
        from_command_line(ToyParams, {**seen, "sizes": "1,,2"})
    bad = CliRunner().invoke(cmd, ["--mode", "sideways"])
    assert bad.exit_code == 2


def test_python_api_takes_positional_profile_and_out(tmp_path):
    out = TOY.run("smoke", tmp_path / "t", size=2, quiet=True)
    assert out == tmp_path / "t"
    assert manifest(out)["config"]["profile"] == "smoke"
    with pytest.raises(ConfigError, match="unknown option"):
        TOY.run("smoke", tmp_path / "u", sise=2)


# ------------------------------------------------------------------ the lifecycle
def test_execute_writes_the_result_manifest_and_scorecard(tmp_path, capsys):
    out = tmp_path / "toy"
    assert execute(TOY, ToyParams(out=str(out), quiet=True)) == out
    m = manifest(out)
    assert m["status"] == "completed" and m["kind"] == "reproduce toy"
    assert m["claims"] == {"X1": "reproduced"} and "count" in m["timings"]
    assert (out / "claims.json").is_file() and (out / "report.html").is_file()
    assert not (out / lifecycle.STAGING).exists() and not (out / lifecycle.PREVIOUS).exists()
    assert capsys.readouterr().out.strip().startswith(f"report: {out / 'report.html'}")


def test_other_settings_and_other_commands_are_refused(tmp_path):
    out = tmp_path / "toy"
    execute(TOY, ToyParams(out=str(out), quiet=True))
    execute(TOY, ToyParams(out=str(out), quiet=True, device="cpu"))  # device: same results
    with pytest.raises(ConfigError, match="size = 3 there, 4 here"):
        execute(TOY, ToyParams(out=str(out), size=4, quiet=True))
    execute(TOY, ToyParams(out=str(out), size=4, quiet=True, overwrite=True))
    assert manifest(out)["config"]["size"] == 4
    # a folder of another command, even one that never finished, is not taken over
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"kind": "train", "status": "running"}))
    with pytest.raises(ConfigError, match="'train'"):
        execute(TOY, ToyParams(out=str(run), quiet=True))
    assert json.loads((run / "manifest.json").read_text())["kind"] == "train"


def test_a_failed_run_keeps_the_completed_result(tmp_path):
    out = tmp_path / "toy"
    execute(TOY, ToyParams(out=str(out), quiet=True))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(RuntimeError, match="the stage failed"):
        execute(TOY, ToyParams(out=str(out), quiet=True, fail=True))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        execute(TOY, ToyParams(out=str(fresh), quiet=True, fail=True))
    assert manifest(fresh)["status"] == "failed"
    assert sorted(p.name for p in fresh.iterdir()) == [".latentdyn.lock", "manifest.json"]


def test_a_commit_that_fails_half_way_puts_the_old_result_back(tmp_path, monkeypatch):
    out = tmp_path / "toy"
    execute(TOY, ToyParams(out=str(out), quiet=True))
    old = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_replace, moves = os.replace, []

    def flaky(src, dest):
        moves.append(src)
        if str(src).endswith("report.html") and lifecycle.STAGING in str(src):
            raise OSError(28, "No space left on device", str(dest))
        return real_replace(src, dest)

    monkeypatch.setattr(lifecycle.os, "replace", flaky)
    with pytest.raises(OSError, match="No space"):
        execute(TOY, ToyParams(out=str(out), size=5, quiet=True, overwrite=True))
    monkeypatch.setattr(lifecycle.os, "replace", real_replace)
    assert len(moves) > 2  # data/ and claims.json had already moved in
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == old
    assert manifest(out)["config"]["size"] == 3


def test_a_commit_killed_half_way_is_undone_by_the_next_run(tmp_path):
    out = tmp_path / "toy"
    execute(TOY, ToyParams(out=str(out), quiet=True))
    old_report = (out / "report.html").read_text()
    # what a kill between two moves leaves: the old report aside, a new one in place
    (out / lifecycle.PREVIOUS).mkdir()
    os.replace(out / "report.html", out / lifecycle.PREVIOUS / "report.html")
    (out / "report.html").write_text("half of a new result")
    with Run(folder_target(out), "reproduce toy", manifest(out)["config"], seed=0,
             device="cpu", progress=False) as run:
        assert (out / "report.html").read_text() == old_report
        (run.out / "extra.txt").write_text("x")
    assert not (out / lifecycle.PREVIOUS).exists() and (out / "extra.txt").is_file()


# ------------------------------------------------------------------ file results
@dataclass(frozen=True)
class FileParams(Common):
    out: str | None = param(None, "File.", path="file", group=1)
    stray: bool = param(False, "Write an undeclared file.", cli=False)


def _file_stages(run, s):
    (run.out / "r.json").write_text("{}")
    (run.out / "r.txt").write_text("hello")
    if s.params.stray:
        (run.out / "stray.txt").write_text("?")


def _file_target(p, s):
    return files_target(p.out, p.out[:-5] + ".txt", p.out[:-5] + ".manifest.json",
                        manifest=p.out[:-5] + ".manifest.json")


FILES = Study("files", FileParams, lambda p: ToySetup(p, {"x": 1}), _file_stages,
              target=_file_target, summary=lambda *a: "done")


def test_file_results_are_written_together_and_never_replaced_silently(tmp_path, capsys):
    target = tmp_path / "sub" / "r.json"
    assert execute(FILES, FileParams(out=str(target), quiet=True)) == target
    assert sorted(p.name for p in target.parent.iterdir() if not p.name.startswith(".")) == \
        ["r.json", "r.manifest.json", "r.txt"]
    assert json.loads((tmp_path / "sub" / "r.manifest.json").read_text())["status"] == \
        "completed"
    assert capsys.readouterr().out.strip() == "done"
    with pytest.raises(ConfigError, match="exists"):
        execute(FILES, FileParams(out=str(target), quiet=True))
    other = tmp_path / "o.json"
    with pytest.raises(RuntimeError, match="did not declare"):
        execute(FILES, FileParams(out=str(other), quiet=True, stray=True))
    assert not other.exists() and not (tmp_path / "o.manifest.json").exists()


def test_no_target_writes_nothing(tmp_path, capsys):
    quiet = Study("nothing", FileParams, lambda p: ToySetup(p, {}), lambda run, s: 42,
                  target=lambda p, s: None, summary=lambda s, r, c, t: f"result {r}")
    assert execute(quiet, FileParams(quiet=True)) is None
    assert capsys.readouterr().out.strip() == "result 42"


# ------------------------------------------------------------------ the registry
def test_every_registered_study_is_a_command_of_the_cli():
    from latentdyn.cli import cli
    from latentdyn.studies import GROUPS, STUDIES

    ctx = click.Context(cli)
    for name in STUDIES:
        cmd, words = cli, name.split()
        for word in words:
            cmd = cmd.get_command(ctx, word)
            assert cmd is not None, name
        assert isinstance(cmd, click.Command) and cmd.name == words[-1]
    assert set(GROUPS) == {n.split()[0] for n in STUDIES if len(n.split()) == 2}
