"""Test markers, shared fixtures and what a skip means under CI.

Markers
-------
``slow``
    Long tests: run only with ``--runslow`` or ``NEUROSIM_SLOW=1``.
``brian2``
    Needs Brian2 (a hard dependency). Runtime-mode tests use numpy code generation,
    which needs no compiler (``NEUROSIM_BRIAN_TARGET=cython`` tests that path).
``cxx``
    Needs a C++ compiler (Brian2 standalone or Cython builds).
``fused``
    Needs the fused C kernels of the optimizers (a C compiler).
``neurogym``, ``snntorch``
    Need the optional extra of that name (installed in CI).

Under CI (``CI=true`` in the environment) a test whose dependency is missing *fails*
instead of skipping, so that a broken build (no compiler, kernels that do not
compile, Brian2 that does not import) cannot pass quietly on the eager or numpy
fallbacks. Only ``slow`` and the CUDA tests still skip there.
"""

from __future__ import annotations

import functools
import os
import shutil

import matplotlib
import pytest

matplotlib.use("Agg")

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


@functools.cache
def _missing(marker: str) -> str | None:
    """Why a marker's dependency is unavailable here, or ``None``."""
    if marker == "brian2":
        try:
            import brian2

            # Runtime-mode tests use numpy code generation: a cold Cython cache (a fresh CI
            # machine) would spend minutes compiling.
            brian2.prefs.codegen.target = os.environ.get("NEUROSIM_BRIAN_TARGET", "numpy")
        except Exception as exc:  # pragma: no cover - brian2 is a dependency
            return f"brian2 does not import ({exc})"
        return None
    if marker == "cxx":
        ok = any(shutil.which(c) for c in ("g++", "c++", "clang++"))
        return None if ok else "no C++ compiler (g++, c++ or clang++)"
    if marker in ("neurogym", "snntorch"):
        try:
            __import__(marker)
        except ImportError:
            return f"{marker} is not installed (the optional extra: pip install -e \".[{marker}]\")"
        return None
    if marker == "fused":
        from neurosim.rules import _fused

        info = _fused.info()
        return None if info["fused"] else f"fused C kernels unavailable ({info['reason']})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--runslow") or os.environ.get("NEUROSIM_SLOW") == "1"
    skip_slow = pytest.mark.skip(reason="slow: use --runslow or NEUROSIM_SLOW=1")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("brian2", "cxx", "fused", "neurogym", "snntorch"):
        if marker in item.keywords:
            reason = _missing(marker)
            if reason:
                if CI:
                    pytest.fail(f"CI=true: {reason}; a skip here would hide a broken build")
                pytest.skip(reason)


# ------------------------------------------------------------------ shared configs
def mlp_toml(name: str = "run", *, epochs: int = 2, seed: int | None = None, snapshot_every: int | None = None,
             fit: bool | None = False, rule: str = "loggrid_madam") -> str:
    """The small digits MLP config the runner tests share (16 hidden units, LogGridMadam)."""
    lines = [f'name = "{name}"'] + ([f"seed = {seed}"] if seed is not None else [])
    lines += ["[network]", 'kind = "mlp"', "hidden = [16]", "[task]", 'name = "digits"', "[rule]",
              f'name = "{rule}"', "[train]", f"epochs = {epochs}"]
    lines += [f"snapshot_every = {snapshot_every}"] if snapshot_every is not None else []
    lines += ["[analysis]", f"fit = {'true' if fit else 'false'}"] if fit is not None else []
    return "\n" + "\n".join(lines) + "\n"

