"""Training throughput of the Dale MLP with LogGridMadam relative to the ANN with Adam.

Both networks have the same architecture (``64 -> hidden... -> 10``, ReLU), the
same number of weights, the same data (digits training split, minibatches of
``--batch``) and the same number of steps per repeat. One repeat trains each
model for ``--steps`` minibatches (forward, cross-entropy, backward, optimizer
step); the two models alternate (ANN, Dale, ANN, Dale, ...) so that machine load
affects both alike; the first ``--warmup`` repeats are discarded. Reports the
median samples per second of each and the ratio Dale/ANN (target >= 0.7)::

    python benchmarks/train_throughput.py [--hidden 256 256] [--batch 64] [--steps 25] [--repeats 31] [--threads 1]

The Dale model uses :class:`neurosim.rules.LogGridMadam` (26 levels over 60x,
stochastic rounding, lr 0.01; biases additive via ``param_groups``), the ANN
``torch.optim.Adam`` (lr 1e-3) on the matched signed ``nn.Linear`` network.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurosim.models import DaleMLP
from neurosim.rules import LogGridMadam, param_groups
from neurosim.tasks import load_digits_split

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script, or loaded by path: find _record
from _record import load, record  # noqa: E402

Batches = list[tuple[torch.Tensor, torch.Tensor]]


def _run(model: nn.Module, opt: torch.optim.Optimizer, batches: Batches) -> float:
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    return time.perf_counter() - t0


def measure(hidden: list[int], batch: int, steps: int, repeats: int, warmup: int, seed: int = 0,
            device: str = "cpu") -> dict[str, Any]:
    """Interleaved timing; returns medians (samples/s) and the Dale/ANN ratio."""
    data = load_digits_split(seed=seed)
    X = torch.from_numpy(data.X_train).to(device)
    y = torch.from_numpy(data.y_train).to(device)
    g = torch.Generator().manual_seed(seed)
    order = torch.randint(0, len(X), (steps, batch), generator=g)
    batches = [(X[i.to(device)], y[i.to(device)]) for i in order]
    dale = DaleMLP(64, hidden, 10, dale=True, generator=torch.Generator().manual_seed(seed), device=device)
    ann = DaleMLP(64, hidden, 10, dale=False, generator=torch.Generator().manual_seed(seed), device=device)
    opt_dale = LogGridMadam(param_groups(dale), lr=0.01, levels=26, ratio=60.0,
                            generator=torch.Generator().manual_seed(seed))
    opt_ann = torch.optim.Adam(ann.parameters(), lr=1e-3)
    rates: dict[str, list[float]] = {"ann_adam": [], "dale_loggrid": []}
    for r in range(warmup + repeats):
        for name, model, opt in (("ann_adam", ann, opt_ann), ("dale_loggrid", dale, opt_dale)):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds = _run(model, opt, batches)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if r >= warmup:
                rates[name].append(steps * batch / seconds)
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "hidden": hidden, "batch": batch, "steps_per_repeat": steps, "repeats": repeats,
        "threads": torch.get_num_threads(), "device": device,
        "machine": platform.processor() or platform.machine(),
        "ann_adam_samples_per_s": med["ann_adam"], "dale_loggrid_samples_per_s": med["dale_loggrid"],
        "ratio_dale_over_ann": med["dale_loggrid"] / med["ann_adam"],
        "ann_adam_all": rates["ann_adam"], "dale_loggrid_all": rates["dale_loggrid"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=25, help="minibatches per model per repeat")
    p.add_argument("--repeats", type=int, default=31)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="3 repeats of 20 steps (a smoke test)")
    p.add_argument("--json", default=None, help="write the figures here (default results/benchmarks/"
                                                "train_throughput.json; --quick: nowhere)")
    a = p.parse_args(argv)
    load_before = load()
    torch.set_num_threads(a.threads)
    if a.quick:
        a.repeats, a.steps = 3, 20
    res = measure(a.hidden, a.batch, a.steps, a.repeats, a.warmup, device=a.device)
    print(f"Dale MLP + LogGridMadam vs ANN + Adam, 64-{'-'.join(map(str, a.hidden))}-10, batch {a.batch}, "
          f"{a.repeats} interleaved repeats of {a.steps} steps, {res['threads']} thread(s), {a.device}")
    print(f"  ANN  + Adam         : {res['ann_adam_samples_per_s']:10.0f} samples/s (median)")
    print(f"  Dale + LogGridMadam : {res['dale_loggrid_samples_per_s']:10.0f} samples/s (median)")
    print(f"  ratio Dale / ANN    : {res['ratio_dale_over_ann']:.3f}  (target >= 0.7)")
    print(json.dumps({k: v for k, v in res.items() if not k.endswith("_all")}))
    record("train_throughput", {**res, "hidden": a.hidden, "batch": a.batch}, load_before=load_before,
           quick=a.quick, out=a.json)
    return res


if __name__ == "__main__":
    main()
