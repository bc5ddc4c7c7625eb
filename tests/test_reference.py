"""Tests of the shipped reference data and its loader."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from neurosim.analysis import reference

VALUE_KEYS = {"value", "unit", "kind", "where", "verified"}


def _files():
    return sorted(reference.data_dir().glob("*.toml"))


def _numeric_leaves(obj, path=()):
    """Yield (path, parent table) of every int/float leaf in a parsed TOML tree."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, bool):
                continue
            if isinstance(v, (int, float)):
                yield path + (k,), obj
            else:
                yield from _numeric_leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                yield path + (i,), None
            else:
                yield from _numeric_leaves(v, path + (i,))


def test_data_dir_has_the_required_sources():
    assert {"bartol2015", "samavat2024", "song2005", "dorkenwald2022", "loewenstein2011"} <= set(
        reference.available()
    )


@pytest.mark.parametrize("name", reference.available())
def test_every_file_loads(name):
    ref = reference.load(name)
    assert ref.key == name
    assert ref.citation and ref.doi.startswith("10.")
    assert ref.values


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_every_number_carries_a_source(path):
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert isinstance(raw.get("citation"), str) and raw["citation"]
    assert isinstance(raw.get("doi"), str) and raw["doi"]
    leaves = list(_numeric_leaves(raw))
    assert leaves, f"{path.name} has no numbers"
    for leaf_path, parent in leaves:
        assert parent is not None, f"{path.name}: number inside a list at {leaf_path}"
        assert leaf_path[-1] == "value", f"{path.name}: bare number at {leaf_path}"
        assert len(leaf_path) == 3 and leaf_path[0] == "values", leaf_path
        missing = VALUE_KEYS - set(parent)
        assert not missing, f"{path.name}: {leaf_path} lacks {missing}"
        assert parent["kind"] in reference.KINDS
        assert isinstance(parent["verified"], bool)
        assert isinstance(parent["where"], str) and parent["where"]
        if not parent["verified"]:
            assert parent.get("note"), f"{path.name}: unverified {leaf_path} without a note"
        if parent["kind"] == "derived":
            assert parent.get("formula"), f"{path.name}: derived {leaf_path} without formula"


def test_unknown_name_lists_available():
    with pytest.raises(ValueError, match="song2005"):
        reference.load("nosuchpaper")


def test_getitem_and_unknown_value():
    ref = reference.load("song2005")
    assert ref["mu_ln"] == pytest.approx(-0.702)
    with pytest.raises(KeyError, match="mu_ln"):
        ref["nope"]


def test_song_internal_consistency():
    """The reported mean and median follow from the reported ln-parameters."""
    ref = reference.load("song2005")
    mu, var = ref["mu_ln"], ref["var_ln"]
    assert math.exp(mu) == pytest.approx(ref["median_mV"], abs=0.005)
    assert math.exp(mu + var / 2) == pytest.approx(ref["mean_mV"], abs=0.005)
    assert math.exp(mu - var) == pytest.approx(ref["mode_mV"], abs=0.005)
    assert reference.sigma_ln(ref) == pytest.approx(math.sqrt(var), abs=1e-4)


def test_bartol_derived_count_matches_formula():
    from scipy.special import erfinv

    ref = reference.load("bartol2015")
    z = math.sqrt(2) * erfinv(0.69)
    assert ref["discrimination_z"] == pytest.approx(z, abs=5e-4)
    n = math.log(ref["size_ratio"]) / math.log(1 + 2 * ref["pair_cv_median"] * z)
    assert ref["n_levels_formula"] == pytest.approx(n, abs=0.05)
    assert round(n) == ref["n_levels"]
    assert math.log2(ref["n_levels"]) == pytest.approx(ref["bits"], abs=0.01)


def test_mixture_sigma_converts_log10_to_ln():
    ref = reference.load("dorkenwald2022")
    comps = reference.component_sigmas_ln(ref)
    assert comps[0] == pytest.approx(ref["mix_sd_1"] * math.log(10))
    assert comps[1] == pytest.approx(ref["mix_sd_2"] * math.log(10))
    # Whole-mixture sigma from a large sample of the mixture itself.
    rng = np.random.default_rng(3)
    w1 = ref["mix_weight_1"] / (ref["mix_weight_1"] + ref["mix_weight_2"])
    pick = rng.random(400_000) < w1
    x = np.where(
        pick,
        rng.normal(ref["mix_mean_1"], ref["mix_sd_1"], pick.size),
        rng.normal(ref["mix_mean_2"], ref["mix_sd_2"], pick.size),
    ) * math.log(10)
    assert reference.sigma_ln(ref) == pytest.approx(np.std(x), rel=0.01)
    cdf = reference.standardised_cdf(ref)
    assert float(cdf(np.array(0.0))) == pytest.approx(0.5, abs=1e-9)
    z = x - np.median(x)
    assert float(cdf(np.array(0.3))) == pytest.approx(np.mean(z <= 0.3), abs=0.005)


def test_no_shape_reference_rejected():
    with pytest.raises(ValueError, match="no log-normal-like shape"):
        reference.sigma_ln("bartol2015")


def test_shapes_listed():
    assert set(reference.with_shape()) == {"song2005", "dorkenwald2022"}
