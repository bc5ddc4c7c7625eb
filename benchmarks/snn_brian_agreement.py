"""Train a SpikingMLP on digits, export it to Brian2 and report class agreement.

    python benchmarks/snn_brian_agreement.py [--rule loggrid|adam|madam] [--epochs 60] [--hidden 128]

Prints the torch test accuracy, the Brian2 test accuracy, the fraction of test
samples whose predicted class agrees (Brian2 float64 vs torch float32 as trained,
and vs the same torch model evaluated in float64), the largest logit difference
against float64 torch, and the wall times.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from model_competence import make_optimizer, train_digits  # noqa: E402

from neurosim.brian.export import predict  # noqa: E402
from neurosim.models import SpikingMLP  # noqa: E402
from neurosim.tasks import load_digits_split  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rule", default="loggrid")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--codegen", default="numpy")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    data = load_digits_split(seed=a.seed)
    model = SpikingMLP(64, [a.hidden], 10, generator=g)
    opt = make_optimizer(model, a.rule, None, g)
    res = train_digits(model, opt, a.epochs, 32, a.seed, data)
    X = data.X_test.astype(np.float64)
    t0 = time.perf_counter()
    brian_cls = predict(model, X, codegen_target=a.codegen)
    brian_s = time.perf_counter() - t0
    _, logits = predict(model, X[:64], codegen_target=a.codegen, return_logits=True)
    with torch.no_grad():
        t32 = model(torch.from_numpy(X).float()).argmax(1).numpy()
        ref64 = model.double()(torch.from_numpy(X))
    out = {
        "rule": a.rule, "epochs": a.epochs, "hidden": a.hidden, "seed": a.seed,
        "torch_test_accuracy": res["test_accuracy"], "train_seconds": res["train_seconds"],
        "brian_test_accuracy": float(np.mean(brian_cls == data.y_test)),
        "agreement_vs_torch_float32": float(np.mean(brian_cls == t32)),
        "agreement_vs_torch_float64": float(np.mean(brian_cls == ref64.argmax(1).numpy())),
        "max_logit_diff_vs_float64_first64": float(np.abs(logits - ref64[:64].numpy()).max()),
        "n_test": len(X), "brian_seconds": brian_s, "codegen": a.codegen,
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
