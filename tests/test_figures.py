import threading

import matplotlib
import numpy as np
import pytest

from latentdyn import figures as F
from latentdyn.figures import FigureDataError, read_csv, save_figure, write_csv
from latentdyn.studies.nagano2017 import figures as N
from latentdyn.studies.nagano2017 import figures_geometry as G

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CAPTION = "Settings: profile=test, Nz=6, p=0.2, 5 trials, seed 0."


def _rng():
    return np.random.default_rng(0)


def _fig1():
    rng = _rng()
    frames = rng.random((7, 8, 8))
    concept = rng.random((8, 8))
    fig = N.fig1_sequence(frames, np.arange(7), concept, 6, CAPTION, ncols=4)
    cols = {f"x_t{k}": frames[k].ravel() for k in range(7)}
    cols["concept_6"] = concept.ravel()
    return fig, cols


def _fig2():
    rng = _rng()
    t = np.arange(11)
    means = {k: 3 - np.exp(-t) * 2 + 0.05 * t + k for k in range(4)}
    sems = {k: 0.1 + 0.01 * rng.random(11) for k in range(4)}
    fig = F.fig2_distance_curves(t, means, sems, CAPTION, t_star={0: 2, 1: 3, 2: 2, 3: 4},
                                 ncols=2)
    cols = {"t": t, **{f"mean_{k}": means[k] for k in means}, **{f"sem_{k}": sems[k] for k in sems},
            "t_star_label": ["0", "1", "2", "3"], "t_star": [2, 3, 2, 4]}
    return fig, cols


def _fig3a():
    rng = _rng()
    mask = np.array([True, False, True, False, False, True])
    conc = rng.normal(size=(4, 6)) * mask
    fig = G.fig3a_concepts(conc, mask, CAPTION)
    cols = {"label": ["0", "1", "2", "3"], **{f"unit_{u}": conc[:, u] for u in range(6)},
            "active_unit": [0, 2, 5]}
    return fig, cols


def _fig3a_active():
    rng = _rng()
    mask = np.array([True, False, True, False, False, True])
    conc = rng.normal(size=(4, 6)) * mask
    fig = G.fig3a_concepts(conc, mask, CAPTION, labels=list("abcd"), only_active=True)
    cols = {"label": list("abcd"), **{f"unit_{u}": conc[:, u] for u in (0, 2, 5)}}
    return fig, cols


def _fig3b():
    ev = np.array([5, 3, 1, 0.5, 0.4, 0.1])
    cum = np.cumsum(ev) / ev.sum()
    fig = G.fig3b_pca(cum, CAPTION, marks=(0.7, 0.99))
    cols = {"n_components": np.arange(1, 7), "cumulative_ratio": cum, "mark": [0.7, 0.99],
            "components_needed": [2, 5]}
    return fig, cols


def _fig3c():
    rng = _rng()
    v = rng.normal(size=(4, 6))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    cos = v @ v.T
    fig = G.fig3c_cosine(cos, ["0", "1", "2", "3"], CAPTION)
    cols = {"label": ["0", "1", "2", "3"], **{f"cos_{k}": cos[:, k] for k in range(4)}}
    return fig, cols


def _fig4():
    ps = np.linspace(0, 1, 6)
    mm = {"memory": ps * 4, "concept": 2 - ps, "abstract": 3 - 2 * ps}
    sm = {k: np.full(6, 0.1) for k in mm}
    stages = [("concept", 0.3, 0.7), ("memory", 0.0, 0.3), ("abstract", 0.7, 1.0)]
    fig = N.fig4_stages(ps, mm, sm, stages, CAPTION)
    cols = {"p": ps, **{f"mean_{k}": mm[k] for k in mm}, **{f"sem_{k}": sm[k] for k in sm},
            "stage": ["I", "II", "III"], "stage_level": ["memory", "concept", "abstract"],
            "stage_p_start": [0.0, 0.3, 0.7], "stage_p_end": [0.3, 0.7, 1.0]}
    return fig, cols


def _figA1():
    rng = _rng()
    labels = rng.integers(0, 5, 60)
    emb = rng.normal(size=(60, 2)) + labels[:, None]
    fig = G.figA1_pca(emb, labels, CAPTION, subset=(0, 1, 3), explained=(0.4, 0.2))
    cols = {"pc1": emb[:, 0], "pc2": emb[:, 1], "label": labels, "subset_labels": [0, 1, 3]}
    return fig, cols


def _curves():
    x = np.array([2, 5, 10, 20])
    ys = {"ELBO": np.array([-120.0, -100, -95, -96]), "KL": np.array([3.0, 8, 12, 13])}
    fig = F.curves(x, ys, {"ELBO": np.ones(4)}, "Nz", "nats", "test", CAPTION, xscale="log",
                   err_style="bars")
    cols = {"x": x, "ELBO": ys["ELBO"], "ELBO_err": np.ones(4), "KL": ys["KL"]}
    return fig, cols


def _grid():
    imgs = _rng().random((2, 3, 5, 5))
    fig = F.image_grid(imgs, CAPTION, ["a", "b"], ["c1", "c2", "c3"])
    cols = {"row_label": ["a", "b"], "col_label": ["c1", "c2", "c3"],
            **{f"r{i}_c{j}": imgs[i, j].ravel() for i in range(2) for j in range(3)}}
    return fig, cols


BUILDERS = {
    "fig1": _fig1, "fig2": _fig2, "fig3a": _fig3a, "fig3a_active": _fig3a_active,
    "fig3b": _fig3b, "fig3c": _fig3c, "fig4": _fig4, "figA1": _figA1, "curves": _curves,
    "grid": _grid,
}


def _assert_columns(csv_cols, expected):
    for name, want in expected.items():
        assert name in csv_cols, f"column {name} missing from CSV"
        got = csv_cols[name]
        want = np.asarray(want)
        assert len(got) == len(want), name
        if want.dtype.kind in "fiub":
            np.testing.assert_allclose(np.asarray(got, dtype=float), want.astype(float),
                                       rtol=0, atol=0, err_msg=name)
        else:
            assert got == [str(w) for w in want], name


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_figure_writes_png_pdf_and_matching_csv(tmp_path, name):
    fig, expected = BUILDERS[name]()
    saved = save_figure(fig, tmp_path / "figures", name, data_dir=tmp_path / "data")
    assert saved.png == tmp_path / "figures" / f"{name}.png"
    assert saved.png.read_bytes()[:8] == PNG_MAGIC
    assert saved.pdf.read_bytes()[:5] == b"%PDF-"
    assert saved.csv == tmp_path / "data" / f"{name}.csv"
    assert saved.caption == CAPTION
    _assert_columns(read_csv(saved.csv), expected)
    # atomic writes leave no temporary files behind
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_plotted_lines_are_the_csv_columns(tmp_path):
    fig, expected = _fig2()
    saved = save_figure(fig, tmp_path, "fig2", data_dir=tmp_path)
    cols = read_csv(saved.csv)
    plotted = [ln.get_ydata() for ax in fig.axes for ln in ax.get_lines()
               if len(ln.get_ydata()) == len(expected["t"])]
    for k in range(4):
        mean = np.asarray(cols[f"mean_{k}"], dtype=float)
        assert any(np.array_equal(mean, y) for y in plotted)


def test_fig2_default_t_star_is_argmin_of_the_mean():
    t = np.arange(6)
    means = {"a": np.array([5, 3, 2, 2.5, 3, 4.0]), "b": np.array([5, 4, 3, 1, 2, 3.0])}
    sems = {k: np.zeros(6) for k in means}
    data = F.figure_data(F.fig2_distance_curves(t, means, sems, ""))
    assert data["t_star"].tolist() == [2, 3]
    data = F.figure_data(F.fig2_distance_curves(t, means, sems, "", t_star={}))
    assert "t_star" not in data


def test_components_needed():
    cum = np.array([0.5, 0.7, 0.95, 0.99, 1.0])
    assert G.components_needed(cum, 0.7) == 2
    assert G.components_needed(cum, 0.99) == 4
    assert G.components_needed(cum[:3], 0.99) is None


def test_save_figure_caption_override_and_explicit_columns(tmp_path):
    fig, _ = _fig3b()
    saved = save_figure(fig, tmp_path / "f", "x", "new caption", {"a": [1, 2, 3], "b": [4.5]})
    assert saved.caption == "new caption"
    assert saved.csv == tmp_path / "data" / "x.csv"  # default data dir: <out_dir>/../data
    texts = [t.get_text() for t in fig.texts]
    assert "new caption" in texts and CAPTION not in " ".join(texts)
    assert read_csv(saved.csv) == {"a": ["1", "2", "3"], "b": ["4.5"]}


def test_write_csv_pads_ragged_columns(tmp_path):
    p = write_csv(tmp_path / "r.csv", {"long": np.arange(3), "short": [0.25], "s": "x"})
    lines = p.read_text().splitlines()
    assert lines == ["long,short,s", "0,0.25,x", "1,,", "2,,"]
    with pytest.raises(FigureDataError):
        write_csv(tmp_path / "bad.csv", {"m": np.zeros((2, 2))})


def test_bad_stem_and_bad_shapes_are_refused(tmp_path):
    fig, _ = _fig3b()
    with pytest.raises(FigureDataError):
        save_figure(fig, tmp_path, "../escape")
    with pytest.raises(FigureDataError):
        G.fig3c_cosine(np.zeros((3, 4)), None, "")
    with pytest.raises(FigureDataError):
        F.fig2_distance_curves(np.arange(3), {0: np.zeros(4)}, {0: np.zeros(4)}, "")
    with pytest.raises(FigureDataError):
        N.fig1_sequence(np.zeros((2, 4, 4)), [0, 1], np.zeros((5, 5)), 1, "")


def test_no_global_matplotlib_state_is_touched():
    backend = matplotlib.get_backend()
    rc = dict(matplotlib.rcParams)
    _fig2()
    _grid()
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == rc


def test_figures_can_be_built_in_threads(tmp_path):
    errors = []

    def work(i):
        try:
            fig, _ = _fig3c()
            save_figure(fig, tmp_path, f"t{i}", data_dir=tmp_path)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert all((tmp_path / f"t{i}.png").read_bytes()[:8] == PNG_MAGIC for i in range(2))


def test_a_one_image_grid_is_wide_enough_for_its_caption():
    """One decoded fixed point with a long caption: the image keeps at least its size
    and the caption reads as lines (before: a 215 x 367 px strip of wrapped words)."""
    from latentdyn.figures.generic import MIN_CAPTIONED_WIDTH

    one = _rng().random((1, 1, 8, 8))
    bare = F.image_grid(one)
    captioned = F.image_grid(one, "Decoded fixed points, largest basin first (1 of 1); "
                             "swap noise, deterministic dynamics, T = 12, tol = 0.001")
    assert captioned.get_figwidth() == pytest.approx(MIN_CAPTIONED_WIDTH)
    assert bare.get_figwidth() < 1.0  # without a caption the grid stays its own width

    def image_height(fig):
        fig.canvas.draw()
        return fig.axes[0].images[0].get_window_extent().height

    # at least its size, and no taller than the smallest figure (1.2 in)
    assert image_height(bare) <= image_height(captioned) <= 1.2 * captioned.dpi
    many = F.image_grid(_rng().random((1, 10, 8, 8)), CAPTION)
    assert many.get_figwidth() > MIN_CAPTIONED_WIDTH  # ten images set their own width
