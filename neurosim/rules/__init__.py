"""Learning rules as torch optimizers (a Brian2 back end shares the same definitions).

* :class:`Madam` and :class:`LogGridMadam`: multiplicative updates (Bernstein et al. 2020);
* :class:`DaleSGD`, :class:`DaleAdam`, :class:`QuantizedSGD`: additive baselines
  under the same Dale constraint;
* :func:`param_groups`: synapses in one group, biases in an additive one.
"""

from neurosim.rules.additive import DaleAdam, DaleSGD, QuantizedSGD, param_groups
from neurosim.rules.loggrid import LogGridMadam
from neurosim.rules.madam import Madam, madam

__all__ = ["DaleAdam", "DaleSGD", "LogGridMadam", "Madam", "QuantizedSGD", "fused_kernels", "madam",
           "param_groups"]


def fused_kernels() -> dict:
    """Whether the fused C kernels are in use, the compiler that built them, and why not if not."""
    from neurosim.rules import _fused

    return _fused.info()
