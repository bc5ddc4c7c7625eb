"""Tests of the shape comparison with published synapse-size distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurosim.analysis import reference
from neurosim.analysis.biology import compare_with_references, standardised_log_sizes


def _row(res, key):
    return next(r for r in res.rows if r.key == key)


@pytest.mark.parametrize("sigma", [0.4, 0.9355, 1.5])
def test_sigma_recovered_with_ci(sigma):
    rng = np.random.default_rng(int(sigma * 100))
    s = 3.7 * np.exp(sigma * rng.standard_normal(4000))  # scale must not matter
    res = compare_with_references(s, n_boot=200)
    assert res.sigma_ci[0] <= sigma <= res.sigma_ci[1]
    assert res.sigma_ln == pytest.approx(sigma, rel=0.05)
    assert res.sigma_ci[0] < res.sigma_ln < res.sigma_ci[1]


def test_ks_small_for_matching_shape_large_otherwise():
    rng = np.random.default_rng(0)
    song_sigma = reference.sigma_ln("song2005")
    match = compare_with_references(np.exp(song_sigma * rng.standard_normal(5000)), n_boot=50)
    narrow = compare_with_references(np.exp(0.3 * rng.standard_normal(5000)), n_boot=50)
    assert _row(match, "song2005").ks < 0.03
    assert _row(narrow, "song2005").ks > 0.2
    # Song's shape is a log-normal: the matching sample is closer to it than to the mixture.
    assert _row(match, "song2005").ks < _row(match, "dorkenwald2022").ks


def test_mixture_sample_matches_dorkenwald_shape():
    ref = reference.load("dorkenwald2022")
    rng = np.random.default_rng(1)
    w1 = ref["mix_weight_1"] / (ref["mix_weight_1"] + ref["mix_weight_2"])
    pick = rng.random(6000) < w1
    log10v = np.where(
        pick,
        rng.normal(ref["mix_mean_1"], ref["mix_sd_1"], pick.size),
        rng.normal(ref["mix_mean_2"], ref["mix_sd_2"], pick.size),
    )
    res = compare_with_references(10.0**log10v, n_boot=50)
    assert _row(res, "dorkenwald2022").ks < 0.03
    assert res.sigma_ln == pytest.approx(reference.sigma_ln(ref), rel=0.05)


def test_zeros_reported_as_silent_fraction():
    rng = np.random.default_rng(2)
    s = np.exp(rng.standard_normal(3000))
    with_zeros = np.concatenate([s, np.zeros(1000)])
    a = compare_with_references(s, n_boot=50)
    b = compare_with_references(with_zeros, n_boot=50)
    assert b.n_zero == 1000 and b.n == 3000
    assert b.silent_fraction == pytest.approx(0.25)
    assert b.sigma_ln == pytest.approx(a.sigma_ln)
    assert "silent fraction = 0.250" in b.markdown()


def test_markdown_names_what_was_measured():
    rng = np.random.default_rng(3)
    md = compare_with_references(np.exp(rng.standard_normal(500)), n_boot=50).markdown()
    assert "EPSP amplitude" in md and "spine-head volume" in md
    assert md.count("\n| ") >= 3  # header + 2 rows


def test_standardised_log_sizes_median_zero():
    z, n0 = standardised_log_sizes([0.0, 1.0, math.e, math.e**2])
    assert n0 == 1
    assert np.median(z) == pytest.approx(0.0)
    np.testing.assert_allclose(z, [-1.0, 0.0, 1.0])


def test_bad_input():
    with pytest.raises(ValueError, match="references"):
        compare_with_references(np.ones(10) + np.arange(10), references=["bartol2015"])
    with pytest.raises(ValueError, match="sizes"):
        compare_with_references([1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="non-zero"):
        compare_with_references([0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="n_boot"):
        compare_with_references([1.0, 2.0, 3.0], n_boot=5)
