"""Learning rules as torch optimizers (a Brian2 back end shares the same definitions).

* :class:`Madam` and :class:`LogGridMadam`: multiplicative updates (Bernstein et al. 2020);
* :class:`DaleSGD`, :class:`DaleAdam`, :class:`QuantizedSGD`: additive baselines
  under the same Dale constraint;
* :func:`param_groups`: synapses in one group, biases in an additive one.
"""

from typing import Any

from neurosim.rules.additive import DaleAdam, DaleSGD, QuantizedSGD, param_groups
from neurosim.rules.loggrid import LogGridMadam
from neurosim.rules.madam import Madam, madam

__all__ = ["DaleAdam", "DaleSGD", "LogGridMadam", "Madam", "QuantizedSGD", "fused_kernels", "madam",
           "optimizer_path", "param_groups"]


def fused_kernels() -> dict:
    """Whether the fused C kernels are in use, the compiler that built them, and why not if not."""
    from neurosim.rules import _fused

    return _fused.info()


def optimizer_path(opt: Any) -> str:
    """Which path an optimizer's steps take (recorded in each run's provenance).

    ``"fused"`` (the C kernels), ``"foreach"`` or ``"eager"`` for neurosim's multiplicative
    rules, per parameter group (joined by ``+`` where groups differ); ``"torch"`` for groups
    of optimizers that choose their path themselves (torch's own, and the additive rules
    built on them).
    """
    from neurosim.rules import _common as C

    paths = []
    for group in opt.param_groups:
        if "fused" not in group or not group["params"]:
            paths.append("torch")
            continue
        paths.append(C.kernel_path(list(group["params"]), group["fused"], group.get("foreach")))
    return "+".join(dict.fromkeys(paths)) or "none"
