"""Input corruption: identities, statistics, determinism, errors."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latentdyn.data.corruption import NOISE_KINDS, corrupt, flip, gaussian, mask, salt_pepper, swap
from latentdyn.errors import ConfigError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def distinct(n=200, d=500, seed=1):
    """Images whose pixel values are all different (so every move is visible)."""
    return torch.rand(n, d, generator=gen(seed), dtype=torch.float64)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_p_zero_is_identity(kind):
    x = distinct(20, 30)
    assert torch.equal(corrupt(x, kind, 0.0, gen()), x)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_same_seed_same_output_other_seed_differs(kind):
    x = distinct(20, 30)
    a = corrupt(x, kind, 0.3, gen(5))
    assert torch.equal(a, corrupt(x, kind, 0.3, gen(5)))
    assert not torch.equal(a, corrupt(x, kind, 0.3, gen(6)))


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_keeps_shape_dtype_range_and_input(kind):
    x = torch.rand(6, 1, 5, 7, generator=gen(2))
    before = x.clone()
    out = corrupt(x, kind, 0.5, gen())
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(x, before)
    assert out.data_ptr() != x.data_ptr()


def test_corrupt_dispatches_to_the_kind():
    x = distinct(10, 40)
    for fn in (swap, flip, salt_pepper, gaussian, mask):
        assert torch.equal(corrupt(x, fn.__name__, 0.4, gen(3)), fn(x, 0.4, gen(3)))
    assert torch.equal(corrupt(x, p=0.4, generator=gen(3)), swap(x, 0.4, gen(3)))  # default


def test_swap_preserves_each_images_values_and_moves_about_p():
    x, p = distinct(), 0.3
    out = swap(x, p, gen())
    assert torch.equal(out.sort(dim=1).values, x.sort(dim=1).values)
    moved = (out != x).double().mean().item()
    # a random permutation of k selected pixels leaves ~1 of them in place
    assert abs(moved - p) < 0.02


def test_swap_p_one_scrambles_the_whole_image():
    x = distinct(100, 50)
    out = swap(x, 1.0, gen())
    assert torch.equal(out.sort(dim=1).values, x.sort(dim=1).values)
    assert (out != x).double().mean().item() > 0.9  # ~1 fixed point in 50


def test_swap_permutation_is_uniform():
    """p = 1 on three pixels: all 3! orders equally likely."""
    x = torch.tensor([[0.0, 0.5, 1.0]]).repeat(6000, 1)
    out = swap(x, 1.0, gen())
    _, counts = torch.unique(out, dim=0, return_counts=True)
    assert len(counts) == 6
    expected = 1000
    chi2 = ((counts.double() - expected) ** 2 / expected).sum().item()
    assert chi2 < 20.5  # chi-square, 5 dof, p ~ 0.001


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 40), p=st.floats(0, 1), seed=st.integers(0, 99))
def test_swap_property_multiset_kept(n, d, p, seed):
    x = torch.rand(n, d, generator=gen(seed))
    out = swap(x, p, gen(seed + 1))
    assert torch.equal(out.sort(dim=1).values, x.sort(dim=1).values)


def test_flip_count_and_values():
    x, p = distinct(), 0.25
    out = flip(x, p, gen())
    changed = out != x
    assert abs(changed.double().mean().item() - p) < 0.01
    assert torch.allclose(out[changed], 1 - x[changed])


def test_salt_pepper_sets_selected_to_zero_or_one():
    x, p = distinct(), 0.4
    out = salt_pepper(x, p, gen())
    changed = out != x
    assert abs(changed.double().mean().item() - p) < 0.01
    values = out[changed]
    assert torch.all((values == 0) | (values == 1))
    assert abs((values == 1).double().mean().item() - 0.5) < 0.02


def test_gaussian_std_is_p_and_clipped():
    x = torch.full((400, 500), 0.5, dtype=torch.float64)
    out = gaussian(x, 0.1, gen())
    assert abs((out - x).std().item() - 0.1) < 0.002
    wide = gaussian(x, 1.0, gen())
    assert wide.min() == 0 and wide.max() == 1


def test_mask_zeroes_about_p():
    x, p = distinct() + 0.01, 0.2
    out = mask(x, p, gen())
    assert abs((out == 0).double().mean().item() - p) < 0.01
    assert torch.equal(out[out != 0], x[out != 0])


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, math.inf, "0.2", True, None])
def test_bad_p(p):
    with pytest.raises(ConfigError, match="p must"):
        corrupt(torch.rand(2, 3), "flip", p)


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.ones(2, 3, dtype=torch.uint8), "floating-point"),
        (torch.rand(5), r"batch of shape \(N, \.\.\.\)"),
        (torch.tensor(0.5), r"batch of shape"),
        ([[0.1, 0.2]], "torch.Tensor"),
    ],
)
def test_bad_x(x, match):
    with pytest.raises(ConfigError, match=match):
        corrupt(x, "swap", 0.2)


def test_unknown_kind_lists_choices():
    with pytest.raises(ConfigError, match="unknown noise kind 'blur'; choose from swap, flip"):
        corrupt(torch.rand(2, 3), "blur", 0.2)


def test_empty_batch():
    x = torch.rand(0, 10)
    for kind in NOISE_KINDS:
        assert corrupt(x, kind, 0.5).shape == (0, 10)
