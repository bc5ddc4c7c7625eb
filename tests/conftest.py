"""Test markers: ``slow`` runs only with ``--runslow`` or ``NEUROSIM_SLOW=1``;
``brian2`` needs Brian2 and a C++ compiler (skipped when either is missing)."""

from __future__ import annotations

import os
import shutil

import matplotlib
import pytest

matplotlib.use("Agg")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--runslow") or os.environ.get("NEUROSIM_SLOW") == "1"
    have_cxx = shutil.which("g++") is not None or shutil.which("c++") is not None
    have_brian2 = False
    if any("brian2" in item.keywords for item in items):
        try:
            import brian2

            have_brian2 = True
            # Runtime-mode tests use numpy code generation: a cold Cython cache (a fresh CI
            # machine) would spend minutes compiling. NEUROSIM_BRIAN_TARGET=cython tests that
            # path instead; standalone tests (marked slow) compile C++ either way.
            brian2.prefs.codegen.target = os.environ.get("NEUROSIM_BRIAN_TARGET", "numpy")
        except Exception:
            pass
    skip_slow = pytest.mark.skip(reason="slow: use --runslow or NEUROSIM_SLOW=1")
    skip_brian2 = pytest.mark.skip(reason="brian2: needs Brian2 and a C++ compiler")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "brian2" in item.keywords and not (have_cxx and have_brian2):
            item.add_marker(skip_brian2)

