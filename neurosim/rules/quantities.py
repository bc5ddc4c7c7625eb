"""Brian2 quantities for the spiking rules and networks: checks with units, and helper functions.

Every check takes the argument's name and value and raises :class:`ValueError` in the
format of :mod:`neurosim.validate` (``tau_plus: must be a Brian2 quantity in second
(e.g. 20*ms), got unitless 0.02``). Brian2 is imported on first use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurosim import validate as V

__all__ = ["brian", "check_number", "check_quantity", "check_time", "check_weight", "dim", "finite_or_zero",
           "show", "unit_string"]


def brian() -> Any:
    """The ``brian2`` module (imported on first use)."""
    global _DIMLESS
    import brian2
    from brian2.units.fundamentalunits import DIMENSIONLESS

    _DIMLESS = DIMENSIONLESS
    return brian2


_DIMLESS: Any = None


def show(value: Any) -> str:
    """A value as messages show it: a quantity with its unit, anything else as :func:`neurosim.validate.fmt`."""
    return str(value) if hasattr(value, "dim") else V.fmt(value)


def check_quantity(name: str, value: Any, unit: Any, *, positive: bool = True,
                   example: str = "") -> Any:
    """``value`` as a Brian2 Quantity of ``unit``'s dimension, > 0 unless ``positive=False``."""
    b2 = brian()
    want = b2.get_dimensions(unit)
    unit_name = unit_string(want)
    if isinstance(value, bool) or not isinstance(value, (b2.Quantity, int, float, np.number)):
        raise ValueError(f"{name}: must be a Brian2 quantity in {unit_name}{example}, got {show(value)}")
    got = b2.get_dimensions(value)
    if got is not want:
        if want is _DIMLESS:
            raise ValueError(f"{name}: must be dimensionless, got {show(value)}")
        shown = f"unitless {value!r}" if got is _DIMLESS else show(value)
        raise ValueError(f"{name}: must be a Brian2 quantity in {unit_name}{example}, got {shown}")
    arr = np.asarray(value)
    if arr.shape != ():
        raise ValueError(f"{name}: must be a scalar, got shape {arr.shape}")
    x = float(arr)
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {show(value)}")
    if positive and x <= 0:
        raise ValueError(f"{name}: must be > 0, got {show(value)}")
    if not positive and x < 0:
        raise ValueError(f"{name}: must be >= 0, got {show(value)}")
    return b2.Quantity(x, dim=want) if want is not _DIMLESS else x


def check_time(name: str, value: Any) -> Any:
    """A positive Brian2 time (a time constant or an interval)."""
    b2 = brian()
    return check_quantity(name, value, b2.second, example=" (e.g. 20*ms)")


def check_number(name: str, value: Any, *, gt: float | None = None, ge: float | None = None,
                 lt: float | None = None, le: float | None = None) -> float:
    """A plain finite number (a dimensionless Brian2 quantity is accepted) within bounds."""
    b2 = brian()
    if isinstance(value, bool) or not isinstance(value, (b2.Quantity, int, float, np.number)):
        raise ValueError(f"{name}: must be a plain number, got {show(value)}")
    if b2.get_dimensions(value) is not _DIMLESS:
        raise ValueError(f"{name}: must be dimensionless (a plain number), got {show(value)}")
    return V.real(name, float(np.asarray(value)), gt=gt, ge=ge, lt=lt, le=le)


def check_weight(name: str, value: Any, *, positive: bool = True) -> Any:
    """A weight-like scalar: a plain float (dimensionless weights) or a Brian2 Quantity, > 0."""
    b2 = brian()
    if isinstance(value, bool) or not isinstance(value, (b2.Quantity, int, float, np.number)):
        raise ValueError(f"{name}: must be a number or Brian2 quantity in the weights' unit, got {show(value)}")
    return check_quantity(name, value, b2.get_dimensions(value), positive=positive)


def unit_string(dimension: Any) -> str:
    """Equation-string unit of a Brian2 dimension: ``"1"`` if dimensionless, else the SI unit."""
    b2 = brian()
    from brian2.units.fundamentalunits import get_unit

    dimension = b2.get_dimensions(dimension)
    if dimension is _DIMLESS:
        return "1"
    return repr(get_unit(dimension))


def dim(value: Any) -> Any:
    """Brian2 dimension of ``value``."""
    return brian().get_dimensions(value)


_FINITE: Any = None


def finite_or_zero() -> Any:
    """A Brian2 function ``finite_or_zero(x)``: ``x`` if finite, else 0 (numpy, Cython and C++).

    Brian2 has no ``isfinite``; the gridded rule uses this so that a non-finite
    eligibility moves no synapse (as the torch optimizers skip non-finite gradients)
    and no NaN ever reaches the ``int()`` of the level update. Brian2 compiles with
    ``-fno-finite-math-only``, so the checks survive optimisation.
    """
    global _FINITE
    if _FINITE is None:
        b2 = brian()

        @b2.implementation("cpp", """
        inline double finite_or_zero(double x) { return std::isfinite(x) ? x : 0.0; }
        """)
        @b2.implementation("cython", """
        cdef double finite_or_zero(double x):
            return 0.0 if (x != x or isinf(x)) else x
        """)
        @b2.check_units(x=1, result=1)
        def finite_or_zero(x):
            x = np.asarray(x, dtype=np.float64)
            return np.where(np.isfinite(x), x, 0.0)

        _FINITE = finite_or_zero
    return _FINITE
