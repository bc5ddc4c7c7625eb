"""Model selection: the rule the reports use is calibrated (few false mixtures) and has power."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.analysis.fits import fit_sizes
from neurosim.analysis.selection import MIXTURE, ashman_d, at_reference_size, bimodality_coefficient, chi_square, select
from neurosim.lns import LogGrid

GRID = LogGrid(26, 60.0, 1.0)
FAMS = ["lognorm", MIXTURE]


def _binned(lx: np.ndarray, grid: LogGrid, rounding: str, rng: np.random.Generator) -> np.ndarray:
    return grid.decode(grid.encode(np.exp(lx), rounding, generator=rng))


def test_the_rule_rarely_picks_a_mixture_for_binned_lognormal_sizes() -> None:
    """>= 300 binned log-normal samples: sigma and placement on the grid varied, piles on the end levels
    included (placed near an end, a wide log-normal saturates the grid). At most 5 % mixtures."""
    rng = np.random.default_rng(0)
    lo, hi = np.log(GRID.w_min), np.log(GRID.w_max)
    chosen = []
    for n in (1000, 10000):
        for sigma in (0.3, 0.7, 1.2):
            for place in (0.1, 0.5, 0.9):
                for rounding in ("stochastic", "nearest"):
                    for _ in range(9):
                        mu = lo + place * (hi - lo)
                        s = _binned(rng.normal(mu, sigma, n), GRID, rounding, rng)
                        rep = fit_sizes(s, families=FAMS, grid=GRID, rounding=rounding)
                        chosen.append(select(rep, gof=False).chosen == MIXTURE)
    assert len(chosen) >= 300
    assert np.mean(chosen) <= 0.05, f"mixture chosen in {np.mean(chosen):.1%} of log-normal samples"


def test_the_rule_finds_a_dorkenwald_like_mixture_at_their_sample_size() -> None:
    """Dorkenwald et al. (2022, Table 2, all synapses): log10 volume components -1.42 (sd 0.24, weight 0.77)
    and -0.77 (0.22, 0.23), n = 1960, binned on a 26-level, 60x grid. Detected at least 80 % of the time."""
    rng = np.random.default_rng(1)
    m, sd = np.array([-1.42, -0.77]) * np.log(10), np.array([0.24, 0.22]) * np.log(10)
    grid = LogGrid(26, 60.0, float(np.exp(m[1] + 2.2 * sd[1])))
    hits = []
    for _ in range(100):
        small = rng.random(1960) < 0.77
        lx = np.where(small, rng.normal(m[0], sd[0], 1960), rng.normal(m[1], sd[1], 1960))
        rep = fit_sizes(_binned(lx, grid, "stochastic", rng), families=FAMS, grid=grid, rounding="stochastic")
        hits.append(select(rep, gof=False).chosen == MIXTURE)
    assert np.mean(hits) >= 0.8, f"mixture detected in {np.mean(hits):.0%}"


def test_end_level_piles_are_point_masses_not_a_mixture_component() -> None:
    rng = np.random.default_rng(2)
    lx = rng.normal(np.log(GRID.w_max) - 0.3, 1.0, 5000)  # a third of the sizes saturate the top level
    s = _binned(lx, GRID, "stochastic", rng)
    rep = fit_sizes(s, families=FAMS, grid=GRID, rounding="stochastic")
    top = "level 25 (the grid's top)"
    assert rep.point_masses[top] > 1000 and rep.ends == "point-mass"
    assert rep.n_fitted == rep.n_positive - sum(rep.point_masses.values())
    assert select(rep, gof=False).chosen == "lognorm"
    censored = fit_sizes(s, families=FAMS, grid=GRID, rounding="stochastic", ends="censored")
    assert censored.point_masses == {} and censored.n_fitted == censored.n_positive


def test_spreads_are_floored_at_one_level() -> None:
    rng = np.random.default_rng(3)
    lx = np.concatenate([rng.normal(-2.0, 0.5, 3000), np.full(300, np.log(GRID.sizes()[10]))])  # a spike
    rep = fit_sizes(_binned(lx, GRID, "nearest", rng), families=FAMS, grid=GRID, rounding="nearest")
    p = rep.results[MIXTURE].params
    assert min(p["sigma1"], p["sigma2"]) >= GRID.step * (1 - 1e-9)
    assert rep.results["lognorm"].params["sigma"] >= GRID.step


def test_clipped_continuous_sizes_are_a_point_mass() -> None:
    rng = np.random.default_rng(4)
    x = np.minimum(rng.lognormal(0.0, 0.5, 3000), 1.5)  # a clip at 1.5
    rep = fit_sizes(x, families=FAMS)
    ((where, count),) = rep.point_masses.items()
    assert "1.5" in where and count == int((x >= 1.5).sum())
    assert rep.results["lognorm"].n_params == 3  # mu, sigma and the point mass


def test_goodness_of_fit_and_bimodality_measures() -> None:
    rng = np.random.default_rng(5)
    x = rng.lognormal(-1.0, 0.5, 4000)
    rep = fit_sizes(x, families=["lognorm", "expon", MIXTURE])
    assert chi_square(rep, "lognorm").pvalue > 0.001 > chi_square(rep, "expon").pvalue
    sel = select(rep)
    assert sel.chosen == "lognorm" and sel.fits and sel.gof.df > 5
    assert bimodality_coefficient(np.log(x)) < 5 / 9
    two = np.concatenate([rng.normal(-2, 0.3, 2000), rng.normal(1, 0.3, 2000)])
    assert bimodality_coefficient(two) > 5 / 9
    assert ashman_d({"mu1": -2, "mu2": 1, "sigma1": 0.3, "sigma2": 0.3}) == pytest.approx(10.0)
    # at a reference's sample size
    sub = at_reference_size(x, 500, n_sub=5, seed=0)
    assert sub["n_sub"] == 5 and sub["fraction_mixture"] == 0.0
