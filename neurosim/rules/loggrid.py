"""LogGridMadam: Madam whose synapse sizes live on a logarithmic grid of levels.

Each synapse stores only an integer *level* ``k`` on a :class:`~neurosim.lns.LogGrid`
(``size = w_max * exp((k - (L-1)) * step)``) and its sign. One optimizer step
computes Madam's normalised gradient ``gn`` (Bernstein et al. 2020, Algorithm 1)
and moves the level by ``-lr * gn * sign(w) / step`` levels, rounded::

    k <- clip(floor(k - lr * gn * sign(w) / step + u), 0, L - 1),   w <- sign(w) * size(k)

with ``u = 0.5`` (nearest rounding, ``floor(x + 0.5)``) or ``u ~ U[0, 1)``
(stochastic rounding: up with probability equal to the fractional part, so the
expected log-size change equals Madam's ``-lr * gn * sign(w)`` inside the grid).

This generalises the B-bit Madam of Bernstein et al. (2020, Table 2), whose
level moves by ``round(lr_factor * gn) * sign(w)`` on a grid of ``2**B`` levels of
log step ``base`` (e.g. 12 bits, step 0.001, ``lr_factor = lr / step = 10``),
levels started uniformly at random. ``LogGridMadam(levels=4096, step=0.001,
rounding="nearest", init="uniform")`` is that optimizer (neurosim counts levels
from the smallest size: its level is ``2**B - 1 - n``).

It is **not** the LNS-Madam of Zhao et al. (2022), "LNS-Madam: Low-precision
training in logarithmic number system using multiplicative weight update", which
uses a base-2 format with fractional sub-levels and also quantises activations
and gradients; here only the stored synapse sizes are quantised, any level count
and range are allowed, and rounding may be stochastic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch.optim import Optimizer

from neurosim import validate as V
from neurosim.lns import LogGrid
from neurosim.rules import _common as C
from neurosim.rules.spec import GridMadamSpec, GridSpec, MadamSpec, bias_correction

__all__ = ["LogGridMadam"]

#: starts of the level codes: from the weights (encode) or random levels (uniform, the authors')
INITS = ("encode", "uniform")
class LogGridMadam(Optimizer):
    """Madam with sizes stored as integer levels on a per-tensor log grid.

    Parameters
    ----------
    params:
        Parameters or parameter groups. Synapse parameters may be sizes (>= 0, the
        parameter of a Dale layer) or signed weights (the sign of each entry is
        kept; an entry exactly 0 is given sign +1, since a log grid has no zero).
    lr:
        Madam step in natural-log size per unit normalised gradient (> 0).
    levels:
        Number of levels ``L`` (>= 2). 26 is Bartol et al.'s (2015) estimate.
    ratio:
        Dynamic range ``w_max / w_min`` of the grid (> 1).
    step:
        Log step of one level; if given it fixes the spacing and replaces
        ``ratio`` (``ratio = exp(step * (L - 1))``).
    rounding:
        ``"stochastic"`` (default) or ``"nearest"``.
    init:
        ``"encode"``: start from the initial weights, encoded to the nearest level;
        ``"uniform"``: start every level uniformly at random (as Bernstein et al.).
    beta, g_bound, p_scale:
        As for :class:`~neurosim.rules.Madam`; ``w_max = p_scale * rms(w at start)``
        per tensor is the grid's top level.
    rule:
        ``"loggrid"`` (default) or ``"additive"`` for biases and other
        non-synapse parameters (``w <- w - lr * gn``, not gridded).
    generator:
        A ``torch.Generator`` for the uniform initial levels and the per-parameter
        rounding seeds (default: torch's global generator).
    foreach, fused:
        Implementation choice, as for :class:`~neurosim.rules.Madam`.

    Notes
    -----
    State is initialised when a parameter group is added (the parameters are
    snapped onto their grids at once, so the network is gridded from the start).
    Per parameter it holds ``level`` (``uint8`` up to 256 levels, else ``int16``),
    the second moment ``exp_avg_sq``, ``step``, ``w_max`` and an integer ``seed``;
    there is no hidden full-precision copy of the weight. The rounding noise of
    step ``t`` is a counter-based hash of ``(seed, t, index)``, so a run resumed
    from :meth:`state_dict` continues bit-identically.

    A non-finite gradient entry (NaN, +-inf) counts as 0 (the paper's 0/0 -> 0): its
    synapse stays on its level and the second moment, which saturates at the
    dtype's largest finite value, stays finite. Every weight is on its grid after
    every step, whatever the gradient. ``state["nonfinite"]`` counts the skipped
    entries (:meth:`nonfinite_count` sums them).

    Examples
    --------
    >>> layer = torch.nn.Linear(64, 10)
    >>> opt = LogGridMadam([{"params": [layer.weight]},
    ...                     {"params": [layer.bias], "rule": "additive"}], levels=26)
    >>> layer(torch.randn(8, 64)).pow(2).mean().backward()
    >>> opt.step()
    >>> int(opt.state[layer.weight]["level"].max()) <= 25
    True
    """

    _rules = ("loggrid", C.ADDITIVE)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = MadamSpec.lr,
        levels: int = GridSpec.levels,
        ratio: float = GridSpec.ratio,
        step: float | None = None,
        rounding: str = GridSpec.rounding,
        init: str = "encode",
        beta: float = MadamSpec.beta,
        g_bound: float = MadamSpec.g_bound,
        p_scale: float = 3.0,
        *,
        rule: str = "loggrid",
        generator: torch.Generator | None = None,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        self._generator = generator
        self._tables: dict[tuple[Any, ...], torch.Tensor] = {}
        defaults = dict(lr=lr, levels=levels, ratio=ratio, step=step, rounding=rounding,
                        init=init, beta=beta, g_bound=g_bound, p_scale=p_scale, rule=rule,
                        foreach=foreach, fused=fused)
        self._validate(defaults)
        super().__init__(params, defaults)

    # ------------------------------------------------------------ validation
    def _validate(self, group: dict[str, Any]) -> None:
        C.madam_hyper(group)
        self._spec(group)  # checks levels, ratio, step and rounding
        V.choice("init", group["init"], INITS)
        V.choice("rule", group["rule"], self._rules)

    @staticmethod
    def _spec(group: dict[str, Any]) -> GridMadamSpec:
        """The group's rule as data (:mod:`neurosim.rules.spec`): what every path below renders."""
        return GridMadamSpec.of(lr=group["lr"], beta=group["beta"], g_bound=group["g_bound"],
                                levels=group["levels"], ratio=group["ratio"], step=group["step"],
                                rounding=group["rounding"])

    @staticmethod
    def _grid(group: dict[str, Any]) -> GridSpec:
        """The group's grid alone (it does not depend on the lr, which a scheduler may take to 0)."""
        return GridSpec.of(levels=group["levels"], ratio=group["ratio"], step=group["step"],
                           rounding=group["rounding"])

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self._validate({**self.defaults, **param_group})
        super().add_param_group(param_group)
        gi = len(self.param_groups) - 1
        group = self.param_groups[gi]
        with torch.no_grad():
            for pi, p in enumerate(group["params"]):
                self._init_state(p, group, gi, pi)

    def _init_state(self, p: torch.Tensor, group: dict[str, Any], gi: int, pi: int) -> None:
        state = self.state[p]
        state["step"] = torch.tensor(0.0)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["nonfinite"] = C.counter(p.device)
        if group["rule"] == C.ADDITIVE:
            return
        if not p.is_floating_point():
            raise ValueError(f"LogGridMadam: {C.where(gi, pi)} must be floating point")
        rms = float(p.detach().double().pow(2).mean().sqrt()) if p.numel() else 0.0
        if not (rms > 0.0 and math.isfinite(rms)):
            raise ValueError(
                f"LogGridMadam: {C.where(gi, pi)} has rms {rms}; a log grid needs "
                "w_max = p_scale * rms(w) > 0 (put it in a group with rule='additive'; "
                "neurosim.rules.param_groups(model) does this for every bias and scalar)"
            )
        spec = self._grid(group)
        grid = spec.grid(group["p_scale"] * rms)
        tiny = torch.finfo(p.dtype).tiny
        if not (grid.w_min >= tiny and grid.w_max <= torch.finfo(p.dtype).max):
            raise ValueError(
                f"ratio: the grid of {C.where(gi, pi)} spans {grid.w_min:.3g} .. {grid.w_max:.3g}, beyond "
                f"what {p.dtype} holds (its smallest normal number is {tiny:.3g}); use a smaller ratio or step"
            )
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self._generator))
        if group["init"] == "encode":
            level = grid.encode(p.detach().abs().double().cpu().numpy(), rounding="nearest")
            level = torch.from_numpy(np.asarray(level)).reshape(p.shape).to(p.device)  # 0-d too
        else:
            level = torch.randint(0, spec.levels, p.shape, generator=self._generator).to(p.device)
        sign = torch.where(p >= 0, 1.0, -1.0).to(p.dtype)
        state["level"] = level.to(_level_dtype(spec))
        state["w_max"] = grid.w_max
        state["seed"] = seed
        p.copy_(sign * self._table(group, state, p)[level.long()])

    def _table(self, group: dict[str, Any], state: dict[str, Any], p: torch.Tensor) -> torch.Tensor:
        spec = self._grid(group)
        key = (spec.levels, spec.ratio, state["w_max"], p.dtype, p.device)
        table = self._tables.get(key)
        if table is None:
            sizes = spec.grid(state["w_max"]).sizes()
            table = torch.as_tensor(sizes).to(device=p.device, dtype=p.dtype)
            self._tables[key] = table
        return table

    def grid_of(self, p: torch.Tensor) -> tuple[np.ndarray, LogGrid] | None:
        """``(level, grid)`` of a gridded parameter (for snapshots), else ``None``."""
        state = self.state.get(p)
        if not state or "level" not in state:
            return None
        for group in self.param_groups:
            if any(q is p for q in group["params"]):
                return state["level"].cpu().numpy(), self._grid(group).grid(state["w_max"])
        return None

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``Optimizer.load_state_dict``, keeping levels and counters integer (torch casts them)."""
        C.load_state_dict_exact(self, state_dict)
        self._tables.clear()
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p, {})
                state.setdefault("nonfinite", C.counter(p.device))
                if "level" in state:
                    state["level"] = state["level"].to(_level_dtype(self._grid(group)))

    def nonfinite_count(self) -> int:
        """Non-finite gradient entries skipped so far, over every parameter."""
        return C.nonfinite_count(self)

    # ------------------------------------------------------------------ step
    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Perform one optimisation step (optionally re-evaluating ``closure``)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError("LogGridMadam does not support sparse gradients")
            if not params:
                continue
            grads = [p.grad for p in params]
            states = [self.state[p] for p in params]
            if group["rule"] == C.ADDITIVE:
                from neurosim.rules.madam import madam

                madam(params, grads, [s["exp_avg_sq"] for s in states],
                      [s["step"] for s in states], [math.inf] * len(params), additive=True,
                      foreach=group["foreach"], fused=group["fused"],
                      nonfinite=[s["nonfinite"] for s in states], lr=group["lr"], beta=group["beta"],
                      g_bound=group["g_bound"])
                continue
            if group["lr"] == 0.0:  # a scheduler's lr 0 (the constructor refuses it): nothing moves
                continue
            tables = [self._table(group, s, p) for s, p in zip(states, params, strict=True)]
            spec = self._spec(group)
            if C.use_fused(params, grads, group["fused"]):
                _fused_loggrid(params, grads, states, tables, spec)
            else:
                _eager_loggrid(params, grads, states, tables, spec,
                               foreach=C.use_foreach(params, group["foreach"]))
        return loss


def _level_dtype(spec: Any) -> torch.dtype:
    return C.torch_level_dtype(spec.levels)


def _eager_loggrid(params, grads, states, tables, spec: GridMadamSpec, *, foreach: bool) -> None:
    beta, g_bound = spec.madam.beta, spec.madam.g_bound
    coef, top, stochastic = spec.coef, spec.grid.top, spec.grid.stochastic
    steps = [s["step"] for s in states]
    vs = [s["exp_avg_sq"] for s in states]
    skipped = [s["nonfinite"] for s in states]
    if foreach:
        torch._foreach_add_(steps, 1)
        bcs = [bias_correction(beta, t.item()) for t in steps]
        gns = C.normalised_foreach(grads, vs, beta, bcs, g_bound, skipped)
    else:
        gns = []
        for g, v, t, sk in zip(grads, vs, steps, skipped, strict=True):
            t += 1
            gns.append(C.normalised_single(g, v, beta, bias_correction(beta, t.item()), g_bound, sk))
    for p, gn, state, table in zip(params, gns, states, tables, strict=True):
        sign = torch.where(p >= 0, 1.0, -1.0).to(p.dtype)
        x = state["level"].to(p.dtype).add_(gn.mul_(sign), alpha=coef)
        if stochastic:
            key = C.step_key(state["seed"], int(state["step"].item()))
            x.add_(C.hash_uniform(p.numel(), key, p.dtype, p.device).view_as(p))
        else:
            x.add_(spec.grid.offset)
        k = x.floor_().nan_to_num_(nan=0.0).clamp_(0, top).long()  # never an unchecked index
        state["level"].copy_(k)
        p.copy_(sign * table[k])


def _fused_loggrid(params, grads, states, tables, spec: GridMadamSpec) -> None:
    from neurosim.rules import _fused

    beta, g_bound = spec.madam.beta, spec.madam.g_bound
    coef, top, stochastic, offset = spec.coef, spec.grid.top, spec.grid.stochastic, spec.grid.offset
    lib = _fused.library()
    for p, g, state, table in zip(params, grads, states, tables, strict=True):
        state["step"] += 1
        t = int(state["step"].item())
        bc = bias_correction(beta, t)
        key = C.step_key(state["seed"], t) if stochastic else 0
        level = state["level"]
        C.check_fused_state(p, state["exp_avg_sq"], level=level, table=table, top=top)
        fn = lib.loggrid_f32_u8 if level.dtype == torch.uint8 else lib.loggrid_f32_i16
        g = g.contiguous()
        ptrs = (p.data_ptr(), g.data_ptr(), state["exp_avg_sq"].data_ptr(), level.data_ptr(),
                table.data_ptr())

        def call(start: int, end: int, ptrs=ptrs, bc=bc, key=key, fn=fn) -> int:
            return fn(*ptrs, start, end, top, beta, 1.0 - beta, bc, coef, g_bound, int(stochastic), offset,
                      key)

        n_bad = _fused.run_chunked(call, p.numel())
        if n_bad:
            state["nonfinite"] += n_bad
