"""Analysis of synapse sizes: distribution fits, reference data, precision, dynamics, figures.

The names below are imported lazily (PEP 562): ``import neurosim.analysis`` is cheap and
does not touch matplotlib; the plot functions load it on first use, on the Agg backend
unless pyplot was already imported with another backend.

Main entry points
-----------------
* :func:`fit_sizes` -> :class:`FitReport` (``neurosim.analysis.fits``)
* :func:`analyse_run`, :func:`compare_runs` (``neurosim.analysis.summary``): everything
  for one run's snapshots, or for several runs side by side, with figures.
* :func:`load_reference`, :func:`available_references` (``neurosim.analysis.reference``)
* :func:`precision_report`, :func:`pair_cv`, :func:`level_occupancy`,
  :func:`dynamic_range`, :func:`distinguishable_sizes` (``neurosim.analysis.precision``)
* :func:`interval_scaling`, :func:`size_change_scaling` (``neurosim.analysis.dynamics``):
  size changes against size at every interval, with drift and turnover
* :func:`select`, :data:`SELECTION_RULE` (``neurosim.analysis.selection``): the calibrated
  rule that chooses a family, with goodness of fit and bimodality
* :func:`parts` (``neurosim.analysis.projections``): a snapshot's projections, a torch
  layer's excitatory and inhibitory inputs apart
* :func:`compare_with_references` (``neurosim.analysis.biology``)
* :func:`plot_fit`, :func:`plot_qq`, :func:`plot_level_occupancy`, :func:`plot_runs`,
  :func:`save_figure` (``neurosim.analysis.plots``)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, tuple[str, str]] = {
    # fits
    "FAMILIES": ("fits", "FAMILIES"),
    "FitReport": ("fits", "FitReport"),
    "FamilyFit": ("fits", "FamilyFit"),
    "Comparison": ("fits", "Comparison"),
    "fit_sizes": ("fits", "fit_sizes"),
    # references
    "Reference": ("reference", "Reference"),
    "load_reference": ("reference", "load"),
    "available_references": ("reference", "available"),
    "sigma_ln": ("reference", "sigma_ln"),
    "standardised_cdf": ("reference", "standardised_cdf"),
    # precision
    "precision_report": ("precision", "precision_report"),
    "PrecisionReport": ("precision", "PrecisionReport"),
    "pair_cv": ("precision", "pair_cv"),
    "level_occupancy": ("precision", "level_occupancy"),
    "dynamic_range": ("precision", "dynamic_range"),
    "distinguishable_sizes": ("precision", "distinguishable_sizes"),
    # dynamics
    "size_change_scaling": ("dynamics", "size_change_scaling"),
    "ChangeScaling": ("dynamics", "ChangeScaling"),
    "interval_scaling": ("dynamics", "interval_scaling"),
    "IntervalScaling": ("dynamics", "IntervalScaling"),
    # model selection
    "select": ("selection", "select"),
    "Selection": ("selection", "Selection"),
    "SELECTION_RULE": ("selection", "RULE"),
    # projections and their parts
    "parts": ("projections", "parts"),
    # biology
    "compare_with_references": ("biology", "compare_with_references"),
    "BiologyComparison": ("biology", "BiologyComparison"),
    # plots (matplotlib loaded on first use)
    "plot_fit": ("plots", "plot_fit"),
    "plot_qq": ("plots", "plot_qq"),
    "plot_level_occupancy": ("plots", "plot_level_occupancy"),
    "plot_runs": ("plots", "plot_runs"),
    "save_figure": ("plots", "save_figure"),
    # one call per run / per sweep
    "analyse_run": ("summary", "analyse_run"),
    "analyse_snapshot": ("summary", "analyse_snapshot"),
    "analyse_part": ("summary", "analyse_part"),
    "compare_runs": ("summary", "compare_runs"),
    "RunAnalysis": ("summary", "RunAnalysis"),
    "RunsComparison": ("summary", "RunsComparison"),
    "SnapshotAnalysis": ("summary", "SnapshotAnalysis"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'neurosim.analysis' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"neurosim.analysis.{module}"), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
