"""Run configs: one TOML file describes one run; validated before anything runs.

A config has a few top-level keys and one table per concern::

    name = "digits-loggrid"     # run directory prefix
    seed = 0
    device = "cpu"              # "cpu" | "cuda" | "auto"
    threads = 1                 # torch intra-op threads (0: torch's default)

    [network]                   # kind: mlp | rnn | snn | brian_song | brian_ei
    kind = "mlp"
    dale = true
    hidden = [128]

    [task]                      # digits | npz | perceptual_decision_making | ...
    name = "digits"

    [rule]                      # torch optimizers or Brian2 plasticity rules
    name = "loggrid_madam"
    lr = 0.01

    [schedule]                  # a torch.optim.lr_scheduler by name
    name = "none"

    [train]                     # epochs, batch size, checkpoint and snapshot intervals
    epochs = 40

    [analysis]                  # fits and the comparison with reference data
    fit = true

    [quick]                     # overrides applied by --quick, e.g. train = {epochs = 2}

:func:`resolve` fills in every default, checks every key, type and range, and
raises :class:`ConfigError` whose message is one line such as
``rule.lr: must be > 0, got -1``. :func:`config_hash` names the run directory.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A config problem, printed as one line: ``<key>: <what is wrong and what is allowed>``."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


# ----------------------------------------------------------------------------- field checks
_MISSING = object()


@dataclass(frozen=True)
class Field:
    """One config key: its default (``_MISSING`` = required) and a checker."""

    default: Any
    check: Callable[[str, Any], Any]
    doc: str = ""


def _fmt(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _number(gt: float | None = None, ge: float | None = None, lt: float | None = None,
            le: float | None = None, integer: bool = False) -> Callable[[str, Any], Any]:
    def check(key: str, value: Any) -> Any:
        kind = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"must be {kind}, got {_fmt(value)}")
        if integer and not isinstance(value, int):
            if float(value).is_integer():
                value = int(value)
            else:
                raise ConfigError(key, f"must be an integer, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(key, f"must be finite, got {value!r}")
        for bound, ok, word in ((gt, lambda v, b: v > b, ">"), (ge, lambda v, b: v >= b, ">="),
                                (lt, lambda v, b: v < b, "<"), (le, lambda v, b: v <= b, "<=")):
            if bound is not None and not ok(value, bound):
                shown = f"{bound}" if isinstance(bound, int) else f"{bound:g}"
                raise ConfigError(key, f"must be {word} {shown}, got {value!r}")
        return value if integer else float(value)

    return check


def _optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def wrapped(key: str, value: Any) -> Any:
        if value is None or value == "none":
            return None
        return check(key, value)

    return wrapped


def _choice(*allowed: str) -> Callable[[str, Any], Any]:
    def check(key: str, value: Any) -> Any:
        if value not in allowed:
            hint = difflib.get_close_matches(str(value), allowed, n=1)
            did = f"; did you mean {_fmt(hint[0])}?" if hint else ""
            raise ConfigError(key, f"must be one of {', '.join(allowed)}, got {_fmt(value)}{did}")
        return value

    return check


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {_fmt(value)}")
    return value


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, got {_fmt(value)}")
    return value


MAX_NAME = 100  # a run directory is <name>-<10 hex digits>; file systems allow 255 bytes


def _name(key: str, value: Any) -> str:
    value = _string(key, value)
    if not value or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in value) or value[0] == ".":
        shown = _fmt(value) if len(value) <= 40 else _fmt(value[:40]) + "..."
        raise ConfigError(key, f"must be a non-empty name of ASCII letters, digits, '-', '_' or '.' "
                               f"(not starting with '.'), got {shown}")
    if len(value) > MAX_NAME:
        raise ConfigError(key, f"must be at most {MAX_NAME} characters, got {len(value)}")
    return value


def _int_list(key: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, f"must be a non-empty list of positive integers, got {_fmt(value)}")
    out = []
    for i, v in enumerate(value):
        out.append(_number(gt=0, integer=True)(f"{key}[{i}]", v))
    return out


def _str_list(allowed: tuple[str, ...] | None = None) -> Callable[[str, Any], Any]:
    def check(key: str, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            raise ConfigError(key, f"must be a list of strings, got {_fmt(value)}")
        for i, v in enumerate(value):
            (_choice(*allowed) if allowed else _string)(f"{key}[{i}]", v)
        return list(value)

    return check


def _table(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a table, got {_fmt(value)}")
    return dict(value)


# ----------------------------------------------------------------------------- the schema
TORCH_NETWORKS = ("mlp", "rnn", "snn")
BRIAN_NETWORKS = ("brian_song", "brian_ei")
NETWORKS = TORCH_NETWORKS + BRIAN_NETWORKS

CLASSIFICATION_TASKS = ("digits", "npz")
COGNITIVE_TASKS = ("perceptual_decision_making", "context_dependent_integration",
                   "parametric_working_memory")
TASKS = CLASSIFICATION_TASKS + COGNITIVE_TASKS + ("poisson",)

TORCH_RULES = ("adam", "sgd", "madam", "loggrid_madam", "dale_adam", "dale_sgd", "quantized_sgd")
DALE_ONLY_RULES = ("dale_adam", "dale_sgd", "quantized_sgd")
BRIAN_RULES = ("additive", "gutig", "madam_loggrid")
RULES = TORCH_RULES + BRIAN_RULES

SCHEDULERS = ("none", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR")

_pos = _number(gt=0)
_pos_int = _number(gt=0, integer=True)
_fraction = _number(ge=0, lt=1)

MAX_SEED = 2**63 - 1  # torch.manual_seed and numpy's SeedSequence take 64-bit seeds
MAX_THREADS = 1024
MAX_RATIO = 1e30  # beyond it the smallest size of a grid scaled to ~1 underflows float32

TOP: dict[str, Field] = {
    "name": Field("run", _name, "prefix of the run directory"),
    "description": Field("", _string, "free text, copied into the report"),
    "seed": Field(0, _number(ge=0, le=MAX_SEED, integer=True), "seed of every random generator"),
    "device": Field("cpu", _choice("cpu", "cuda", "auto"), "torch device; auto = cuda if available"),
    "threads": Field(1, _number(ge=0, le=MAX_THREADS, integer=True),
                     "torch intra-op threads (0 = torch's default); results are exactly "
                     "reproducible for the same seed and thread count"),
}

NETWORK: dict[str, dict[str, Field]] = {
    "mlp": {
        "dale": Field(True, _bool, "sign-constrained (Dale) layers; false = the matched ANN"),
        "hidden": Field([128], _int_list, "hidden layer sizes"),
        "inhibitory_fraction": Field(0.2, _fraction, "fraction of inhibitory hidden units"),
    },
    "rnn": {
        "dale": Field(True, _bool, "sign-constrained (Dale) layers; false = the matched ANN"),
        "n_rec": Field(100, _pos_int, "recurrent units"),
        "inhibitory_fraction": Field(0.2, _fraction, "fraction of inhibitory units"),
        "tau": Field(0.1, _pos, "membrane time constant (s)"),
        "dt": Field(0.02, _pos, "Euler time step (s)"),
        "noise_std": Field(0.1, _number(ge=0), "recurrent noise standard deviation"),
        "spectral_radius": Field(1.5, _pos, "spectral radius of the initial recurrent matrix"),
    },
    "snn": {
        "dale": Field(True, _bool, "sign-constrained (Dale) layers; false = the matched ANN"),
        "hidden": Field([128], _int_list, "hidden layer sizes"),
        "inhibitory_fraction": Field(0.2, _fraction, "fraction of inhibitory hidden units"),
        "steps": Field(25, _pos_int, "time steps per sample"),
        "surrogate": Field("triangle", _choice("triangle", "fast_sigmoid", "arctan"),
                           "surrogate derivative of the spike"),
    },
    "brian_song": {
        "n_inputs": Field(1000, _pos_int, "Poisson inputs onto the one neuron"),
        "duplicate": Field(False, _bool, "two synapses per input (for pair precision)"),
        "pair_start": Field("independent", _choice("independent", "identical"),
                            "initial sizes of a pair (with duplicate = true)"),
        "inputs": Field("poisson", _choice("poisson", "pregenerated"),
                        "PoissonGroup, or the same statistics drawn in advance (faster in standalone)"),
        "mode": Field("runtime", _choice("runtime", "standalone"), "Brian2 device"),
    },
    "brian_ei": {
        "n_e": Field(800, _pos_int, "excitatory neurons"),
        "n_i": Field(200, _pos_int, "inhibitory neurons"),
        "mode": Field("runtime", _choice("runtime", "standalone"), "Brian2 device"),
    },
}

TASK: dict[str, dict[str, Field]] = {
    "digits": {"val_fraction": Field(0.15, _fraction), "test_fraction": Field(0.15, _fraction)},
    "npz": {"path": Field(_MISSING, _string, "a .npz file with arrays X and y (runs are keyed by its "
                                             "content, recorded as task.sha256)"),
            "val_fraction": Field(0.15, _fraction), "test_fraction": Field(0.15, _fraction)},
    "perceptual_decision_making": {"params": Field({}, _table, "task keyword arguments")},
    "context_dependent_integration": {"params": Field({}, _table, "task keyword arguments")},
    "parametric_working_memory": {"params": Field({}, _table, "task keyword arguments")},
    "poisson": {},
}

_madam_keys = {
    "beta": Field(0.999, _number(ge=0, lt=1), "decay of the gradient's second moment"),
    "g_bound": Field(10.0, _pos, "clip of the normalised gradient"),
    "p_scale": Field(3.0, _pos, "w_max = p_scale * rms(initial weights)"),
}
_grid_keys = {
    "levels": Field(26, _number(ge=2, le=32767, integer=True), "levels of the grid"),
    "ratio": Field(60.0, _number(gt=1, le=MAX_RATIO), "largest / smallest size"),
    "step": Field(None, _optional(_pos), "natural-log step per level (instead of ratio)"),
    "rounding": Field("stochastic", _choice("stochastic", "nearest"), "rounding of level steps"),
    "init": Field("encode", _choice("encode", "uniform"), "start from the weights or random levels"),
}
_bias = {"bias_lr": Field(None, _optional(_pos), "lr of the additive rule for biases "
                                                  "(default: the rule's lr; Madam: 0.01)")}

_stdp_keys = {
    "w_max": Field(None, _optional(_pos), "largest weight (dimensionless, units of g_max)"),
    "lmbda": Field(None, _optional(_pos), "learning rate (NEST's lambda)"),
    "alpha": Field(None, _optional(_pos), "depression / potentiation ratio"),
    "tau_plus": Field(None, _optional(_pos), "potentiation trace time constant (s)"),
    "tau_minus": Field(None, _optional(_pos), "depression trace time constant (s)"),
}

RULE: dict[str, dict[str, Field]] = {
    "adam": {"lr": Field(1e-3, _pos), "betas": Field([0.9, 0.999], lambda k, v: _betas(k, v))},
    "sgd": {"lr": Field(0.1, _pos), "momentum": Field(0.0, _number(ge=0, lt=1))},
    "madam": {"lr": Field(0.01, _pos), **_madam_keys, **_bias},
    "loggrid_madam": {"lr": Field(0.01, _pos), **_grid_keys, **_madam_keys, **_bias,
                      "shuffle_gradient": Field(False, _bool, "control: permute each gradient "
                                                "across synapses before every step")},
    "dale_adam": {"lr": Field(1e-3, _pos), "betas": Field([0.9, 0.999], lambda k, v: _betas(k, v))},
    "dale_sgd": {"lr": Field(0.1, _pos), "momentum": Field(0.0, _number(ge=0, lt=1))},
    "quantized_sgd": {"lr": Field(0.1, _pos), "levels": _grid_keys["levels"],
                      "p_scale": _madam_keys["p_scale"], "rounding": _grid_keys["rounding"], **_bias},
    # Brian2 plasticity rules (neurosim.rules.stdp); times in seconds, w_max dimensionless
    # (in units of the synaptic conductance scale); unset keys take the rule's defaults
    "additive": {**_stdp_keys},
    "gutig": {**_stdp_keys, "mu_plus": Field(None, _optional(_number(ge=0, le=1)), "weight dependence of LTP"),
              "mu_minus": Field(None, _optional(_number(ge=0, le=1)), "weight dependence of LTD")},
    "madam_loggrid": {**_stdp_keys, "lr": Field(0.01, _pos), "levels": _grid_keys["levels"],
                      "ratio": _grid_keys["ratio"], "rounding": _grid_keys["rounding"],
                      "interval": Field(None, _optional(_pos), "learning interval (s)"),
                      "beta": _madam_keys["beta"], "g_bound": _madam_keys["g_bound"]},
}

SCHEDULE: dict[str, Field] = {
    "name": Field("none", _choice(*SCHEDULERS), "torch.optim.lr_scheduler class"),
    "params": Field({}, _table, "its keyword arguments (stepped once per epoch)"),
}

TRAIN_TORCH: dict[str, Field] = {
    "epochs": Field(40, _pos_int, "passes over the training set (rnn: blocks of batches)"),
    "batch_size": Field(32, _pos_int),
    "batches_per_epoch": Field(50, _pos_int, "rnn only: generated batches per epoch"),
    "checkpoint_every": Field(1, _pos_int, "epochs between checkpoints"),
    "snapshot_every": Field(10, _pos_int, "epochs between weight snapshots"),
    "eval_trials": Field(512, _pos_int, "rnn only: validation and test trials"),
}
TRAIN_BRIAN: dict[str, Field] = {
    "duration": Field(100.0, _pos, "biological time (s)"),
    "snapshot_interval": Field(10.0, _pos, "biological time between snapshots (s)"),
}

FAMILIES = ("lognorm", "norm", "gamma", "weibull_min", "expon", "loguniform", "lognorm_mix2")
ANALYSIS: dict[str, Field] = {
    "fit": Field(True, _bool, "fit size distributions and compare with references"),
    "figures": Field(True, _bool, "draw the figures (PNG and SVG)"),
    "families": Field(None, _str_list(FAMILIES), "families to fit (default: all)"),
    "projections": Field(None, _str_list(), "projections to pool (default: all)"),
    "references": Field(["bartol2015", "song2005", "dorkenwald2022", "samavat2024", "loewenstein2011"],
                        _str_list(), "reference data sets (keys of neurosim.analysis.reference)"),
}

QUICK_TORCH = {"train": {"epochs": 2, "batches_per_epoch": 10, "snapshot_every": 1, "eval_trials": 128},
               "analysis": {"figures": False}}
QUICK_BRIAN = {"train": {"duration": 2.0, "snapshot_interval": 1.0},
               "network": {"n_e": 160, "n_i": 40}, "analysis": {"figures": False}}

SECTIONS = ("network", "task", "rule", "schedule", "train", "analysis", "quick")


def _betas(key: str, value: Any) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(key, f"must be a list of two numbers in [0, 1), got {_fmt(value)}")
    return [_number(ge=0, lt=1)(f"{key}[{i}]", v) for i, v in enumerate(value)]


# ----------------------------------------------------------------------------- resolution
def _unknown(key: str, name: str, allowed: Mapping[str, Any] | tuple[str, ...]) -> ConfigError:
    names = list(allowed)
    hint = difflib.get_close_matches(name, names, n=1)
    did = f"did you mean {_fmt(hint[0])}? " if hint else ""
    listed = ", ".join(names) if names else "none"
    return ConfigError(key, f"unknown key; {did}(allowed: {listed})")


def _fill(prefix: str, given: Mapping[str, Any], fields: Mapping[str, Field],
          skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in given:
        if k not in fields and k not in skip:
            raise _unknown(f"{prefix}.{k}" if prefix else k, k, tuple(fields) + skip)
    for k, f in fields.items():
        key = f"{prefix}.{k}" if prefix else k
        if k in given:
            out[k] = f.check(key, given[k])
        elif f.default is _MISSING:
            raise ConfigError(key, f"is required ({f.doc})" if f.doc else "is required")
        else:
            out[k] = copy.deepcopy(f.default)
    return out


def _section(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    return _table(name, value)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def resolve(raw: Mapping[str, Any], *, quick: bool = False) -> dict[str, Any]:
    """Validate a config (as read from TOML) and fill in every default.

    Parameters
    ----------
    raw : mapping
        The parsed TOML.
    quick : bool
        Apply the test size: the built-in shrink for the network kind, then the
        config's own ``[quick]`` overrides.

    Returns
    -------
    dict
        The resolved config: every key present, plus ``quick``.

    Raises
    ------
    ConfigError
        On the first problem found, with a one-line message naming the key. With
        ``quick=True`` the config is first checked as written, so a value that the
        test size would override is still reported.
    """
    if quick:
        resolve(raw, quick=False)
    if not isinstance(raw, Mapping):
        raise ConfigError("", f"a config must be a table, got {type(raw).__name__}")
    for k in raw:
        if k not in TOP and k not in SECTIONS:
            raise _unknown(k, k, tuple(TOP) + SECTIONS)
    quick_over = _section(raw, "quick")
    for k in quick_over:
        if k not in SECTIONS[:-1]:
            raise _unknown(f"quick.{k}", k, SECTIONS[:-1])
        _table(f"quick.{k}", quick_over[k])

    network_raw = _section(raw, "network")
    kind = network_raw.get("kind", _MISSING)
    if kind is _MISSING:
        raise ConfigError("network.kind", f"is required (one of {', '.join(NETWORKS)})")
    kind = _choice(*NETWORKS)("network.kind", kind)
    brian = kind in BRIAN_NETWORKS
    if quick:
        shrink = QUICK_BRIAN if brian else QUICK_TORCH
        allowed_net = NETWORK[kind]
        shrink = {s: {k: (min(v, network_raw.get(k, v)) if s == "network" else v)
                      for k, v in t.items() if s != "network" or k in allowed_net}
                  for s, t in shrink.items()}
        raw = _merge(dict(raw), shrink)
        raw = _merge(raw, quick_over)
        network_raw = _section(raw, "network")

    out: dict[str, Any] = _fill("", {k: raw[k] for k in TOP if k in raw}, TOP)
    out["network"] = {"kind": kind, **_fill("network", network_raw, NETWORK[kind], skip=("kind",))}

    task_raw = _section(raw, "task")
    task_name = task_raw.get("name", "poisson" if brian else "digits")
    task_name = _choice(*TASKS)("task.name", task_name)
    if brian and task_name != "poisson":
        raise ConfigError("task.name", f"network {kind} is driven by Poisson input: task.name must be "
                                       f"\"poisson\", got {_fmt(task_name)}")
    if not brian and task_name == "poisson":
        raise ConfigError("task.name", f"network {kind} needs a task: one of "
                                       f"{', '.join(CLASSIFICATION_TASKS + COGNITIVE_TASKS)}")
    if kind == "brian_song" and out["network"]["pair_start"] == "identical" and not out["network"]["duplicate"]:
        raise ConfigError("network.pair_start", "\"identical\" needs network.duplicate = true (two synapses "
                                                "per input)")
    if kind == "rnn" and task_name not in COGNITIVE_TASKS:
        raise ConfigError("task.name", f"network rnn needs a cognitive task: one of "
                                       f"{', '.join(COGNITIVE_TASKS)}, got {_fmt(task_name)}")
    if kind in ("mlp", "snn") and task_name not in CLASSIFICATION_TASKS:
        raise ConfigError("task.name", f"network {kind} needs a classification task: one of "
                                       f"{', '.join(CLASSIFICATION_TASKS)}, got {_fmt(task_name)}")
    out["task"] = {"name": task_name, **_fill("task", task_raw, TASK[task_name], skip=("name",))}
    if task_name == "npz":
        out["task"]["sha256"] = file_sha256(out["task"]["path"], "task.path")

    rule_raw = _section(raw, "rule")
    if "name" not in rule_raw:
        raise ConfigError("rule.name", f"is required (one of {', '.join(RULES)})")
    rule_name = _choice(*RULES)("rule.name", rule_raw["name"])
    if brian and rule_name not in BRIAN_RULES:
        raise ConfigError("rule.name", f"network {kind} takes a Brian2 rule ({', '.join(BRIAN_RULES)}), "
                                       f"got {_fmt(rule_name)}")
    if not brian and rule_name not in TORCH_RULES:
        raise ConfigError("rule.name", f"network {kind} takes a torch rule ({', '.join(TORCH_RULES)}), "
                                       f"got {_fmt(rule_name)}")
    if rule_name in DALE_ONLY_RULES and not out["network"]["dale"]:
        raise ConfigError("rule.name", f"{rule_name} clips sizes of Dale layers: it needs network.dale "
                                       f"= true (use adam or sgd for the ANN)")
    rule = {"name": rule_name, **_fill("rule", rule_raw, RULE[rule_name], skip=("name",))}
    if rule.get("step") is not None and "ratio" in rule_raw:
        raise ConfigError("rule.step", "give either rule.step or rule.ratio, not both")
    out["rule"] = rule

    out["schedule"] = _fill("schedule", _section(raw, "schedule"), SCHEDULE)
    if brian and out["schedule"]["name"] != "none":
        raise ConfigError("schedule.name", f"network {kind} has no optimizer to schedule: must be \"none\"")
    out["train"] = _fill("train", _section(raw, "train"), TRAIN_BRIAN if brian else TRAIN_TORCH)
    if out["schedule"]["name"] != "none":
        _check_scheduler(out["schedule"], out["train"]["epochs"])
    if brian and out["train"]["snapshot_interval"] > out["train"]["duration"]:
        raise ConfigError("train.snapshot_interval", f"must be <= train.duration "
                                                     f"({out['train']['duration']:g} s)")
    out["analysis"] = _fill("analysis", _section(raw, "analysis"), ANALYSIS)
    out["quick"] = bool(quick)
    return out


#: Arguments of each scheduler that torch accepts but that break a run, with what is allowed.
_SCHEDULER_ARGS: dict[str, dict[str, Callable[[str, Any], Any]]] = {
    "StepLR": {"step_size": _number(ge=1, integer=True), "gamma": _number(gt=0)},
    "MultiStepLR": {"gamma": _number(gt=0)},
    "ExponentialLR": {"gamma": _number(gt=0)},
    "CosineAnnealingLR": {"T_max": _number(ge=1, integer=True), "eta_min": _number(ge=0)},
    "LinearLR": {"start_factor": _number(gt=0, le=1), "end_factor": _number(ge=0, le=1),
                 "total_iters": _number(ge=1, integer=True)},
}


def _check_scheduler(schedule: dict[str, Any], epochs: int) -> None:
    """Check a scheduler before the run: its arguments, then its learning rate over every epoch.

    The scheduler is built on a throwaway optimizer (lr 1) and stepped once per epoch
    of the run; an lr that turns negative or non-finite, or a step that fails (e.g.
    ``CosineAnnealingLR`` with ``T_max = 0`` divides by zero), is a :class:`ConfigError`.
    """
    import warnings

    import torch

    name, params = schedule["name"], schedule["params"]
    for k, check in _SCHEDULER_ARGS.get(name, {}).items():
        if k in params:
            check(f"schedule.params.{k}", params[k])
    cls = getattr(torch.optim.lr_scheduler, name)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = cls(opt, **params)
            for epoch in range(min(epochs, 100_000)):
                lr = opt.param_groups[0]["lr"]
                if not (math.isfinite(lr) and lr >= 0):
                    raise ConfigError("schedule.params", f"{name} gives a learning rate of {lr:g} x rule.lr "
                                                         f"at epoch {epoch}; it must stay finite and >= 0")
                opt.step()
                sched.step()
    except ConfigError:
        raise
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError("schedule.params", f"{name} rejects them: {msg}") from None


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path, key: str = "path") -> str:
    """SHA-256 (hex) of a file's content, cached by path, size and modification time.

    Runs are keyed by the content of every input file they read, so a changed file
    gives a new run and an unchanged file under another path the same one.
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise ConfigError(key, f"{path}: no such file") from None
    if not p.is_file():
        raise ConfigError(key, f"{path}: is not a file")
    cache_key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if cache_key not in _SHA_CACHE:
        h = hashlib.sha256()
        try:
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as exc:
            raise ConfigError(key, f"{path}: cannot be read ({exc.strerror})") from None
        _SHA_CACHE[cache_key] = h.hexdigest()
    return _SHA_CACHE[cache_key]


def load(path: str | Path, *, quick: bool = False, overrides: Mapping[str, Any] | None = None
         ) -> dict[str, Any]:
    """Read a TOML config, apply dotted ``overrides`` (``{"rule.lr": 0.1}``), and resolve it.

    The run name defaults to the file's stem. Raises :class:`ConfigError` (one line)
    for a missing file, bad TOML or any invalid value.
    """
    path = Path(path)
    raw = read_toml(path)
    raw.setdefault("name", path.stem)
    if overrides:
        raw = apply_overrides(raw, overrides)
    return resolve(raw, quick=quick)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file or a syntax error is a one-line :class:`ConfigError`."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("", f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError("", f"{path}: is a directory, expected a TOML file") from None
    except UnicodeDecodeError:
        raise ConfigError("", f"{path}: not a TOML file (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path}: invalid TOML: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise ConfigError("", f"{path}: cannot be read ({exc.strerror})") from None


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``raw`` with dotted keys (``"rule.lr"``) set; sections are created as needed."""
    out = copy.deepcopy(dict(raw))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = out
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ConfigError(dotted, f"{p} is not a table")
            node = nxt
        node[parts[-1]] = copy.deepcopy(value)
    return out


def config_hash(config: Mapping[str, Any]) -> str:
    """First 10 hex digits of the SHA-256 of the resolved config (canonical JSON).

    An input file is keyed by its content (``task.sha256``), not by its path.
    """
    task = config.get("task")
    if isinstance(task, Mapping) and "sha256" in task:
        config = {**config, "task": {k: v for k, v in task.items() if k != "path"}}
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def run_dirname(config: Mapping[str, Any]) -> str:
    """``<name>-<hash>``: the run directory's name."""
    return f"{config['name']}-{config_hash(config)}"


def to_toml(config: Mapping[str, Any]) -> str:
    """Render a resolved config as TOML (the ``config.toml`` written into each run)."""
    lines: list[str] = []
    tables = []
    for k, v in config.items():
        if isinstance(v, Mapping):
            tables.append((k, v))
        elif v is not None:
            lines.append(f"{k} = {_toml_value(v)}")
    for name, table in tables:
        lines.append("")
        lines.append(f"[{name}]")
        for k, v in table.items():
            if v is not None:
                lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")
