"""Example: neurosim's Dale layers and LogGridMadam inside an snnTorch network.

An snnTorch user keeps their network and swaps two things in: the synapses are
:class:`neurosim.dale.DaleLinear` layers (a fixed sign per presynaptic unit
times a size; pixels excitatory, hidden units 80 % excitatory) and the
optimizer is :class:`neurosim.rules.LogGridMadam` (sizes on 26 levels over 60x,
Madam's normalised multiplicative step, lr 0.01 untuned, decayed to 0 over the
epochs by torch's ``CosineAnnealingLR`` as in ``experiments/snn_digits.py``).
:func:`neurosim.rules.param_groups` puts the sizes on the grid and everything
else, the biases and snnTorch's learnable membrane decay ``beta`` (a 0-d
parameter), in an additive group: those are not synapses, and a multiplicative
rule could not move a zero bias.

Network: 64 pixels as Poisson spike trains (:func:`neurosim.models.encode`,
probability ``x`` per step, seeded) -> 128 ``snntorch.Leaky`` units (learnable
beta, start 0.95) -> 10 ``snntorch.Leaky`` readouts without reset; the logits are
the readout membrane averaged over 25 steps. Digits split by
:func:`neurosim.tasks.load_digits_split` (seed 0).

    python experiments/snntorch_digits.py [--quick] [--epochs N] [--seed S]

Needs snnTorch (``pip install -e ".[snntorch]"``). Prints the test accuracy, the
levels in use and the learned beta, and returns them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from neurosim.dale import DaleLinear, ei_signs
from neurosim.models import encode
from neurosim.rules import LogGridMadam, param_groups
from neurosim.tasks import load_digits_split

log = logging.getLogger("neurosim.snntorch_digits")
STEPS = 25


class SnnTorchDale(nn.Module):
    """snnTorch ``Leaky`` neurons with neurosim Dale synapses (see the module docstring)."""

    def __init__(self, hidden: int, generator: torch.Generator) -> None:
        import snntorch as snn

        super().__init__()
        self.fc1 = DaleLinear(torch.ones(64), hidden, gain=0.25, generator=generator)
        self.lif1 = snn.Leaky(beta=0.95, learn_beta=True)
        self.fc2 = DaleLinear(ei_signs(hidden, 0.2), 10, gain=2.0, generator=generator)
        self.readout = snn.Leaky(beta=0.95, reset_mechanism="none")

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, 10)`` for input spikes ``(steps, B, 64)``: the mean readout membrane."""
        mem1, mem2 = self.lif1.init_leaky(), self.readout.init_leaky()
        total = 0.0
        for s in spikes:
            spk1, mem1 = self.lif1(self.fc1(s), mem1)
            _, mem2 = self.readout(self.fc2(spk1), mem2)
            total = total + mem2
        return total / spikes.shape[0]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 epochs (the test size, seconds)")
    args = parser.parse_args(argv)
    try:
        import snntorch  # noqa: F401
    except ImportError:
        sys.exit('snntorch_digits: needs snnTorch; install the extra: pip install -e ".[snntorch]"')
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    epochs = 3 if args.quick else args.epochs

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    spikes_gen = torch.Generator().manual_seed(args.seed + 1)
    data = load_digits_split(seed=args.seed)
    X_tr, y_tr = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    X_te, y_te = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test)

    net = SnnTorchDale(args.hidden, gen)
    groups = param_groups(net)
    opt = LogGridMadam(groups, lr=0.01, levels=26, ratio=60.0, rounding="stochastic", generator=gen)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)  # as snn_digits: lr -> 0
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(X_tr), generator=gen).split(32):
            opt.zero_grad()
            s = encode(X_tr[idx], "poisson", STEPS, generator=spikes_gen)
            loss_fn(net(s), y_tr[idx]).backward()
            opt.step()
        schedule.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        s = encode(X_te, "poisson", STEPS, generator=torch.Generator().manual_seed(0))
        acc = float((net(s).argmax(1) == y_te).float().mean())
    result: dict[str, Any] = {"test_accuracy": acc, "epochs": epochs, "seconds": seconds,
                              "beta": float(net.lif1.beta.detach()),
                              "additive_params": len(groups[1]["params"])}
    log.info("snnTorch Leaky network, Dale synapses, LogGridMadam (26 levels over 60x, lr 0.01): "
             "%d epochs in %.1f s", epochs, seconds)
    log.info("test accuracy: %.1f %% (%d digits); learned beta %.4f", 100 * acc, len(y_te), result["beta"])
    for name, layer in (("input->hidden", net.fc1), ("hidden->readout", net.fc2)):
        level, grid = opt.grid_of(layer.size)
        sizes = layer.size.detach().numpy()
        result[f"levels_used_{name}"] = int(np.unique(level).size)
        result[f"on_grid_{name}"] = bool(np.allclose(sizes, grid.decode(level), rtol=1e-6))
        log.info("%s: %d of %d levels in use", name, result[f"levels_used_{name}"], grid.levels)
    return result


if __name__ == "__main__":
    main()
