import base64
import datetime as dt
import json
import re

import numpy as np
import pytest

from latentdyn.reporting.claims import (
    NOT_EVALUATED,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    format_scorecard,
    format_value,
    load_scorecard,
    write_scorecard,
)
from latentdyn.figures import save_figure
from latentdyn.reporting.report import RawHTML, Section, render_report, write_report
from latentdyn.studies.nagano2017.figures_geometry import fig3b_pca

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)


def _claims():
    return [
        Claim("C1", "trajectories dip toward their concept", "labels with a dip", "10 of 10",
              "a dip in at least 9 of 10 labels", run_value=10, reproduced=True),
        Claim("C2", "only a few latent units are active", "active units (Nz = 100)", 14,
              "between 5 and 30 active units", run_value=np.int64(57), reproduced=False,
              details="variance threshold 0.01"),
        Claim("C7", "ELBO best near the active units | flat beyond", "argmax Nz", 14,
              "argmax within a factor 2 of C2's value", reproduced=None,
              details="Nz sweep not run in the quick profile"),
        Claim("C4", "concepts near-orthogonal", "mean |off-diagonal cos|", 0.0,
              "below 0.2", run_value=np.float32(0.0812345), reproduced=True),
    ]


def test_verdict_words():
    c = _claims()
    assert [x.verdict for x in c] == [REPRODUCED, NOT_REPRODUCED, NOT_EVALUATED, REPRODUCED]
    assert (REPRODUCED, NOT_REPRODUCED, NOT_EVALUATED) == (
        "reproduced", "NOT reproduced", "not evaluated")


def test_scorecard_round_trip(tmp_path):
    claims = _claims()
    json_path, md_path = write_scorecard(claims, tmp_path / "run")
    data = json.loads(json_path.read_text())
    assert data["summary"] == {"total": 4, "reproduced": 2, "not_reproduced": 1,
                               "not_evaluated": 1}
    assert [d["id"] for d in data["claims"]] == ["C1", "C2", "C7", "C4"]
    assert data["claims"][1]["run_value"] == 57 and data["claims"][1]["reproduced"] is False
    assert data["claims"][1]["verdict"] == "NOT reproduced"
    assert data["claims"][2]["reproduced"] is None
    back = load_scorecard(tmp_path / "run")
    assert [c.id for c in back] == ["C1", "C2", "C7", "C4"]
    assert [c.verdict for c in back] == [c.verdict for c in claims]

    md = md_path.read_text()
    rows = {line.split("|")[1].strip(): line for line in md.splitlines()
            if line.startswith("| C")}
    assert set(rows) == {"C1", "C2", "C7", "C4"}
    assert rows["C1"].rstrip().endswith("| reproduced |")
    assert "NOT reproduced" in rows["C2"]
    assert rows["C7"].rstrip().endswith("| not evaluated |")
    assert "\\|" in rows["C7"]  # a pipe in the claim text cannot break the table
    assert "between 5 and 30 active units" in md  # the rule is printed
    assert not list((tmp_path / "run").glob(".*"))  # atomic writes leave no temporaries


def test_format_scorecard_for_the_terminal():
    text = format_scorecard(_claims())
    lines = text.splitlines()
    assert "2 of 4 claims reproduced, 1 not reproduced, 1 not evaluated" in lines[0]
    c2 = next(line for line in lines if line.startswith("C2"))
    assert "NOT reproduced" in c2 and "57" in c2
    assert "not evaluated" in next(line for line in lines if line.startswith("C7"))
    assert format_value(np.float32(0.0812345)) == "0.08123"


def _report(tmp_path, **kw):
    fig_dir = tmp_path / "figures"
    fig_dir.mkdir()
    (fig_dir / "a.png").write_bytes(PNG_1x1)
    saved = save_figure(fig3b_pca(np.array([0.5, 0.8, 1.0]), "caption b"), fig_dir, "b",
                        data_dir=tmp_path / "data")
    sections = [
        Section("Fig. A", fig_dir / "a.png", "caption <a>", "10 of 10 labels dip.",
                "9 of 10 <b>labels</b> dip."),
        Section("Fig. B", saved.pdf, saved.caption, "14 dims", "13 dims", data=saved.csv),
        Section("Text only", None, "", "n/a", "n/a", extra_html="<p class='x'>raw</p>"),
    ]
    settings = {"profile": "quick", "reduced": {"epochs": 5, "trials": 30},
                "corruption": "swap", "p": 0.2, "nz_list": [2, 5, 100]}
    path = write_report(
        tmp_path / "report.html", "Nagano 2017 <script>alert(1)</script>",
        "We ran <script>evil()</script> the pipeline.\n\nSecond paragraph.", settings,
        sections, _claims(), notes=["note with <script>x</script>", ""],
        generated_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), **kw)
    return path


def test_report_is_one_self_contained_file(tmp_path):
    path = _report(tmp_path)
    page = path.read_text()
    assert page.count("data:image/png;base64,") == 2  # both figures, the PDF via its PNG
    for m in re.finditer(r'src="data:image/png;base64,([^"]+)"', page):
        assert base64.b64decode(m.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="http' not in page and "href=\"http" not in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)  # only data: URIs and anchors
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert 'download="b.csv" href="data:text/csv;base64,' in page
    assert not list(tmp_path.glob(".*"))


def test_report_escapes_user_text(tmp_path):
    page = _report(tmp_path).read_text()
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;evil()&lt;/script&gt;" in page
    assert "9 of 10 &lt;b&gt;labels&lt;/b&gt; dip." in page
    assert "caption &lt;a&gt;" in page
    assert "<p class='x'>raw</p>" in page  # extra_html is trusted HTML
    assert page.count("<p>") >= 2  # intro paragraphs


def test_report_contents(tmp_path):
    page = _report(tmp_path).read_text()
    for text in ("The paper found:", "This run found:", "10 of 10 labels dip.",
                 "reduced.epochs", "reduced.trials", "quick", "[2, 5, 100]",
                 "Claims scorecard", "between 5 and 30 active units",
                 "2024-01-02 03:04:05", "latentdyn 0.1.0"):
        assert text in page, text
    assert '<span class="v fail">NOT reproduced</span>' in page
    assert '<span class="v ok">reproduced</span>' in page
    assert '<span class="v na">not evaluated</span>' in page
    assert page.count('class="fail"><td class="id">') == 1


def test_missing_figure_and_large_data_are_named_not_embedded(tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("x\n" + "1\n" * 100)
    page = render_report("t", RawHTML("<p id='intro'>hi</p>"), {}, [
        Section("gone", tmp_path / "nope.png", "", "", ""),
        Section("big", None, "", "", "", data=big),
    ], [], max_data_bytes=10)
    assert "<p id='intro'>hi</p>" in page
    assert "nope.png: not found" in page
    assert "big.csv" in page and "data:text/csv" not in page
    # a page without claims has no scorecard (no empty "No claims were evaluated" box)
    assert "Claims scorecard" not in page and 'id="claims' not in page
    assert "The paper found" not in page and "This run found" not in page  # empty findings


@pytest.mark.parametrize("value,text", [(None, "—"), (True, "yes"), (0.123456, "0.1235"),
                                        ({"a": 1, "b": [1.0, 2.5]}, "a: 1, b: [1, 2.5]")])
def test_format_value(value, text):
    assert format_value(value) == text


# ------------------------------------------------------- uncertainty, nulls, seeds, sections
def _sure_claims():
    from latentdyn.reporting.claims import Claim

    return [
        Claim("C1", "dip toward the concept", "labels with a dip", "10 of 10", ">= 10",
              run_value="9 of 10", reproduced=False, interval=(7, 10), stability=0.31,
              method="bootstrap over trials", reading="min over t >= 1",
              sections=("fig2",)),
        Claim("C4", "concepts near-orthogonal", "mean |cos|", 0.0, "below the reference",
              run_value=0.161, reproduced=True, interval=(0.15, 0.17), interval_level=0.9,
              stability=0.97, null=0.143, null_name="random directions",
              sections=("Fig. C: cosines",), seeds={"reproduced": 3, "evaluated": 5, "of": 5,
                                                     "seeds": [0, 1, 2, 3, 4],
                                                     "verdicts": ["reproduced"] * 3
                                                     + ["NOT reproduced"] * 2}),
        Claim("C9", "untested here", "x", 1, "x", run_value=1, reproduced=None),
    ]


def test_new_fields_round_trip_and_render_in_claims_md(tmp_path):
    claims = _sure_claims()
    write_scorecard(claims, tmp_path)
    back = load_scorecard(tmp_path)
    assert back[0].interval == (7, 10) and back[0].sections == ("fig2",)
    assert back[1].seeds["reproduced"] == 3 and back[1].null == 0.143
    assert [c.to_dict() for c in back] == [c.to_dict() for c in claims]
    md = (tmp_path / "claims.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| id"))
    assert [h.strip() for h in header.strip("|").split("|")] == [
        "id", "claim", "statistic", "paper", "this run", "interval", "stability",
        "null / reference", "seeds", "verdict"]
    c4 = next(line for line in md.splitlines() if line.startswith("| C4"))
    for text in ("[0.15, 0.17]", "97 %", "random directions: 0.143", "3 of 5 seeds"):
        assert text in c4, text
    c9 = next(line for line in md.splitlines() if line.startswith("| C9"))
    assert c9.count("—") >= 4  # no interval, stability, null or seeds: a dash each
    assert "reading: min over t >= 1" in md and "method: bootstrap over trials" in md
    assert "per seed: 0: reproduced" in md and "Rules (fixed in code before the run)" in md


def test_claims_md_without_seeds_has_no_seeds_column(tmp_path):
    write_scorecard(_claims(), tmp_path)
    header = next(line for line in (tmp_path / "claims.md").read_text().splitlines()
                  if line.startswith("| id"))
    assert "seeds" not in header and "interval" in header


def test_terminal_scorecard_shows_interval_stability_and_seeds_and_stays_short():
    text = format_scorecard(_sure_claims())
    lines = text.splitlines()
    assert "seeds" in lines[1] and "interval" in lines[1] and "holds" in lines[1]
    c4 = next(line for line in lines if line.startswith("C4"))
    assert "3 of 5" in c4 and "[0.15, 0.17]" in c4 and "97 %" in c4
    assert all(len(line) <= 110 for line in lines)
    plain = format_scorecard(_claims()).splitlines()[1]
    assert "seeds" not in plain and "interval" not in plain  # columns only when measured


def test_report_opens_with_the_scorecard_and_sections_show_their_verdicts():
    sections = [Section("Fig. 2: dip", None, "", "dips", "nine dip", id="fig2"),
                Section("Fig. C: cosines", None, "", "0", "0.16"),
                Section("Fig. D", None, "", "", "", claims=("C9",))]
    page = render_report("t", "intro", {"a": 1}, sections, _sure_claims())
    assert page.index('id="claims"') < page.index('id="fig2"') < page.index('id="settings"')
    assert page.index('id="claims"') < page.index("<nav")
    # each section lists the claims that test it, linked to their scorecard rows
    fig2 = page[page.index('id="fig2"'):page.index('id="fig-2"')]
    assert 'href="#claim-C1"' in fig2 and "C4" not in fig2
    assert "NOT reproduced" in fig2 and "95 % interval [7, 10]" in fig2
    assert "holds in 31 %" in fig2
    fig_c = page[page.index('id="fig-2"'):page.index('id="fig-3"')]
    assert 'href="#claim-C4"' in fig_c and "random directions: 0.143" in fig_c
    assert "3 of 5 seeds" in fig_c and "90 % interval" in fig_c
    assert 'href="#claim-C9"' in page[page.index('id="fig-3"'):page.index('id="settings"')]
    # the rows link back to the sections
    row = page[page.index('id="claim-C1"'):page.index('id="claim-C4"')]
    assert 'href="#fig2"' in row and "tested in" in row and "31 %" in row
    assert '<th>seeds</th>' in page and "3 of 5 seeds" in page


def test_section_ids_must_be_unique():
    from latentdyn.errors import ConfigError

    with pytest.raises(ConfigError, match="used twice"):
        render_report("t", "", {}, [Section("a", None, "", "", "", id="x"),
                                    Section("b", None, "", "", "", id="x")], [])
    with pytest.raises(ConfigError, match="reserved"):
        render_report("t", "", {}, [Section("a", None, "", "", "", id="claims")], [])


def test_attach_bootstrap_fills_interval_stability_and_method():
    from latentdyn.analysis.uncertainty import mean_interval
    from latentdyn.reporting.claims import Claim, attach_bootstrap, uncertainty_text

    boot = mean_interval(np.r_[np.zeros(20), np.ones(20)], n_resamples=200, seed=4)
    c = attach_bootstrap(Claim("X", "x", "mean", 0.5, "> 0.5", boot.estimate, False), boot,
                         rule=lambda m: m > 0.5)
    assert c.interval == boot.interval and c.interval[0] < 0.5 < c.interval[1]
    assert 0.2 < c.stability < 0.8 and "200 resamples" in c.method
    assert uncertainty_text(c).startswith("95 % interval [")
    assert attach_bootstrap(c, boot).stability is None


@pytest.mark.parametrize("share, text", [(0.0, "0 %"), (1.0, "100 %"), (0.31, "31 %"),
                                         (0.998, "99.8 %"), (0.001, "0.1 %"),
                                         (0.99999, ">99.9 %"), (None, "—")])
def test_stability_never_rounds_a_near_miss_to_all_or_none(share, text):
    from latentdyn.reporting.claims import Claim, format_stability

    assert format_stability(Claim("X", "x", "s", 0, "r", stability=share)) == text
