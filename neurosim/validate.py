"""Argument checks shared by every part of neurosim, with one message format.

Every check takes the argument's ``name`` and its ``value``, returns the value
(converted: an ``int`` for an integer, a ``float`` for a real number) and raises
:class:`ValueError` with one line::

    lr: must be > 0, got -1
    rounding: must be one of stochastic, nearest, got "up"; did you mean "nearest"?
    dale: must be true or false, got 1

Strings are shown as in TOML (double quotes), since most values reach neurosim
from a config file. The config layer passes dotted keys as names
(``rule.lr``); the classes pass their argument names.

:func:`real`, :func:`integer` and the others check one value; :func:`bounded`,
:func:`integral`, :func:`one_of` and :func:`flag` build checkers ``(name, value) ->
value`` for tables of parameters (the models' and rules' ``PARAMS``, the config
schema).
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Checker = Callable[[str, Any], Any]

__all__ = [
    "Checker",
    "Param",
    "apply",
    "signature_defaults",
    "boolean",
    "bounded",
    "choice",
    "flag",
    "fmt",
    "integer",
    "integral",
    "int_list",
    "one_of",
    "optional",
    "optional_boolean",
    "real",
    "reals",
    "string",
]


def fmt(value: Any) -> str:
    """A value as shown in messages: strings in double quotes (TOML), everything else as ``repr``."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(fmt(v) for v in value)
        return f"[{inner}]"
    return repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bounds(name: str, value: float | int, gt: Any, ge: Any, lt: Any, le: Any) -> None:
    for bound, word, ok in ((gt, ">", lambda b: value > b), (ge, ">=", lambda b: value >= b),
                            (lt, "<", lambda b: value < b), (le, "<=", lambda b: value <= b)):
        if bound is not None and not ok(bound):
            shown = f"{bound}" if isinstance(bound, int) else f"{bound:g}"
            raise ValueError(f"{name}: must be {word} {shown}, got {value!r}")


def real(name: str, value: Any, *, gt: float | None = None, ge: float | None = None,
         lt: float | None = None, le: float | None = None) -> float:
    """A finite real number within the bounds, as ``float``."""
    if not _is_number(value):
        raise ValueError(f"{name}: must be a number, got {fmt(value)}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    _bounds(name, value, gt, ge, lt, le)
    return float(value)


def integer(name: str, value: Any, *, gt: int | None = None, ge: int | None = None,
            le: int | None = None, integral_floats: bool = False) -> int:
    """An integer within the bounds, as ``int``.

    ``integral_floats=True`` also accepts floats with no fractional part (TOML's
    ``3.0``); the config layer asks for it.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float)):
        raise ValueError(f"{name}: must be an integer, got {fmt(value)}")
    if isinstance(value, float):
        if not (integral_floats and math.isfinite(value) and value.is_integer()):
            raise ValueError(f"{name}: must be an integer, got {value!r}")
        value = int(value)
    value = int(value)
    _bounds(name, value, gt, ge, None, le)
    return value


def choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """One of ``allowed``; the message suggests the closest allowed string."""
    allowed = tuple(allowed)
    if value in allowed and not isinstance(value, bool):
        return value
    hint = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
    did = f"; did you mean {fmt(hint[0])}?" if hint else ""
    shown = ", ".join(str(a) for a in allowed)
    raise ValueError(f"{name}: must be one of {shown}, got {fmt(value)}{did}")


def boolean(name: str, value: Any) -> bool:
    """``True`` or ``False`` (not 0 or 1)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}: must be true or false, got {fmt(value)}")
    return value


def optional_boolean(name: str, value: Any) -> bool | None:
    """``True``, ``False`` or ``None``."""
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{name}: must be true, false or None, got {fmt(value)}")
    return value


def string(name: str, value: Any) -> str:
    """A string."""
    if not isinstance(value, str):
        raise ValueError(f"{name}: must be a string, got {fmt(value)}")
    return value


def reals(name: str, values: Any, *, ge: float | None = None, le: float | None = None) -> tuple[float, ...]:
    """A non-empty sequence of finite real numbers within the bounds, as a tuple of floats."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, Iterable)):
        raise ValueError(f"{name}: must be a sequence of numbers, got {fmt(values)}")
    out = tuple(values)
    if not out:
        raise ValueError(f"{name}: must not be empty")
    return tuple(real(f"{name}[{i}]", v, ge=ge, le=le) for i, v in enumerate(out))


def int_list(name: str, value: Any, *, gt: int = 0) -> list[int]:
    """A non-empty list (or tuple) of integers ``> gt``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name}: must be a non-empty list of positive integers, got {fmt(value)}")
    return [integer(f"{name}[{i}]", v, gt=gt, integral_floats=True) for i, v in enumerate(value)]


# ------------------------------------------------------------------ checker factories
def bounded(*, gt: float | None = None, ge: float | None = None, lt: float | None = None,
            le: float | None = None) -> Checker:
    """A checker of a real number within the bounds."""
    def check(name: str, value: Any) -> float:
        return real(name, value, gt=gt, ge=ge, lt=lt, le=le)

    check.bounds = {"gt": gt, "ge": ge, "lt": lt, "le": le}  # type: ignore[attr-defined]
    return check


def integral(*, gt: int | None = None, ge: int | None = None, le: int | None = None) -> Checker:
    """A checker of an integer within the bounds (integral floats accepted, as TOML writes them)."""
    def check(name: str, value: Any) -> int:
        return integer(name, value, gt=gt, ge=ge, le=le, integral_floats=True)

    check.bounds = {"gt": gt, "ge": ge, "le": le}  # type: ignore[attr-defined]
    return check


def one_of(*allowed: Any) -> Checker:
    """A checker of one of ``allowed``."""
    def check(name: str, value: Any) -> Any:
        return choice(name, value, allowed)

    check.allowed = allowed  # type: ignore[attr-defined]
    return check


def flag(name: str, value: Any) -> bool:
    """Checker form of :func:`boolean`."""
    return boolean(name, value)


def optional(check: Checker) -> Checker:
    """``check``, or ``None`` (also the string ``"none"``, as a config may write it)."""
    def wrapped(name: str, value: Any) -> Any:
        if value is None or value == "none":
            return None
        return check(name, value)

    return wrapped


# ------------------------------------------------------------------ parameter tables
class Param:
    """One keyword argument of a builder (a model, a rule, a task): its checker and what it means.

    A builder keeps its defaults in its signature and its checks in a ``PARAMS``
    table of these; the config schema reads both, so a config and the class it
    builds can never disagree on a default or a bound.
    """

    __slots__ = ("check", "doc")

    def __init__(self, check: Checker, doc: str = "") -> None:
        self.check = check
        self.doc = doc

    def __repr__(self) -> str:
        return f"Param({getattr(self.check, '__name__', self.check)!r}, {self.doc!r})"


def signature_defaults(builder: Callable[..., Any]) -> dict[str, Any]:
    """``{argument: default}`` of the arguments of ``builder`` that have one."""
    import inspect

    target = builder.__init__ if isinstance(builder, type) else builder  # type: ignore[misc]
    params = inspect.signature(target).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def apply(params: dict[str, Param], values: dict[str, Any]) -> dict[str, Any]:
    """Check every value that has an entry in ``params``; return the checked (converted) values."""
    return {k: (params[k].check(k, v) if k in params else v) for k, v in values.items()}
