"""Benchmark: one optimizer step on ~8M parameters, neurosim's Madam rules vs torch.

Every optimizer owns its own copy of the same parameters (seven tensors shaped like
an MLP: 2048x2048, 1024x2048, 1024x1024, 512x1024 and three biases, 7.9M weights
in all) and steps on the same fixed random gradients. One *round*
times one ``step()`` of each optimizer; rounds repeat ``--repeats`` times after
``--warmup`` untimed rounds, the order rotating each round so no optimizer always
runs first or last. Timings on a shared machine are noisy, so only ratios measured
within one run are compared.

Optimizers (all ``lr = 0.01``):

* ``Adam``        -- ``torch.optim.Adam(foreach=True)``, the yardstick.
* ``SGD``         -- ``torch.optim.SGD`` (plain) and ``SGD+mom`` (momentum 0.9, foreach).
* ``Madam``       -- ``neurosim.rules.Madam`` with its default path (the fused C
  kernel when it builds; the path used is printed).
* ``Madam-eager`` -- ``Madam(foreach=True, fused=False)``: the multi-tensor torch path.
* ``LogGrid``     -- ``LogGridMadam(levels=26, rounding="stochastic")``, default path.
* ``loop``        -- a per-tensor Python loop of the published equations in plain
  torch ops (Bernstein et al. 2020, Algorithm 1; see REFERENCES.md).

How to read the output
----------------------
The table gives the median, min and max of the per-step wall time, then the
median as a ratio to ``Adam`` (``x Adam``; below 1 is faster than Adam) and to the
per-tensor loop (``x loop``; 0.5 means twice as fast as the loop). ``B/weight``
columns: ``resident`` counts the parameter tensor plus every tensor in the
optimizer state, as allocated in this process; ``stored`` is what must be kept to
resume (LogGridMadam's float32 parameter is only a decoded cache of the ``uint8``
level and the sign, so it keeps no full-precision copy). Last, the bytes of a
bit-packed 26-level Dale layer (``neurosim.lns.pack_layer``) against float32.

Targets (on the project's 2-core CPU): ``Madam <= 0.8x Adam``, ``LogGrid <= 1.2x
Adam``, and both at least 2x faster than the loop. Each prints PASS or MISS; the
exit code is 0 either way unless ``--check`` is given (then 1 on any MISS).

Usage::

    python benchmarks/optimizer_step.py [--repeats 40] [--warmup 3] [--threads N]
                                        [--quick] [--check] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from neurosim.lns import pack_layer
from neurosim.rules import LogGridMadam, Madam, fused_kernels

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script, or loaded by path: find _record
from _record import load, record  # noqa: E402

LR = 0.01
BETA = 0.999
G_BOUND = 10.0
P_SCALE = 3.0
LEVELS = 26

FULL_SHAPES: list[tuple[int, ...]] = [
    (2048, 2048), (1024, 2048), (1024, 1024), (512, 1024), (2048,), (1024,), (512,),
]
QUICK_SHAPES: list[tuple[int, ...]] = [(256, 256), (128, 256), (256,), (128,)]

# (name, upper bound on its ratio to Adam, upper bound on its ratio to the loop)
TARGETS = [("Madam", 0.8, 0.5), ("LogGrid", 1.2, 0.5)]


# ------------------------------------------------------------------ the loop
class LoopMadam:
    """The published Madam equations, one tensor at a time, in plain torch ops.

    ``v <- beta v + (1 - beta) g^2``; ``gn = g / sqrt(v / (1 - beta^t))`` with
    ``0/0 -> 0``; clip to ``g_bound``; ``w <- w exp(-eta gn sign(w))``; clip to ``w_max``.
    """

    def __init__(self, params: list[torch.Tensor], lr: float = LR, beta: float = BETA,
                 g_bound: float = G_BOUND, p_scale: float = P_SCALE) -> None:
        self.params = params
        self.lr, self.beta, self.g_bound = lr, beta, g_bound
        self.t = 0
        self.v = [torch.zeros_like(p) for p in params]
        self.w_max = [p_scale * float(p.detach().pow(2).mean().sqrt()) for p in params]

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        bc = 1.0 - self.beta**self.t
        for p, v, w_max in zip(self.params, self.v, self.w_max, strict=True):
            g = p.grad
            v.mul_(self.beta).add_((1.0 - self.beta) * g * g)
            denom = torch.sqrt(v / bc)
            gn = torch.where(denom > 0, g / denom, torch.zeros_like(g))
            gn = torch.clamp(gn, -self.g_bound, self.g_bound)
            p.mul_(torch.exp(-self.lr * gn * torch.sign(p)))
            p.clamp_(-w_max, w_max)

    def state_tensors(self) -> list[torch.Tensor]:
        return list(self.v)


# ------------------------------------------------------------------- set-up
def _make_params(shapes, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for shape in shapes:
        fan_in = shape[-1] if len(shape) > 1 else shape[0]
        # non-zero entries everywhere (biases too), so every multiplicative rule can move them
        out.append((torch.randn(shape, generator=gen) / math.sqrt(fan_in)).requires_grad_())
    return out


def _build(shapes, seed: int) -> tuple[dict[str, object], dict[str, list[torch.Tensor]]]:
    base = _make_params(shapes, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    grads = [torch.randn(p.shape, generator=gen) * 1e-3 for p in base]

    def copy() -> list[torch.Tensor]:
        ps = [p.detach().clone().requires_grad_() for p in base]
        for p, g in zip(ps, grads, strict=True):
            p.grad = g  # shared, read-only for every optimizer here
        return ps

    factories: dict[str, Callable[[list[torch.Tensor]], object]] = {
        "Adam": lambda ps: torch.optim.Adam(ps, lr=LR, foreach=True),
        "SGD": lambda ps: torch.optim.SGD(ps, lr=LR),
        "SGD+mom": lambda ps: torch.optim.SGD(ps, lr=LR, momentum=0.9, foreach=True),
        "Madam": lambda ps: Madam(ps, lr=LR, beta=BETA, g_bound=G_BOUND, p_scale=P_SCALE),
        "Madam-eager": lambda ps: Madam(ps, lr=LR, beta=BETA, g_bound=G_BOUND, p_scale=P_SCALE,
                                        foreach=True, fused=False),
        "LogGrid": lambda ps: LogGridMadam(ps, lr=LR, levels=LEVELS, rounding="stochastic",
                                           beta=BETA, g_bound=G_BOUND, p_scale=P_SCALE,
                                           generator=torch.Generator().manual_seed(seed + 2)),
        "loop": lambda ps: LoopMadam(ps),
    }
    opts, params = {}, {}
    for name, make in factories.items():
        params[name] = copy()
        opts[name] = make(params[name])
    return opts, params


def _state_tensors(opt) -> list[torch.Tensor]:
    if isinstance(opt, LoopMadam):
        return opt.state_tensors()
    out = []
    for st in opt.state.values():
        out += [t for t in st.values() if isinstance(t, torch.Tensor) and t.dim() > 0]
    return out


def _bytes_per_weight(opts, params) -> dict[str, tuple[float, float]]:
    """``(resident, stored)`` bytes per weight: parameter + state tensors, and what a resume needs."""
    out = {}
    for name, opt in opts.items():
        n = sum(p.numel() for p in params[name])
        state = sum(t.numel() * t.element_size() for t in _state_tensors(opt))
        param = sum(p.numel() * p.element_size() for p in params[name])
        resident = (param + state) / n
        # LogGridMadam's parameter is sign * table[level]: the level (state) and one sign bit suffice
        stored = (state / n + 1 / 8) if name == "LogGrid" else resident
        out[name] = (resident, stored)
    return out


def _packed_layer(opt: LogGridMadam, p: torch.Tensor) -> tuple[int, int, float]:
    """Bytes of ``p``'s level matrix bit-packed as a Dale layer, float32 bytes, bits/synapse."""
    level, grid = opt.grid_of(p)
    pre_sign = np.where(np.arange(level.shape[1]) % 5 == 4, -1, 1)  # 4:1 excitatory:inhibitory
    packed = pack_layer(level, pre_sign, grid)
    return packed.nbytes, p.numel() * 4, 8 * packed.nbytes / p.numel()


# ------------------------------------------------------------------- timing
def _time_rounds(opts: dict[str, object], repeats: int, warmup: int) -> dict[str, list[float]]:
    names = list(opts)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            step = opts[name].step
            t0 = time.perf_counter()
            step()
            dt = time.perf_counter() - t0
            if r >= warmup:
                times[name].append(dt)
    return times


def _fmt_ms(s: float) -> str:
    return f"{1e3 * s:8.2f}"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds (default 40; 3 with --quick)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed rounds (default 3; 1 with --quick)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    ap.add_argument("--quick", action="store_true", help="small tensors, few repeats (smoke test)")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the figures here (default results/benchmarks/"
                                                 "optimizer_step.json; --quick: nowhere)")
    args = ap.parse_args(argv)
    load_before = load()
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 40)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    if repeats < 1 or warmup < 0:
        ap.error("--repeats must be >= 1 and --warmup >= 0")
    if args.threads is not None:
        if args.threads < 1:
            ap.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)

    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    opts, params = _build(shapes, args.seed)
    n = sum(p.numel() for p in params["Adam"])
    fused = fused_kernels()["fused"]
    print(f"optimizer step: {n:,} weights in {len(shapes)} tensors; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {warmup} warm-up + {repeats} timed rounds")
    print(f"Madam / LogGrid default path: {'fused C kernel' if fused else 'eager torch (fused unavailable)'}")

    times = _time_rounds(opts, repeats, warmup)
    med = {k: statistics.median(v) for k, v in times.items()}
    vs_adam = {k: med[k] / med["Adam"] for k in med}
    vs_loop = {k: med[k] / med["loop"] for k in med}
    bpw = _bytes_per_weight(opts, params)

    print()
    print(f"{'optimizer':<12} {'median ms':>9} {'min ms':>8} {'max ms':>8} {'x Adam':>7} {'x loop':>7} "
          f"{'B/weight resident':>17} {'stored':>6}")
    for k in opts:
        print(f"{k:<12} {_fmt_ms(med[k]):>9} {_fmt_ms(min(times[k]))} {_fmt_ms(max(times[k]))} "
              f"{vs_adam[k]:7.2f} {vs_loop[k]:7.2f} {bpw[k][0]:17.2f} {bpw[k][1]:6.2f}")

    biggest = max(params["LogGrid"], key=lambda p: p.numel() if p.dim() == 2 else 0)
    pk_bytes, f32_bytes, bits = _packed_layer(opts["LogGrid"], biggest)
    print()
    print(f"packed {LEVELS}-level Dale layer {tuple(biggest.shape)}: {pk_bytes:,} B vs float32 "
          f"{f32_bytes:,} B = {pk_bytes / f32_bytes:.3f}x ({bits:.2f} bits/synapse)")

    print()
    results = {}
    for name, max_adam, max_loop in TARGETS:
        for what, value, bound in ((f"{name} / Adam", vs_adam[name], max_adam),
                                   (f"{name} / loop", vs_loop[name], max_loop)):
            ok = value <= bound
            results[what] = ok
            print(f"{'PASS' if ok else 'MISS'}  {what} = {value:.2f}  (target <= {bound})")
    if args.quick:
        print("(--quick: small tensors, so these ratios say little about the targets)")

    figures = {
        "n_weights": n,
        "threads": torch.get_num_threads(),
        "fused": fused,
        "median_s": med,
        "vs_adam": vs_adam,
        "vs_loop": vs_loop,
        "bytes_per_weight": {k: v[0] for k, v in bpw.items()},
        "stored_bytes_per_weight": {k: v[1] for k, v in bpw.items()},
        "packed_vs_float32": pk_bytes / f32_bytes,
        "targets": results,
        "all_pass": all(results.values()),
    }
    record("optimizer_step", figures, load_before=load_before, quick=args.quick, out=args.json)
    return {**figures, "check": args.check}


if __name__ == "__main__":
    res = main(sys.argv[1:])
    sys.exit(1 if res["check"] and not res["all_pass"] else 0)
