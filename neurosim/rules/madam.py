"""Madam: the multiplicative Adam-like optimizer of Bernstein et al. (2020).

Bernstein, J., Zhao, J., Meister, M., Liu, M.-Y., Anandkumar, A., Yue, Y. (2020).
Learning compositional functions via multiplicative weight updates. NeurIPS 33.
Per parameter tensor, at step ``t`` with gradient ``g``::

    v  <- beta * v + (1 - beta) * g**2                 (v_0 = 0)
    gn <- clip(g / sqrt(v / (1 - beta**t)), -g_bound, g_bound)     (0/0 -> 0)
    w  <- w * exp(-lr * gn * sign(w))
    w  <- clip(w, -w_max, w_max),   w_max = p_scale * rms(w at the first step)

The sign of ``w`` never changes; ``|w|`` moves in log space by at most
``lr * g_bound`` per step. A non-finite gradient entry (NaN, +-inf) counts as 0, as
the paper's 0/0 does, and ``v`` saturates at the dtype's largest finite value, so
finite weights stay finite whatever the gradient; ``state["nonfinite"]`` counts the
entries skipped (:meth:`Madam.nonfinite_count` sums them). A tensor that is all zero cannot move: put biases in a
parameter group with ``rule="additive"``, which applies the same normalised step
additively (``w <- w - lr * gn``, no ``w_max``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from neurosim import validate as V
from neurosim.rules import _common as C
from neurosim.rules.spec import MadamSpec, bias_correction

__all__ = ["Madam", "madam"]


class Madam(Optimizer):
    """Multiplicative weight updates normalised by the gradient's running RMS.

    Parameters
    ----------
    params:
        Parameters or parameter groups, as for any ``torch.optim.Optimizer``.
    lr:
        Step in natural-log size per unit normalised gradient (> 0). The paper
        uses 0.01 for every task, untuned.
    beta:
        Decay of the gradient's second moment, in ``[0, 1)``.
    g_bound:
        Clip of the normalised gradient (> 0).
    p_scale:
        ``w_max = p_scale * rms(w)`` at the first step, per tensor (> 0).
    rule:
        ``"madam"`` (default) or ``"additive"`` for non-synapse parameters (biases,
        time constants): ``w <- w - lr * gn`` with the same normalised ``gn``.
    foreach, fused:
        Implementation: ``fused`` (single-pass C kernel; CPU float32 only) is used
        by default where it applies; otherwise ``foreach`` (multi-tensor, default
        on CUDA) or the single-tensor loop. All give the same update.

    Examples
    --------
    >>> model = torch.nn.Linear(4, 2)
    >>> opt = Madam([{"params": [model.weight]},
    ...              {"params": [model.bias], "rule": "additive"}], lr=0.01)
    >>> model(torch.randn(8, 4)).pow(2).mean().backward()
    >>> opt.step()
    """

    _rules = ("madam", C.ADDITIVE)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = MadamSpec.lr,
        beta: float = MadamSpec.beta,
        g_bound: float = MadamSpec.g_bound,
        p_scale: float = 3.0,
        *,
        rule: str = "madam",
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(lr=lr, beta=beta, g_bound=g_bound, p_scale=p_scale, rule=rule,
                        foreach=foreach, fused=fused)
        self._validate(defaults)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        C.madam_hyper(group)
        V.choice("rule", group["rule"], self._rules)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self._validate({**self.defaults, **param_group})
        super().add_param_group(param_group)

    def _init_state(self, p: torch.Tensor, group: dict[str, Any], gi: int, pi: int) -> None:
        state = self.state[p]
        state["step"] = torch.tensor(0.0)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["nonfinite"] = C.counter(p.device)
        rms = float(p.detach().double().pow(2).mean().sqrt()) if p.numel() else 0.0
        state["w_max"] = group["p_scale"] * rms
        if group["rule"] != C.ADDITIVE and rms == 0.0:
            warnings.warn(
                f"Madam: {C.where(gi, pi)} is all zero at the first step; a multiplicative "
                "rule cannot move it (put it in a group with rule='additive'; neurosim.rules.param_groups(model) "
                "does this for every bias and scalar)",
                RuntimeWarning,
                stacklevel=3,
            )

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Perform one optimisation step (optionally re-evaluating ``closure``)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            params, grads, vs, steps, w_maxs, skipped = [], [], [], [], [], []
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("Madam does not support sparse gradients")
                if not self.state[p]:
                    self._init_state(p, group, gi, pi)
                state = self.state[p]
                params.append(p)
                grads.append(p.grad)
                vs.append(state["exp_avg_sq"])
                steps.append(state["step"])
                w_maxs.append(state["w_max"])
                skipped.append(state.setdefault("nonfinite", C.counter(p.device)))
            madam(params, grads, vs, steps, w_maxs, lr=group["lr"], beta=group["beta"],
                  g_bound=group["g_bound"], additive=group["rule"] == C.ADDITIVE,
                  foreach=group["foreach"], fused=group["fused"], nonfinite=skipped)
        return loss

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``Optimizer.load_state_dict``, keeping the counters integer (torch casts them)."""
        C.load_state_dict_exact(self, state_dict)

    def size_bounds(self, p: torch.Tensor) -> tuple[float, float] | None:
        """``(0, w_max)``: the clip of ``|w|`` (0 is never reached by a multiplicative step)."""
        w_max = self.state.get(p, {}).get("w_max")
        return None if w_max is None else (0.0, float(w_max))

    def nonfinite_count(self) -> int:
        """Non-finite gradient entries skipped so far, over every parameter."""
        return C.nonfinite_count(self)


def madam(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    exp_avg_sqs: list[torch.Tensor],
    state_steps: list[torch.Tensor],
    w_maxs: list[float],
    *,
    lr: float,
    beta: float,
    g_bound: float,
    additive: bool = False,
    foreach: bool | None = None,
    fused: bool | None = None,
    nonfinite: list[torch.Tensor] | None = None,
) -> None:
    """Functional Madam: update ``params`` in place (see :class:`Madam`).

    ``nonfinite``: one 0-d int64 counter per parameter, incremented by the number of
    non-finite gradient entries skipped (fresh counters if omitted).
    """
    if nonfinite is None:
        nonfinite = [C.counter(p.device) for p in params]
    if C.use_fused(params, grads, fused):
        fn = _fused_madam
    elif C.use_foreach(params, foreach):
        fn = _multi_tensor_madam
    else:
        fn = _single_tensor_madam
    fn(params, grads, exp_avg_sqs, state_steps, w_maxs, nonfinite, lr=lr, beta=beta, g_bound=g_bound,
       additive=additive)


def _single_tensor_madam(params, grads, vs, steps, w_maxs, nonfinite, *, lr, beta, g_bound, additive):
    for p, g, v, step, w_max, skipped in zip(params, grads, vs, steps, w_maxs, nonfinite, strict=True):
        step += 1
        gn = C.normalised_single(g, v, beta, bias_correction(beta, step.item()), g_bound, skipped)
        if additive:
            p.add_(gn, alpha=-lr)
            continue
        gn.mul_(torch.sign(p)).mul_(-lr).exp_()
        p.mul_(gn).clamp_(-w_max, w_max)


def _multi_tensor_madam(params, grads, vs, steps, w_maxs, nonfinite, *, lr, beta, g_bound, additive):
    if not params:
        return
    torch._foreach_add_(steps, 1)
    bcs = [bias_correction(beta, s.item()) for s in steps]
    gn = C.normalised_foreach(grads, vs, beta, bcs, g_bound, nonfinite)
    if additive:
        torch._foreach_add_(params, gn, alpha=-lr)
        return
    torch._foreach_mul_(gn, torch._foreach_sign(params))
    torch._foreach_mul_(gn, -lr)
    torch._foreach_exp_(gn)
    torch._foreach_mul_(params, gn)
    torch._foreach_clamp_min_(params, [-w for w in w_maxs])
    torch._foreach_clamp_max_(params, list(w_maxs))


def _fused_madam(params, grads, vs, steps, w_maxs, nonfinite, *, lr, beta, g_bound, additive):
    from neurosim.rules import _fused

    lib = _fused.library()
    for p, g, v, step, w_max, skipped in zip(params, grads, vs, steps, w_maxs, nonfinite, strict=True):
        step += 1
        bc = bias_correction(beta, step.item())
        C.check_fused_state(p, v)
        g = g.contiguous()
        pp, gp, vp = p.data_ptr(), g.data_ptr(), v.data_ptr()
        wm = w_max if math.isfinite(w_max) else float("inf")

        def call(start: int, end: int, pp=pp, gp=gp, vp=vp, bc=bc, wm=wm) -> int:
            return lib.madam_f32(pp, gp, vp, start, end, beta, 1.0 - beta, bc, lr, g_bound, wm,
                                 int(additive))

        n_bad = _fused.run_chunked(call, p.numel())
        if n_bad:
            skipped += n_bad
