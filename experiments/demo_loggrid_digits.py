"""Demo: a Dale MLP learns scikit-learn's digits with sizes on a 26-level log grid.

Every synapse is a fixed sign (its presynaptic unit's: pixels are excitatory,
hidden units 80 % excitatory, 20 % inhibitory) times a size that can take only
26 values over a 60-fold range (Bartol et al. 2015). LogGridMadam moves each
size's level by Madam's normalised step (lr = 0.01, untuned), rounded
stochastically. Biases learn with the same normalised step, added.

    python experiments/demo_loggrid_digits.py [--quick] [--epochs N] [--seed S]

Prints test accuracy and how many of the 26 levels are in use per layer.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from neurosim.dale import DaleLinear, ei_signs
from neurosim.rules import LogGridMadam, param_groups


def build(hidden: int, generator: torch.Generator) -> nn.Module:
    pixels = torch.ones(64)  # inputs are excitatory
    hidden_sign = ei_signs(hidden, 0.2)
    return nn.Sequential(
        DaleLinear(pixels, hidden, generator=generator),
        nn.ReLU(),
        DaleLinear(hidden_sign, 10, generator=generator),
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="10 epochs (a smoke test, under a second)")
    args = parser.parse_args(argv)
    epochs = 10 if args.quick else args.epochs

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        (X / 16.0).astype(np.float32), y, test_size=0.25, random_state=args.seed, stratify=y
    )
    X_tr, y_tr = torch.from_numpy(X_tr), torch.from_numpy(y_tr)
    X_te, y_te = torch.from_numpy(X_te), torch.from_numpy(y_te)

    model = build(args.hidden, gen)
    opt = LogGridMadam(param_groups(model), lr=0.01, levels=26, ratio=60.0,
                       rounding="stochastic", generator=gen)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(X_tr), generator=gen).split(32):
            opt.zero_grad()
            loss_fn(model(X_tr[idx]), y_tr[idx]).backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        acc = (model(X_te).argmax(1) == y_te).float().mean().item()
    print(f"Dale MLP 64-{args.hidden}-10, LogGridMadam (26 levels over 60x, stochastic "
          f"rounding, lr 0.01), {epochs} epochs in {seconds:.1f} s")
    print(f"test accuracy: {100 * acc:.1f} %  ({len(y_te)} digits)")
    result = {"test_accuracy": acc}
    for name, layer in (("input->hidden", model[0]), ("hidden->output", model[2])):
        level, grid = opt.grid_of(layer.size)
        used = np.unique(level).size
        print(f"{name}: {used} of {grid.levels} levels in use "
              f"(sizes {grid.w_min:.4g} .. {grid.w_max:.4g})")
        result[f"levels_used_{name}"] = used
    return result


if __name__ == "__main__":
    main()
