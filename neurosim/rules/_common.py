"""Pieces shared by the torch optimizers: the normalised gradient, hashing, path choice, state.

The arithmetic is :mod:`neurosim.rules.spec`'s; this module renders it in torch.
"""

from __future__ import annotations

from typing import Any

import torch

from neurosim import validate as V
from neurosim.rules.spec import MadamSpec

M32 = 0xFFFFFFFF
ADDITIVE = "additive"


# ------------------------------------------------------------------ validation
def madam_hyper(group: dict[str, Any]) -> None:
    """Validate the hyperparameters Madam and LogGridMadam share (:class:`~neurosim.rules.spec.MadamSpec`)."""
    for k, p in MadamSpec.PARAMS.items():
        p.check(k, group[k])
    V.real("p_scale", group["p_scale"], gt=0.0)
    V.optional_boolean("foreach", group.get("foreach"))
    V.optional_boolean("fused", group.get("fused"))


def torch_level_dtype(levels: int) -> torch.dtype:
    """The torch dtype of level codes (:func:`neurosim.lns.level_dtype`: uint8 up to 256 levels, else int16)."""
    from neurosim.lns import level_dtype

    return {"uint8": torch.uint8, "int16": torch.int16}[level_dtype(levels).name]


def where(group_index: int, param_index: int) -> str:
    return f"parameter {param_index} of param group {group_index}"


# ------------------------------------------------------- normalised gradient
def counter(device: torch.device) -> torch.Tensor:
    """A 0-d int64 counter of skipped (non-finite) gradient entries, kept in optimizer state."""
    return torch.zeros((), dtype=torch.int64, device=device)


def load_state_dict_exact(opt: torch.optim.Optimizer, state_dict: dict[str, Any],
                          keys: tuple[str, ...] = ("nonfinite", "level")) -> None:
    """``Optimizer.load_state_dict``, keeping integer state (``keys``) as saved.

    torch casts every state tensor but ``step`` to the parameter's dtype on load; integer
    levels and counters would come back as floats (and counters above 2**24 rounded).
    """
    saved = {pid: {k: s[k] for k in keys if torch.is_tensor(s.get(k))}
             for pid, s in state_dict.get("state", {}).items()}
    torch.optim.Optimizer.load_state_dict(opt, state_dict)
    for g_sd, group in zip(state_dict["param_groups"], opt.param_groups, strict=True):
        for pid, p in zip(g_sd["params"], group["params"], strict=True):
            for k, v in saved.get(pid, {}).items():
                opt.state[p][k] = v.detach().clone().to(device=p.device)


def nonfinite_count(opt: torch.optim.Optimizer) -> int:
    """Non-finite gradient entries an optimizer skipped so far, over all its parameters."""
    return int(sum(int(s["nonfinite"]) for s in opt.state.values() if "nonfinite" in s))


def sanitise(g: torch.Tensor, skipped: torch.Tensor) -> torch.Tensor:
    """``g`` with non-finite entries (NaN, +-inf) set to 0; their count is added to ``skipped``.

    Bernstein et al. (2020) treat 0/0 as 0; neurosim extends that to a non-finite
    gradient entry: the synapse does not move and the entry adds nothing to the
    second moment (an infinite square would freeze the synapse for good).
    ``skipped`` is a 0-d int64 tensor (no device synchronisation).
    """
    ok = torch.isfinite(g)
    skipped.add_(ok.numel() - ok.sum())
    return torch.where(ok, g, torch.zeros((), dtype=g.dtype, device=g.device))


def _bounded_(v: torch.Tensor) -> torch.Tensor:
    """Keep a second moment finite: overflow (and a NaN loaded from a state) become the dtype's max."""
    big = torch.finfo(v.dtype).max
    return torch.nan_to_num_(v, nan=big, posinf=big)


def normalised_single(g: torch.Tensor, v: torch.Tensor, beta: float, bc: float,
                      g_bound: float, skipped: torch.Tensor) -> torch.Tensor:
    """Update ``v`` in place; return ``clip(g / sqrt(v / bc), -g_bound, g_bound)`` (0/0 -> 0).

    Bernstein et al. (2020), Algorithm 1: ``v <- beta v + (1 - beta) g**2``,
    ``g* <- g / sqrt(v / (1 - beta**t))``, clipped at ``g_bound``. The denominator is
    floored at the dtype's smallest normal number, which turns 0/0 into 0 and leaves
    every other case as the published equation (a gradient whose square underflows
    is clipped to ``+-g_bound`` either way). Non-finite gradient entries count as 0
    (:func:`sanitise`) and ``v`` saturates at the dtype's largest finite value, so
    the result is always finite.
    """
    g = sanitise(g, skipped)
    _bounded_(v.mul_(beta).addcmul_(g, g, value=1.0 - beta))
    denom = (v / bc).sqrt_().clamp_min_(torch.finfo(v.dtype).tiny)
    return (g / denom).clamp_(-g_bound, g_bound)


def normalised_foreach(grads: list[torch.Tensor], vs: list[torch.Tensor], beta: float,
                       bcs: list[float], g_bound: float, skipped: list[torch.Tensor]) -> list[torch.Tensor]:
    """Multi-tensor :func:`normalised_single`; the same operations in the same order."""
    grads = [sanitise(g, s) for g, s in zip(grads, skipped, strict=True)]
    torch._foreach_mul_(vs, beta)
    torch._foreach_addcmul_(vs, grads, grads, value=1.0 - beta)
    for v in vs:
        _bounded_(v)
    denom = torch._foreach_div(vs, bcs)
    torch._foreach_sqrt_(denom)
    torch._foreach_clamp_min_(denom, [torch.finfo(v.dtype).tiny for v in vs])
    gn = torch._foreach_div(grads, denom)
    torch._foreach_clamp_min_(gn, -g_bound)
    torch._foreach_clamp_max_(gn, g_bound)
    return gn


# --------------------------------------------------------------------- hashing
def mix32(x: int) -> int:
    """lowbias32 integer hash (C. Wellons 2018); the same as ``mix32`` in ``_kernels.c``."""
    x &= M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def step_key(seed: int, step: int) -> int:
    """The 32-bit key of one optimizer step of one parameter."""
    return mix32(seed ^ mix32(step))


def hash_uniform(n: int, key: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``n`` uniforms in ``[0, 1)`` (24 bits) from a counter hash: ``u_i = mix32(i*phi + key) / 2**32``.

    Identical to the stochastic rounding of the fused C kernel, so both paths draw
    the same numbers; stateless, so an optimizer resumes bit-identically from its
    ``state_dict`` (the per-parameter ``seed`` and ``step``).
    """
    x = (torch.arange(n, dtype=torch.int64, device=device) * 0x9E3779B9 + key) & M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return (x >> 8).to(dtype) * (2.0**-24)


def use_fused(params: list[torch.Tensor], grads: list[torch.Tensor], fused: bool | None) -> bool:
    """Whether the fused C kernels apply: CPU, float32, contiguous, kernels built."""
    if fused is False or not params:
        return False
    ok = all(
        p.device.type == "cpu" and p.dtype == torch.float32 and p.is_contiguous()
        and g.dtype == torch.float32
        for p, g in zip(params, grads, strict=True)
    )
    if not ok:
        if fused:
            raise RuntimeError("fused=True needs float32, contiguous CPU parameters")
        return False
    from neurosim.rules import _fused

    if _fused.available():
        return True
    if fused:
        raise RuntimeError("fused=True but the fused CPU kernels could not be built")
    return False


def kernel_path(params: list[torch.Tensor], fused: bool | None, foreach: bool | None) -> str:
    """The path a step over ``params`` takes: ``"fused"`` (the C kernels), ``"foreach"`` or ``"eager"``."""
    if use_fused(params, params, fused):
        return "fused"
    return "foreach" if use_foreach(params, foreach) else "eager"


def check_fused_state(p: torch.Tensor, v: torch.Tensor, *, level: torch.Tensor | None = None,
                      table: torch.Tensor | None = None, top: int = 0) -> None:
    """Refuse state the C kernels would read out of bounds (e.g. loaded from another model)."""
    if v.shape != p.shape or v.dtype != torch.float32 or not v.is_contiguous() or v.device != p.device:
        raise ValueError(f"optimizer state: exp_avg_sq has shape {tuple(v.shape)} and dtype {v.dtype}, "
                         f"the parameter {tuple(p.shape)} float32 (was the state loaded from another model?)")
    if level is not None:
        if level.shape != p.shape or level.dtype not in (torch.uint8, torch.int16) or not level.is_contiguous():
            raise ValueError(f"optimizer state: level has shape {tuple(level.shape)} and dtype {level.dtype}, "
                             f"the parameter {tuple(p.shape)} (was the state loaded from another model?)")
        if table is None or table.numel() != top + 1 or table.dtype != torch.float32:
            raise ValueError("optimizer state: the level table does not match the grid")


def use_foreach(params: list[torch.Tensor], foreach: bool | None) -> bool:
    """``foreach=None`` picks the multi-tensor path on CUDA (as torch.optim does)."""
    if foreach is not None:
        return foreach
    return bool(params) and all(p.device.type == "cuda" for p in params)
