"""Competence of the torch networks on digits and perceptual decision making.

Trains one model with one rule and prints test accuracy and wall time, e.g.::

    python benchmarks/model_competence.py mlp --dale 0 --rule adam --lr 1e-3 --epochs 60
    python benchmarks/model_competence.py mlp --dale 1 --rule loggrid --epochs 60
    python benchmarks/model_competence.py snn --dale 1 --rule loggrid --epochs 30
    python benchmarks/model_competence.py rnn --dale 0 --rule adam --lr 1e-3 --steps 1500

Digits: ``neurosim.tasks.load_digits_split(seed)`` (1259 train / 269 test),
minibatches of ``--batch``, cross-entropy; the model of the last epoch is
tested (no early stopping). RNN: ``PerceptualDecisionMaking()`` defaults,
batches drawn fresh each step, mask-weighted cross-entropy over time steps;
tested on 2000 fresh trials (noise on), reporting overall decision accuracy and
accuracy on the two highest coherences (25.6 and 51.2 %). Single thread
(``torch.set_num_threads(1)``).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from neurosim.models import build
from neurosim.rules import DaleAdam, DaleSGD, LogGridMadam, Madam, param_groups
from neurosim.tasks import PerceptualDecisionMaking, decision_accuracy, decision_choices, load_digits_split

RULES = ("adam", "sgd", "madam", "loggrid", "loggrid_nearest")


def make_optimizer(model: nn.Module, rule: str, lr: float | None, generator: torch.Generator,
                   levels: int = 26) -> torch.optim.Optimizer:
    """The optimizer for ``rule``; biases always additive (Madam-normalised for Madam rules)."""
    dale = getattr(model, "dale", False)
    if rule == "adam":
        lr = lr or 1e-3
        if dale:
            return DaleAdam(param_groups(model), lr=lr)
        return torch.optim.Adam(model.parameters(), lr=lr)
    if rule == "sgd":
        lr = lr or 0.1
        return DaleSGD(param_groups(model), lr=lr) if dale else torch.optim.SGD(model.parameters(), lr=lr)
    if rule == "madam":
        return Madam(param_groups(model), lr=lr or 0.01)
    if rule in ("loggrid", "loggrid_nearest"):
        rounding = "nearest" if rule == "loggrid_nearest" else "stochastic"
        return LogGridMadam(param_groups(model), lr=lr or 0.01, levels=levels, ratio=60.0,
                            rounding=rounding, generator=generator)
    raise ValueError(f"rule: must be one of {RULES}, got {rule!r}")


def train_digits(model: nn.Module, opt: torch.optim.Optimizer, epochs: int, batch: int, seed: int,
                 data: Any = None) -> dict[str, float]:
    data = data or load_digits_split(seed=seed)
    Xtr, ytr = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    Xte, yte = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test)
    gen = torch.Generator().manual_seed(seed + 1)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(Xtr), generator=gen).split(batch):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(Xtr[idx]), ytr[idx]).backward()
            opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = (model(Xte).argmax(1) == yte).float().mean().item()
        train_acc = (model(Xtr).argmax(1) == ytr).float().mean().item()
    return {"test_accuracy": acc, "train_accuracy": train_acc, "train_seconds": seconds}


def masked_ce(out: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    ce = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), reduction="none")
    m = mask.reshape(-1)
    return (ce * m).sum() / m.sum()


def train_pdm(model: nn.Module, opt: torch.optim.Optimizer, steps: int, batch: int, seed: int,
              n_test: int = 2000) -> dict[str, float]:
    task = PerceptualDecisionMaking()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    model.train()
    for _ in range(steps):
        u, tgt, mask = (torch.from_numpy(a) for a in task.batch(batch, rng))
        opt.zero_grad(set_to_none=True)
        masked_ce(model(u), tgt, mask).backward()
        opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    u, tgt, mask, info = task.batch(n_test, np.random.default_rng(10_000 + seed), return_info=True)
    with torch.no_grad():
        out = model(torch.from_numpy(u))
    acc = decision_accuracy(out, tgt, mask, info)
    choice = decision_choices(out, tgt, mask)
    top = np.isin(info["coherence"], sorted(task.coherences)[-2:])
    acc_top = float(np.mean(choice[top] == info["choice"][top]))
    return {"decision_accuracy": acc, "accuracy_top2_coherences": acc_top, "train_seconds": seconds}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=("mlp", "snn", "rnn"))
    p.add_argument("--dale", type=int, default=1)
    p.add_argument("--rule", choices=RULES, default="loggrid")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--levels", type=int, default=26)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--epochs", type=int, default=40, help="digits epochs (mlp, snn)")
    p.add_argument("--steps", type=int, default=1000, help="training batches (rnn)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--surrogate", default="triangle")
    p.add_argument("--snn-steps", type=int, default=25)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    dale = bool(a.dale)
    if a.kind == "rnn":
        model = build("rnn", 3, 3, n_rec=a.hidden, dale=dale, generator=gen)
    elif a.kind == "snn":
        model = build("snn", 64, 10, hidden=[a.hidden], dale=dale, generator=gen, surrogate=a.surrogate,
                      steps=a.snn_steps)
    else:
        model = build("mlp", 64, 10, hidden=[a.hidden], dale=dale, generator=gen)
    opt = make_optimizer(model, a.rule, a.lr, gen, a.levels)
    if a.kind == "rnn":
        res = train_pdm(model, opt, a.steps, a.batch, a.seed)
    else:
        res = train_digits(model, opt, a.epochs, a.batch, a.seed)
    res = {"kind": a.kind, "dale": dale, "rule": a.rule, "lr": opt.param_groups[0]["lr"], "hidden": a.hidden,
           "epochs": a.epochs if a.kind != "rnn" else None, "steps": a.steps if a.kind == "rnn" else None,
           "batch": a.batch, "seed": a.seed, **res}
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
