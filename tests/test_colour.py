"""Images beyond 28 x 28 grey (issue 22): colour arrays and PNG folders in the data
layer, held channels first and flattened; corruption channel by channel; and colour in
the figures' image grid and the report's viewer, all unfolded by one helper."""

import base64
import json

import numpy as np
import pytest
import torch

from latentdyn.data import corrupt, load_dataset
from latentdyn.data.images import channels_of, display_images, plane_of
from latentdyn.errors import ConfigError, DataError


def rgb(n=6, h=4, w=5, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------------ npz
def test_npz_colour_is_held_channels_first(tmp_path):
    images, labels = rgb(), np.array([0, 1, 0, 1, 0, 1])
    np.savez(tmp_path / "c.npz", images=images, labels=labels)
    ds = load_dataset(f"npz:{tmp_path / 'c.npz'}")
    assert ds.image_shape == (3, 4, 5) and ds.channels == 3 and ds.dim == 60
    row = ds.train_images[2].reshape(3, 4, 5).numpy()
    np.testing.assert_array_equal(row, np.moveaxis(images[2], -1, 0) / np.float32(255))
    shown = display_images(ds.train_images[:2], ds.image_shape)
    np.testing.assert_allclose(shown, images[:2] / 255.0, atol=1e-7)  # back to (H, W, 3)


def test_npz_one_channel_is_grey(tmp_path):
    images = rgb()[..., :1]
    np.savez(tmp_path / "g.npz", images=images, labels=np.arange(6) % 2)
    ds = load_dataset(f"npz:{tmp_path / 'g.npz'}")
    assert ds.image_shape == (4, 5) and ds.channels == 1
    np.testing.assert_array_equal(ds.train_images[0].numpy(), images[0, ..., 0].reshape(-1)
                                  / np.float32(255))


# ------------------------------------------------------------------------ folder:PATH
def write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_folder_reads_pngs_one_subfolder_per_label(tmp_path):
    images = rgb(n=12, seed=1)
    for k in range(12):
        write_png(tmp_path / "set" / ("cat" if k < 6 else "dog") / f"{k:02d}.png", images[k])
    ds = load_dataset(f"folder:{tmp_path / 'set'}")
    assert ds.image_shape == (3, 4, 5) and ds.num_classes == 2
    assert ds.extra["label_names"] == ["cat", "dog"]
    assert ds.train_labels.tolist() == [0] * 5 + [1] * 5 and ds.test_labels.tolist() == [0, 1]
    np.testing.assert_array_equal(ds.test_images[0].reshape(3, 4, 5).numpy(),
                                  np.moveaxis(images[5], -1, 0) / np.float32(255))
    assert len(ds.checksums()["arrays.sha256"]) == 64


def test_folder_with_train_and_test_and_grey_images(tmp_path):
    grey = rgb(n=6, seed=2)[..., 0]
    for k in range(6):
        split = "train" if k < 4 else "test"
        write_png(tmp_path / "g" / split / str(k % 2 + 3) / f"{k}.png", grey[k])
    ds = load_dataset(f"folder:{tmp_path / 'g'}")
    assert ds.image_shape == (4, 5) and ds.channels == 1
    assert ds.train_labels.tolist() == [3, 3, 4, 4] and ds.test_labels.tolist() == [3, 4]
    np.testing.assert_array_equal(ds.train_images[0].numpy(), grey[0].reshape(-1)
                                  / np.float32(255))


def test_folder_errors_are_one_line(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_dataset(f"folder:{tmp_path / 'none'}")
    write_png(tmp_path / "a" / "0" / "x.png", rgb(n=1)[0])
    write_png(tmp_path / "a" / "0" / "y.png", rgb(n=1, h=6)[0])
    with pytest.raises(DataError, match="differ in size"):
        load_dataset(f"folder:{tmp_path / 'a'}")
    (tmp_path / "b" / "0").mkdir(parents=True)
    (tmp_path / "b" / "0" / "x.png").write_bytes(b"not a png")
    (tmp_path / "b" / "0" / "y.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read x.png as PNG"):
        load_dataset(f"folder:{tmp_path / 'b'}")


# ------------------------------------------------------------------------ corruption
def test_colour_is_corrupted_channel_by_channel():
    x = torch.rand(5, 3 * 36, generator=torch.Generator().manual_seed(0))
    for kind in ("flip", "salt_pepper", "gaussian", "mask"):  # the same draws as per value
        assert torch.equal(corrupt(x, kind, 0.4, generator=3, channels=3),
                           corrupt(x, kind, 0.4, generator=3))
    out = corrupt(x, "swap", 1.0, generator=3, channels=3).reshape(5, 3, 36)
    planes = x.reshape(5, 3, 36)
    assert torch.equal(out.sort(-1).values, planes.sort(-1).values)  # each channel keeps its
    assert not torch.equal(out, planes)                                # own values, moved
    mixed = corrupt(x, "swap", 1.0, generator=3).reshape(5, 3, 36)
    assert not torch.equal(mixed.sort(-1).values, planes.sort(-1).values)
    with pytest.raises(ConfigError, match="cannot hold 5 channels"):
        corrupt(x, "swap", 0.2, channels=5)
    with pytest.raises(ConfigError, match="channels must be a positive integer"):
        corrupt(x, "swap", 0.2, channels=0)


# ------------------------------------------------------------------------ showing images
def test_display_images_unfolds_rows():
    rows = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 12) / 24
    shown = display_images(rows, (3, 2, 2))
    assert shown.shape == (2, 2, 2, 3)
    assert shown[1, 0, 1].tolist() == [rows[1, 1], rows[1, 5], rows[1, 9]]
    assert display_images(rows[:, :4], (2, 2)).shape == (2, 2, 2)
    assert display_images(rows[:, :8], (2, 2, 2)).shape == (2, 2, 2)  # channel 0, grey
    assert channels_of((3, 2, 2)) == 3 and channels_of((5, 5)) == 1
    assert plane_of((3, 4, 5)) == (4, 5)
    with pytest.raises(ConfigError, match="do not hold images"):
        display_images(rows, (2, 2))


def test_image_grid_takes_channels_first_colour():
    from latentdyn.figures import image_grid
    from latentdyn.figures.style import figure_data

    grid = np.random.default_rng(0).random((2, 3, 3, 4, 4))  # (R, C, K, H, W)
    fig = image_grid(grid, caption="colour")
    data = figure_data(fig)
    np.testing.assert_allclose(data["r1_c2"], np.moveaxis(grid[1, 2], 0, -1).reshape(-1))


def test_viewer_shows_colour_frames():
    from latentdyn.reporting.viewer import trajectory_viewer, viewer_data

    frames = np.random.default_rng(1).random((2, 3, 3 * 2 * 2))  # (n, F, C*H*W)
    data = viewer_data(frames, {"d": np.ones((2, 3))}, image_shape=(3, 2, 2))
    assert data["shape"] == [2, 2, 3]
    first = np.frombuffer(base64.b64decode(data["trajectories"][1]["frames"]), dtype=np.uint8)
    expect = np.round(np.moveaxis(frames[1].reshape(3, 3, 2, 2), 1, -1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(first, expect.reshape(-1))
    html = trajectory_viewer(frames, {"d": np.ones((2, 3))}, image_shape=(3, 2, 2))
    payload = html.split('class="ld-viewer-data">')[1].split("</script>")[0]
    assert json.loads(payload)["shape"] == [2, 2, 3] and "c === 3" in html


@pytest.mark.parametrize("which", ["fig1", "fig2a"])
def test_the_sequence_figures_show_colour(which):
    """Fig. 1 (nagano2017) and Fig. 2a (nagano2017-sampling) take frames channels
    first, as the studies fold a colour data set's rows, and show them in RGB; their CSV
    names each value by row, column and channel."""
    from latentdyn.figures.style import figure_data
    from latentdyn.studies.nagano2017.figures import fig1_sequence
    from latentdyn.studies.nagano2017_sampling.figures import fig2a_sampled_sequence

    rng = np.random.default_rng(2)
    frames, means, concept = rng.random((3, 3, 4, 5)), rng.random((3, 3, 4, 5)), rng.random(
        (3, 4, 5))  # (S, C, H, W) and (C, H, W)
    fig = (fig1_sequence(frames, [0, 1, 2], concept, 6) if which == "fig1" else
           fig2a_sampled_sequence(frames, means, [0, 1, 2], concept, 6))
    shown = [im.get_array() for ax in fig.axes for im in ax.get_images()]
    assert [a.shape[-1] for a in shown] == [3, 3]  # the sequence and the concept, RGB
    np.testing.assert_allclose(shown[1], np.moveaxis(concept, 0, -1))
    data = figure_data(fig)
    assert data["pixel_row"].size == 4 * 5 * 3
    assert data["channel"][:4].tolist() == [0, 1, 2, 0]
    np.testing.assert_allclose(data["x_t1"], np.moveaxis(frames[1], 0, -1).reshape(-1))
    grey = (fig1_sequence(frames[:, 0], [0, 1, 2], concept[0], 6) if which == "fig1" else
            fig2a_sampled_sequence(frames[:, 0], means[:, 0], [0, 1, 2], concept[0], 6))
    assert "channel" not in figure_data(grey)
    assert all(im.get_array().ndim == 2 for ax in grey.axes for im in ax.get_images())


@pytest.mark.parametrize("shape", [(4, 5), (3, 4, 5)])
def test_the_fig1_viewer_shows_the_sequence_in_its_colours(shape):
    """nagano2017's report steps through Fig. 1's frames as they are: grey (S, H, W) or
    colour channels first (S, C, H, W), never a colour image read as grey rows."""
    from latentdyn.figures import SavedFigure
    from latentdyn.studies.nagano2017.report import _fig1_section
    from latentdyn.studies.nagano2017.stages import CorruptedSequence

    frames = np.random.default_rng(3).random((3, *shape))
    seq = CorruptedSequence(frames, [0, 1, 2], frames[0], 0.2, {"concept": np.ones(3)})
    html = _fig1_section(SavedFigure("a.png", "a.pdf", None, "c"), seq).extra_html
    data = json.loads(html.split('class="ld-viewer-data">')[1].split("</script>")[0])
    shown = (4, 5) if len(shape) == 2 else (4, 5, 3)
    assert data["shape"] == list(shown)
    got = np.frombuffer(base64.b64decode(data["trajectories"][0]["frames"]), dtype=np.uint8)
    expect = frames if len(shape) == 2 else np.moveaxis(frames, 1, -1)
    np.testing.assert_array_equal(got, np.round(expect * 255).astype(np.uint8).reshape(-1))
