"""The report page of issue 23: a banner at the top (profile, reductions, model, data;
a smoke run says it is a toy run), a compact scorecard linked to the claims in detail
and to the sections, a table of contents, each caption once, tall figures folded, no
empty findings, and no Python values in the prose of nagano2017's sections and notes."""

import re

import matplotlib
import numpy as np

from latentdyn.figures import save_figure
from latentdyn.reporting.claims import Claim
from latentdyn.reporting.report import FOLD_PX, Section, png_size, render_report

matplotlib.use("Agg")

CLAIMS = [Claim("C1", "dip toward the concept " + "x" * 200, "labels with a dip", "10 of 10",
                ">= 10", run_value="9 of 10", reproduced=False, sections=("fig2",)),
          Claim("C2", "active units", "units", 14, "5..30", run_value=12, reproduced=True,
                sections=("fig3",))]


def figure(tmp_path, name, height_in, caption):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, height_in))
    ax.plot([0, 1], [0, 1])
    return save_figure(fig, tmp_path, name, caption=caption)


def page_of(tmp_path, profile="smoke", notes=()):
    short = figure(tmp_path, "short", 3, "a short figure's caption")
    tall = figure(tmp_path, "tall", 14, "a tall grid's caption")
    sections = [Section("Fig. 2: the dip", short.png, short.caption, "dips", "nine dip",
                        id="fig2"),
                Section("Fig. 3: units", tall.png, tall.caption, "14", "12", id="fig3")]
    settings = {"profile": profile, "dataset": "mnist-embedded", "epochs": 2}
    return render_report("A study", "intro", settings, sections, CLAIMS, list(notes)), \
        short, tall


def test_a_smoke_report_says_it_is_a_toy_run_at_the_top(tmp_path):
    page, *_ = page_of(tmp_path, notes=["Model: runs/vae, Nz = 4, epochs: 2.",
                                        "Smoke profile: 2 epochs instead of 100.",
                                        "Stage timings: train 1.0 s."])
    banner = page[page.index('id="banner"'):page.index('id="claims"')]
    assert page.index('id="banner"') < page.index('class="intro"') < page.index('id="claims"')
    assert "Profile: smoke" in banner and "toy run" in banner and "say nothing" in banner
    assert "Model: runs/vae" in banner and "Smoke profile: 2 epochs" in banner
    assert "Data: mnist-embedded" in banner
    notes = page[page.index('id="notes"'):]
    assert "Stage timings" in notes and "Model: runs/vae" not in notes  # not twice
    quick, *_ = page_of(tmp_path, profile="quick")
    assert "Profile: quick" in quick and "reduced" in quick[:quick.index('id="claims"')]


def test_the_scorecard_is_compact_and_linked(tmp_path):
    page, *_ = page_of(tmp_path)
    card = page[page.index('id="claims"'):page.index('id="contents"')]
    assert card.count("<tr") == 3  # a header and one row per claim
    assert 'href="#claim-C1"' in card and 'href="#fig2"' in card and 'href="#fig3"' in card
    shown = re.sub(r'title="[^"]*"', "", card)  # the full text only as a tooltip
    assert "x" * 100 not in shown and "…" in shown  # a long claim is shortened...
    assert "x" * 200 in page[page.index('id="claims-detail"'):]  # ...and whole in detail
    assert 'id="claim-C1"' in page[page.index('id="claims-detail"'):]
    toc = page[page.index('id="contents"'):page.index('id="fig2"')]
    for anchor in ("#claims", "#fig2", "#fig3", "#claims-detail", "#settings"):
        assert f'href="{anchor}"' in toc


def test_each_caption_once_and_tall_figures_folded(tmp_path):
    page, short, tall = page_of(tmp_path)
    assert png_size(tall.png.read_bytes())[1] > FOLD_PX >= png_size(short.png.read_bytes())[1]
    # the caption is drawn in the PNG: on the page only as the image's alt text
    for cap in ("a short figure&#x27;s caption", "a tall grid&#x27;s caption"):
        assert page.count(cap) == 1 and f'alt="{cap}' in page
    assert "<figcaption>" not in page
    fig3 = page[page.index('id="fig3"'):page.index('id="claims-detail"')]
    assert '<details class="fold"><summary>Show the figure' in fig3
    fig2 = page[page.index('id="fig2"'):page.index('id="fig3"')]
    assert "<details" not in fig2.split("Claims tested here")[0]


def test_prose_has_no_python_values():
    import importlib
    from types import SimpleNamespace

    from latentdyn.studies.nagano2017.profiles import PROFILES

    R = importlib.import_module("latentdyn.studies.nagano2017.report")

    notes = R.notes(PROFILES["quick"], "mnist-embedded", "runs/vae",
                    {"train": 1636.29, "figures": 2.5}, settings={"nz": 100, "epochs": 190})
    text = " ".join(notes)
    assert not re.search(r"[\[{]'|': |\[\d|\bNone\b|\bTrue\b|\bFalse\b|\{", text), text
    assert "Stage timings: train 1,636 s, figures 2.5 s." in text
    fig = SimpleNamespace(png=None, csv=None, caption="")
    scan = SimpleNamespace(dip_nz=[], first_dip=None, relative_rho=0.5, orthogonality_rho=0.4)
    curve = SimpleNamespace(best_nz=14, gap=3.0, active_units=14, nz=[2, 100])
    attr = SimpleNamespace(n_kept=3, trials=8, dip_all={"has_dip": True},
                           dip_kept={"has_dip": False})
    secs = R.latent_size_sections({"fig6": fig, "fig7": fig, "figB2": fig}, scan, curve, attr)
    prose = " ".join(s.run_found for s in secs)
    assert "[]" not in prose and "None" not in prose and "True" not in prose
    assert "no Nz dips" in prose
    assert not re.search(r"\[\d", prose)


def test_fig1_fig2_and_figA1_findings_are_computed_from_the_results():
    import importlib
    from types import SimpleNamespace

    R = importlib.import_module("latentdyn.studies.nagano2017.report")
    concept = np.zeros((4, 4))
    concept[1:3, 1:3] = 1.0
    frames = np.stack([np.full((4, 4), 0.5), concept * 0.8, concept * 0.2])  # fades
    seq = SimpleNamespace(frames=frames, steps=[0, 5, 12], concept_image=concept, p=0.2,
                          distances={"own memory": np.array([3.0, 2.0, 4.0]),
                                     "concept": np.array([2.5, 1.0, 1.5]),
                                     "abstract concept": np.array([2.0, 1.5, 1.8])})
    text = R.fig1_found(seq)
    assert "0.500 at t = 0, 0.200 at t = 5, 0.050 at t = 12 (10 % of" in text
    assert "closest to the concept" in text and "own memory 4.00" in text
    assert "at t = 12" in text and "1.00 at t = 12" in text  # x(12) is the concept, dimmed
    assert "classifier" not in text  # no classifier in this run: nothing said of one
    courses = SimpleNamespace(classes=[0, 1, 2], dips={
        0: {"has_dip": True, "t_star": 3, "relative_depth": 0.12},
        1: {"has_dip": False, "t_star": 0, "relative_depth": 0.0},
        2: {"has_dip": True, "t_star": 5, "relative_depth": 0.05}})
    text = R.fig2_found(courses)
    assert text.startswith("2 of 3 labels show a significant dip: '0' (t* = 3, depth 12.0 %")
    assert text.endswith("no significant dip for '1'.")
    g = np.random.default_rng(0)
    pts = np.concatenate([g.normal(0, 0.1, (50, 2)), g.normal(5, 0.1, (50, 2))])
    emb = SimpleNamespace(embedding=pts, labels=np.r_[np.zeros(50), np.ones(50)].astype(int),
                          explained=[0.5, 0.2])
    assert R.figA1_found(emb).startswith("on the 2-D map (explaining 70 % of the memories' "
                                         "variance) 100 % of 100 memories")


def test_fig1_says_what_the_classifier_reads_at_chosen_frames():
    import importlib
    from types import SimpleNamespace

    import torch

    R = importlib.import_module("latentdyn.studies.nagano2017.report")
    S = importlib.import_module("latentdyn.studies.nagano2017.stages")

    class Bright:  # reads '6' in a bright image, '1' in a faint one
        def predict_proba(self, x):
            bright = (x.mean(1) > 0.25).float()[:, None]
            p = torch.zeros(len(x), 10)
            return p.index_put((torch.arange(len(x)), torch.where(bright[:, 0] > 0, 6, 1)),
                               torch.full((len(x),), 0.9))

    steps = list(range(13))
    frames = np.stack([np.full((4, 4), 0.5 - 0.04 * t) for t in steps])  # fades
    seq = S.CorruptedSequence(frames, steps, np.ones((4, 4)), 0.2)
    seq.readings = S.sequence_readings(seq, SimpleNamespace(model=Bright()), "cpu")
    assert seq.readings == {0: (6, 0.8999999761581421), 5: (6, 0.8999999761581421),
                            12: (1, 0.8999999761581421)}
    text = R.fig1_found(seq)
    assert ("The classifier reads '6' (0.90) at t = 0, '6' (0.90) at t = 5, '1' (0.90) at "
            "t = 12; the paper's picture is a '6' throughout.") in text


def test_example_grids_say_what_was_measured_at_their_level():
    import importlib
    from types import SimpleNamespace

    D = importlib.import_module("latentdyn.studies.denoise.report")
    rows = [{"family": "vae", "method": "vae-t5", "noise": "swap", "level": 0.2,
             "accuracy": 0.8, "psnr": 12.0},
            {"family": "input", "method": "input", "noise": "swap", "level": 0.2,
             "accuracy": 0.5, "psnr": 9.0},
            {"family": "vae", "method": "vae-t5", "noise": "swap", "level": 0.4,
             "accuracy": 0.1, "psnr": 5.0}]
    assert D.examples_found(rows, "swap", 0.2).startswith(
        "measured at this noise and level (accuracy, best first): vae-t5 80.0 %, input 50.0 %")
    assert "not measured" in D.examples_found(rows, "flip", 0.2)
    T = importlib.import_module("latentdyn.studies.toledo2023.report")
    paired = [SimpleNamespace(noise="swap", level=0.2, acc_input=0.5, acc_lsd=0.75,
                              psnr_input=9.0, psnr_lsd=11.5)]
    res = SimpleNamespace(denoising=SimpleNamespace(paired=paired))
    text = T._examples_found(res, "swap", 0.2)
    assert "50.0 % of the corrupted inputs and 75.0 % after keeping k" in text
    assert "9.00 → 11.50 dB" in text and "not among" in T._examples_found(res, "swap", 0.4)


def test_readme_describes_the_quick_profile_as_it_is():
    from pathlib import Path

    from latentdyn.studies.nagano2017.profiles import PROFILES

    quick = PROFILES["quick"]
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert f"quick: {quick.epochs} training epochs" in readme
    assert f"sweep of {len(quick.latent_size.nz)} Nz values" in readme
    assert f"for {quick.latent_size.epochs} epochs" in readme
