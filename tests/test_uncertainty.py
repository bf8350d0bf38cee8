"""Bootstrap intervals and permutation nulls on data with known answers."""

import numpy as np
import pytest

from latentdyn.analysis.uncertainty import bootstrap, mean_interval, permutation_null
from latentdyn.errors import ConfigError


def test_interval_covers_the_true_mean_in_most_repetitions():
    rng = np.random.default_rng(1)
    hits = 0
    for rep in range(100):
        x = rng.normal(3.0, 2.0, size=60)
        b = mean_interval(x, n_resamples=400, seed=rep)
        hits += b.low <= 3.0 <= b.high
    assert 88 <= hits <= 99  # nominal 95 %: a percentile bootstrap of n = 60 undercovers a bit


def test_interval_narrows_with_more_units_and_is_seeded():
    rng = np.random.default_rng(0)
    small = mean_interval(rng.normal(size=20), seed=0)
    big = mean_interval(rng.normal(size=2000), seed=0)
    assert (big.high - big.low) < (small.high - small.low) / 5
    x = rng.normal(size=50)
    assert mean_interval(x, seed=3).interval == mean_interval(x, seed=3).interval


def test_paired_resampling_and_rule_share():
    a = np.arange(40.0)
    b = a + 1.0  # every pair differs by exactly 1
    boot = bootstrap((a, b), lambda u, v: (v - u).mean(), n_resamples=100)
    assert boot.estimate == 1.0 and boot.interval == (1.0, 1.0)
    assert boot.share(lambda d: d > 0.5) == 1.0
    noisy = bootstrap(np.r_[np.ones(10), np.zeros(10)], lambda v: v.mean(), seed=2)
    assert 0.3 < noisy.share(lambda m: m > 0.5) < 0.7  # a coin-flip rule


def test_interval_of_a_derived_number_is_the_percentile_of_its_resamples():
    rng = np.random.default_rng(3)
    data = np.stack([rng.normal(0, 1, 200), rng.normal(5, 1, 200)], axis=1)
    b = bootstrap(data, lambda x: x.mean(0), n_resamples=400, seed=1)
    low, high = b.interval_of(np.min)
    # the smaller component is always the first one's mean here, so the interval is its
    assert (low, high) == pytest.approx((b.low[0], b.high[0]))
    assert b.interval_of(lambda s: s[1] - s[0]) == pytest.approx(
        tuple(np.percentile(b.samples[:, 1] - b.samples[:, 0], [2.5, 97.5])))


def test_permutation_null_when_labels_carry_no_information():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    labels = (x > 0).astype(int)  # labels that do carry information

    def separation(lab):
        return abs(x[lab == 1].mean() - x[lab == 0].mean())

    null = permutation_null(labels, separation, n_permutations=200, seed=1)
    assert separation(labels) > null.quantile > null.mean
    assert null.p_value(separation(labels)) < 0.01
    assert null.p_value(null.mean) > 0.2


def test_bad_input():
    with pytest.raises(ConfigError, match="two units"):
        mean_interval(np.ones(1))
    with pytest.raises(ConfigError, match="number of units"):
        bootstrap((np.ones(3), np.ones(4)), lambda a, b: 0.0)
    with pytest.raises(ConfigError, match="level"):
        mean_interval(np.ones(5), level=1.5)


def test_vector_statistics_have_one_interval_per_component():
    rng = np.random.default_rng(4)
    x = np.c_[rng.normal(0.0, 1.0, 300), rng.normal(5.0, 0.1, 300)]
    boot = mean_interval(x, n_resamples=300, seed=0)
    assert boot.samples.shape == (300, 2)
    lo, hi = boot.interval
    assert lo[0] < 0.0 < hi[0] and lo[1] < 5.0 < hi[1]
    assert (hi[1] - lo[1]) < (hi[0] - lo[0]) / 5  # the narrower spread, the narrower interval
    assert boot.share(lambda s: s[1] > 4.9) == 1.0
    m = boot.estimate[0]
    assert 0.35 < boot.share(lambda s: s[0] > m) < 0.65  # resamples centre on the estimate
