"""The torch learning rules by name: their hyperparameters, checks and defaults, and how to build them.

One entry per rule a config can name (``rule.name``). Each lists the hyperparameters a
config may set, with the checks the optimizer itself applies; the defaults are read
from the optimizer's signature, so the config and the class cannot disagree::

    >>> TORCH_RULES["loggrid_madam"].defaults()["levels"]
    26
    >>> opt = TORCH_RULES["madam"].build(model, {"lr": 0.01})      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from neurosim import validate as V
from neurosim.rules.additive import GRIDS, DaleAdam, DaleSGD, QuantizedSGD, param_groups
from neurosim.rules.loggrid import INITS, LogGridMadam
from neurosim.rules.madam import Madam
from neurosim.rules.spec import GridSpec, MadamSpec

__all__ = ["TORCH_RULES", "TorchRule"]


def _betas(name: str, value: Any) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{name}: must be a list of two numbers in [0, 1), got {V.fmt(value)}")
    return [V.real(f"{name}[{i}]", v, ge=0.0, lt=1.0) for i, v in enumerate(value)]


LR = V.Param(V.bounded(gt=0.0), "learning rate")
BETAS = V.Param(_betas, "Adam's decay rates of the first and second moments")
MOMENTUM = V.Param(V.bounded(ge=0.0, lt=1.0), "momentum")
P_SCALE = V.Param(V.bounded(gt=0.0), "w_max = p_scale * rms(initial weights), per tensor")
LEVELS = GridSpec.PARAMS["levels"]
ROUNDING = GridSpec.PARAMS["rounding"]
INIT = V.Param(V.one_of(*INITS), "start from the weights (encode) or random levels")


@dataclass(frozen=True)
class TorchRule:
    """A torch optimizer a config can name.

    Attributes
    ----------
    cls:
        The optimizer class.
    params:
        The hyperparameters a config may set, with their checks.
    defaults_from:
        The class whose signature holds the defaults (``cls`` unless it passes them on,
        as DaleAdam does to ``torch.optim.Adam``).
    own_defaults:
        neurosim's defaults where the class is torch's own and torch's default does not
        suit neurosim's tasks (plain SGD: lr 0.1, as DaleSGD, not torch's 1e-3).
    dale_only:
        The rule clips sizes of Dale layers, so it needs a Dale network.
    bias_group:
        Biases go into an additive group (:func:`~neurosim.rules.param_groups`), whose lr a
        config may set as ``bias_lr``.
    generator:
        The optimizer draws random numbers from a ``torch.Generator`` (``generator=``).
    """

    cls: type[torch.optim.Optimizer]
    params: dict[str, V.Param]
    defaults_from: type | None = None
    own_defaults: dict[str, Any] = field(default_factory=dict)
    dale_only: bool = False
    bias_group: bool = False
    generator: bool = False

    def defaults(self) -> dict[str, Any]:
        """``{hyperparameter: default}``, from the optimizer's signature (tuples as lists, as in TOML)."""
        sig = V.signature_defaults(self.defaults_from or self.cls)
        if self.defaults_from is not None:
            sig.update({k: v for k, v in V.signature_defaults(self.cls).items() if k in sig})
        sig.update(self.own_defaults)
        return {k: list(sig[k]) if isinstance(sig[k], tuple) else sig[k] for k in self.params}

    def build(self, model: nn.Module, values: dict[str, Any], generator: torch.Generator | None = None,
              bias_lr: float | None = None) -> torch.optim.Optimizer:
        """The optimizer over ``model``'s parameters with hyperparameters ``values``."""
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in self.params}
        if self.generator:
            kw["generator"] = generator
        if self.bias_group:
            groups = param_groups(model, **({"lr": bias_lr} if bias_lr else {}))
        elif self.dale_only:
            groups = param_groups(model)
        else:
            groups = model.parameters()
        return self.cls(groups, **kw)


_MADAM = {k: MadamSpec.PARAMS[k] for k in ("lr", "beta", "g_bound")}

TORCH_RULES: dict[str, TorchRule] = {
    "adam": TorchRule(torch.optim.Adam, {"lr": LR, "betas": BETAS}),
    "sgd": TorchRule(torch.optim.SGD, {"lr": LR, "momentum": MOMENTUM},
                     own_defaults={"lr": V.signature_defaults(DaleSGD)["lr"]}),
    "madam": TorchRule(Madam, {**_MADAM, "p_scale": P_SCALE}, bias_group=True),
    "loggrid_madam": TorchRule(
        LogGridMadam, {**_MADAM, "levels": LEVELS, "ratio": GridSpec.PARAMS["ratio"], "step": GridSpec.PARAMS["step"],
                       "rounding": ROUNDING, "init": INIT, "p_scale": P_SCALE},
        bias_group=True, generator=True),
    "dale_adam": TorchRule(DaleAdam, {"lr": LR, "betas": BETAS}, defaults_from=torch.optim.Adam, dale_only=True),
    "dale_sgd": TorchRule(DaleSGD, {"lr": LR, "momentum": MOMENTUM}, defaults_from=torch.optim.SGD,
                          dale_only=True),
    "quantized_sgd": TorchRule(QuantizedSGD, {"lr": LR, "levels": LEVELS, "p_scale": P_SCALE, "rounding": ROUNDING,
                                              "grid": V.Param(V.one_of(*GRIDS), "uniform over [0, w_max] or log"),
                                              "ratio": GridSpec.PARAMS["ratio"]},
                               dale_only=True, bias_group=True, generator=True),
}
