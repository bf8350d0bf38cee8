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


# ------------------------------------------------------------------- issue 19, item 13
def test_grouped_bootstrap_draws_each_group_independently():
    """Independent groups (labels, noise levels) get independent resamples: with one
    index shared by every group (the old way) two groups made of the same numbers give
    the same resampled mean every time; with an index per group they do not."""
    from latentdyn.analysis.uncertainty import grouped_bootstrap

    rng = np.random.default_rng(5)
    x = rng.normal(size=100)
    data = np.stack([x, x], axis=1)  # (units, groups)
    shared = bootstrap(data, lambda d: d.mean(0), n_resamples=300, seed=0)
    assert np.allclose(shared.samples[:, 0], shared.samples[:, 1])
    own = grouped_bootstrap(data, lambda d: d.mean(0), n_resamples=300, seed=0)
    assert abs(np.corrcoef(own.samples.T)[0, 1]) < 0.2 and own.grouped
    # each group's resample is still a bootstrap of its own units: the spread of a mean
    assert own.samples[:, 0].std() == pytest.approx(x.std() / 10, rel=0.15)
    # arrays stay paired within a group: (a, a + 1) differ by 1 in every resample
    pair = grouped_bootstrap((data, data + 1), lambda a, b: (b - a).mean(0), n_resamples=50)
    assert np.allclose(pair.samples, 1.0)
    assert grouped_bootstrap(data, lambda d: d.mean(0), seed=3).interval == \
        grouped_bootstrap(data, lambda d: d.mean(0), seed=3).interval
    with pytest.raises(ConfigError, match="groups"):
        grouped_bootstrap(x, lambda d: d.mean())


def test_undefined_resamples_are_left_out_not_scored_as_failures():
    """A resample whose statistic is NaN (a class missing from it, ...) leaves the
    interval and the share of the rule, and is counted; the interval of a derived
    number ignores it the same way (np.percentile would return NaN)."""
    x = np.r_[np.ones(3), np.zeros(27)]

    def mean_of_ones(v):  # undefined when the resample holds no 1
        return np.nan if v.sum() == 0 else float(v[v > 0].mean())

    boot = bootstrap(x, mean_of_ones, n_resamples=400, seed=1)
    bad = int(np.isnan(boot.samples).sum())
    assert bad > 0 and boot.undefined == bad and f"{bad} resample(s) with an undefined" in boot.describe()
    assert boot.share(lambda s: s == 1.0) == 1.0  # the old share: 1 - bad / 400
    assert boot.interval == (1.0, 1.0) and boot.interval_of(lambda s: s) == (1.0, 1.0)
    assert boot.point_mass()
    assert not mean_interval(np.arange(10.0), n_resamples=50).point_mass()
    vec = bootstrap(x, lambda v: np.array([v.mean(), mean_of_ones(v)]), n_resamples=400,
                    seed=1)
    assert vec.share(lambda s: s[0] >= 0, columns=0) == 1.0 and vec.undefined == bad
    assert vec.defined(columns=0).all() and not vec.defined().all()
