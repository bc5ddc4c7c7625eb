"""Additive baselines under the same Dale constraint, so that multiplicative and
additive rules are compared like with like.

* :class:`DaleSGD`, :class:`DaleAdam`: torch's SGD / Adam update on the *sizes* of
  Dale layers, then sizes below zero are clipped to zero: the synapse falls silent
  and its sign stays in the layer's sign buffer (Cornford et al. 2021, ICLR,
  "Learning to live with Dale's principle": projection onto non-negative weights).
* :class:`QuantizedSGD`: additive steps on a grid of sizes, stochastic rounding by
  default: a uniform grid over ``[0, w_max]`` with the same number of levels as the
  log grid (zero included), or (``grid="log"``) the very log grid of
  :class:`~neurosim.rules.LogGridMadam`, so that the update (additive or
  multiplicative) and the grid (uniform or log) can be varied one at a time.

In every optimizer a parameter group with ``rule="additive"`` is left
unconstrained (biases, time constants): plain SGD / Adam, no clipping, no grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch.optim import SGD, Adam, Optimizer

from neurosim import validate as V
from neurosim.lns import MAX_LEVELS, NEAREST_OFFSET, ROUNDINGS, LogGrid
from neurosim.rules import _common as C
from neurosim.rules.spec import GridSpec

__all__ = ["DaleAdam", "DaleSGD", "QuantizedSGD"]


class _ClipToSizes:
    """Mixin: after the parent's step, clip sizes of ``rule="dale"`` groups at 0."""

    _rules = ("dale", C.ADDITIVE)

    def _add_rule_default(self, rule: str) -> None:
        V.choice("rule", rule, self._rules)
        self.defaults["rule"] = rule
        for group in self.param_groups:
            group.setdefault("rule", rule)
            V.choice("rule", group["rule"], self._rules)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if "rule" in param_group:
            V.choice("rule", param_group["rule"], self._rules)
        super().add_param_group(param_group)  # type: ignore[misc]

    def size_bounds(self, p: torch.Tensor) -> tuple[float, float] | None:
        """``(0, inf)`` for the sizes of a ``"dale"`` group (clipped at 0: silent), else ``None``."""
        for group in self.param_groups:  # type: ignore[attr-defined]
            if any(q is p for q in group["params"]):
                return (0.0, float("inf")) if group.get("rule", "dale") == "dale" else None
        return None

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = super().step(closure)  # type: ignore[misc]
        for group in self.param_groups:  # type: ignore[attr-defined]
            if group.get("rule", "dale") == "dale":
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    torch._foreach_clamp_min_(params, 0.0)
        return loss


class DaleSGD(_ClipToSizes, SGD):
    """``torch.optim.SGD`` on Dale-layer sizes, then ``size <- max(size, 0)``.

    Takes every argument of :class:`torch.optim.SGD` plus ``rule``: ``"dale"``
    (default; the parameters are sizes, clipped at 0) or ``"additive"`` (plain SGD,
    for biases). Passing signed weights in a ``"dale"`` group would clip their
    negative entries: give Dale layers' sizes, or use ``rule="additive"``. The default
    ``lr = 0.1`` (not torch's 1e-3) suits the sizes of neurosim's networks; the config
    and the plain-SGD baseline take it from here.
    """

    def __init__(self, params: Iterable[Any], lr: float = 0.1, *args: Any, rule: str = "dale",
                 **kwargs: Any) -> None:
        V.real("lr", lr, gt=0.0)
        super().__init__(params, lr, *args, **kwargs)
        self._add_rule_default(rule)


class DaleAdam(_ClipToSizes, Adam):
    """``torch.optim.Adam`` on Dale-layer sizes, then ``size <- max(size, 0)``.

    Takes every argument of :class:`torch.optim.Adam` plus ``rule`` (see
    :class:`DaleSGD`).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, *args: Any, rule: str = "dale",
                 **kwargs: Any) -> None:
        V.real("lr", lr, gt=0.0)
        super().__init__(params, lr, *args, **kwargs)
        self._add_rule_default(rule)


class QuantizedSGD(Optimizer):
    """Additive SGD on a grid of ``levels`` sizes: uniform over ``[0, w_max]``, or log.

    Each synapse stores an integer level ``k``. On the uniform grid (default)
    ``size = k * w_max / (levels - 1)`` (level 0 is a silent synapse) and a step moves the
    level by ``-lr * g / delta`` (``delta = w_max / (levels - 1)``), rounded stochastically
    (``floor(x + u)``, ``u ~ U[0, 1)``) or to nearest, and clipped to the grid. On the log
    grid (``grid="log"``: :class:`neurosim.lns.LogGrid` of ``levels`` sizes over ``ratio``,
    LogGridMadam's grid) the step is the same additive one, ``size - lr * g``, and the new
    size is rounded to one of its two neighbouring grid sizes, the upper with probability
    ``(s - s_lo) / (s_hi - s_lo)`` (stochastic: unbiased in size) or the nearer in size;
    sizes beyond the ends are clipped to them (a log grid has no size 0). A non-finite
    gradient entry counts as 0 (counted in ``state["nonfinite"]``), so every size stays on
    the grid. ``w_max = p_scale * rms(size at start)`` per tensor, as for
    :class:`~neurosim.rules.LogGridMadam`.

    Parameters
    ----------
    params:
        Sizes of Dale layers (>= 0) and, in groups with ``rule="additive"``,
        unconstrained parameters (plain SGD, not gridded).
    lr:
        Learning rate (> 0), in size units per unit gradient.
    levels:
        Number of grid levels (>= 2; the uniform grid's include zero).
    p_scale:
        ``w_max`` in units of the initial rms size (> 0).
    rounding:
        ``"stochastic"`` (default) or ``"nearest"``.
    grid:
        ``"uniform"`` (default) or ``"log"``.
    ratio:
        The log grid's largest / smallest size (> 1; default 60, Bartol et al. 2015).
    generator:
        ``torch.Generator`` for the rounding seeds.
    """

    _rules = ("quantized", C.ADDITIVE)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        levels: int = GridSpec.levels,
        p_scale: float = 3.0,
        rounding: str = GridSpec.rounding,
        grid: str = "uniform",
        ratio: float = GridSpec.ratio,
        *,
        rule: str = "quantized",
        generator: torch.Generator | None = None,
    ) -> None:
        self._generator = generator
        defaults = dict(lr=lr, levels=levels, p_scale=p_scale, rounding=rounding, grid=grid, ratio=ratio, rule=rule)
        self._validate(defaults)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        V.real("lr", group["lr"], gt=0.0)
        V.integer("levels", group["levels"], ge=2, le=MAX_LEVELS)
        V.real("p_scale", group["p_scale"], gt=0.0)
        V.choice("rounding", group["rounding"], ROUNDINGS)
        V.choice("grid", group["grid"], GRIDS)
        V.real("ratio", group["ratio"], gt=1.0, le=1e30)
        V.choice("rule", group["rule"], self._rules)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self._validate({**self.defaults, **param_group})
        super().add_param_group(param_group)
        gi = len(self.param_groups) - 1
        group = self.param_groups[gi]
        if group["rule"] == C.ADDITIVE:
            return
        with torch.no_grad():
            for pi, p in enumerate(group["params"]):
                if (p < 0).any():
                    raise ValueError(
                        f"QuantizedSGD: {C.where(gi, pi)} has negative entries; it quantises "
                        "sizes (>= 0) of Dale layers (use rule='additive' for signed parameters)"
                    )
                rms = float(p.double().pow(2).mean().sqrt()) if p.numel() else 0.0
                if not rms > 0.0:
                    raise ValueError(f"QuantizedSGD: {C.where(gi, pi)} is all zero; w_max needs rms > 0")
                state = self.state[p]
                state["w_max"] = group["p_scale"] * rms
                state["step"] = torch.tensor(0.0)
                state["nonfinite"] = C.counter(p.device)
                state["seed"] = int(torch.randint(0, 2**31 - 1, (1,), generator=self._generator))
                if group["grid"] == "log":
                    lg = self._log_grid(group, state)
                    k = torch.from_numpy(np.asarray(lg.encode(p.detach().double().cpu().numpy()), dtype=np.int64))
                    k = k.reshape(p.shape)  # 0-d parameters too
                    state["level"] = k.to(device=p.device, dtype=C.torch_level_dtype(group["levels"]))
                    p.copy_(torch.as_tensor(np.asarray(lg.decode(k.numpy()))).reshape(p.shape).to(p))
                    continue
                delta = state["w_max"] / (group["levels"] - 1)
                k = torch.floor(p.double() / delta + NEAREST_OFFSET).clamp_(0, group["levels"] - 1)
                state["level"] = k.to(C.torch_level_dtype(group["levels"]))
                p.copy_(k * delta)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``Optimizer.load_state_dict``, keeping levels and counters integer (torch casts them)."""
        C.load_state_dict_exact(self, state_dict)
        for group in self.param_groups:  # checkpoints from before the log grid existed
            group.setdefault("grid", "uniform")
            group.setdefault("ratio", GridSpec.ratio)
        for p, state in self.state.items():
            state.setdefault("nonfinite", C.counter(p.device))
            if "level" in state:
                group = self._group_of(p)
                state["level"] = state["level"].to(C.torch_level_dtype(group["levels"] if group else MAX_LEVELS))

    def nonfinite_count(self) -> int:
        """Non-finite gradient entries skipped so far (gridded groups), over every parameter."""
        return C.nonfinite_count(self)

    @staticmethod
    def _log_grid(group: dict[str, Any], state: dict[str, Any]) -> LogGrid:
        return LogGrid(group["levels"], group["ratio"], float(state["w_max"]))

    def _group_of(self, p: torch.Tensor) -> dict[str, Any] | None:
        return next((g for g in self.param_groups if any(q is p for q in g["params"])), None)

    def grid_of(self, p: torch.Tensor) -> tuple[Any, LogGrid] | None:
        """``(level, grid)`` on the log grid (for snapshots); a uniform grid is not a log grid: ``None``."""
        state, group = self.state.get(p), self._group_of(p)
        if not state or "level" not in state or group is None or group["grid"] != "log":
            return None
        return state["level"].cpu().numpy(), self._log_grid(group, state)

    def size_bounds(self, p: torch.Tensor) -> tuple[float, float] | None:
        """The two ends of the grid: ``(0, w_max)`` (uniform) or ``(w_max / ratio, w_max)`` (log)."""
        w_max, group = self.state.get(p, {}).get("w_max"), self._group_of(p)
        if w_max is None or group is None:
            return None
        return (float(w_max) / group["ratio"] if group["grid"] == "log" else 0.0, float(w_max))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Perform one optimisation step (optionally re-evaluating ``closure``)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if group["rule"] == C.ADDITIVE:
                    p.add_(p.grad, alpha=-group["lr"])
                    continue
                state = self.state[p]
                state["step"] += 1
                top = group["levels"] - 1
                g = C.sanitise(p.grad, state.setdefault("nonfinite", C.counter(p.device)))
                if group["rounding"] == "stochastic":
                    key = C.step_key(state["seed"], int(state["step"].item()))
                    u = C.hash_uniform(p.numel(), key, p.dtype, p.device).view_as(p)
                else:
                    u = None
                if group["grid"] == "log":
                    self._log_step(p, g, group, state, u)
                    continue
                delta = state["w_max"] / top
                x = state["level"].to(p.dtype).add_(g, alpha=-group["lr"] / delta)
                x.add_(u if u is not None else NEAREST_OFFSET)
                k = x.floor_().nan_to_num_(nan=0.0).clamp_(0, top)
                state["level"].copy_(k)
                p.copy_(k * delta)
        return loss


    @staticmethod
    def _log_step(p: torch.Tensor, g: torch.Tensor, group: dict[str, Any], state: dict[str, Any],
                  u: torch.Tensor | None) -> None:
        """``size - lr * g`` rounded to a neighbouring size of the log grid (see the class docstring)."""
        top = group["levels"] - 1
        step = math.log(group["ratio"]) / top
        w_max = float(state["w_max"])
        lvl = state["level"].to(torch.float64)
        s = torch.exp((lvl - top) * step) * w_max - group["lr"] * g.to(torch.float64)
        pos = torch.log(torch.clamp(s / w_max, min=1e-300, max=1.0)) / step + top
        lo = torch.floor(pos.clamp(0, top)).clamp_(0, top - 1)
        s_lo = torch.exp((lo - top) * step) * w_max
        p_up = ((s - s_lo) / (s_lo * math.expm1(step))).clamp_(0, 1)
        up = (u.to(torch.float64) < p_up) if u is not None else (p_up >= 0.5)
        k = (lo + up.to(torch.float64)).nan_to_num_(nan=0.0).clamp_(0, top)
        state["level"].copy_(k)
        p.copy_((torch.exp((k - top) * step) * w_max).to(p.dtype))


GRIDS = ("uniform", "log")


def param_groups(model: torch.nn.Module, **additive: Any) -> list[dict[str, Any]]:
    """Split a model's parameters into synapses and the rest, for any neurosim optimizer.

    Synapses are Dale-layer sizes (a parameter named ``size``) and weight matrices
    (two or more dimensions); everything else (biases, gains, time constants) goes
    into a second group with ``rule="additive"`` plus any ``additive`` overrides
    (e.g. ``lr=1e-3``), because a multiplicative rule cannot move a zero bias.

    >>> groups = param_groups(torch.nn.Linear(3, 2))
    >>> [len(g["params"]) for g in groups], groups[1]["rule"]
    ([1, 1], 'additive')
    """
    synapses, others = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        leaf = name.rsplit(".", 1)[-1]
        (synapses if leaf == "size" or p.dim() >= 2 else others).append(p)
    groups: list[dict[str, Any]] = [{"params": synapses}]
    if others:
        groups.append({"params": others, "rule": C.ADDITIVE, **additive})
    if not synapses:
        raise ValueError("model: has no synapse parameters (no 'size' and no weight matrix)")
    if any(not math.isfinite(float(v)) for k, v in additive.items() if isinstance(v, (int, float))):
        raise ValueError("additive: overrides must be finite numbers")
    return groups
