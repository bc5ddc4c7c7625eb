"""The config schema: every key with its default, its check and what it means.

Defaults and bounds come from the builders themselves, so a config and the class it
builds cannot disagree:

* ``[network]``: the model classes' signatures and ``PARAMS`` (:func:`neurosim.models.defaults`),
  and those of :func:`neurosim.brian.song.run_song` / :func:`neurosim.brian.ei.run_ei_network`;
* ``[task]``: the split arguments of :mod:`neurosim.tasks.npz` (cognitive tasks take a
  ``params`` table, checked by the task class when the run is built);
* ``[rule]``: :data:`neurosim.rules.registry.TORCH_RULES` (each optimizer's signature and
  checks) and :func:`neurosim.rules.stdp.rule_defaults` for the Brian2 rules (whose own
  checks run when the config is resolved, times in seconds);
* ``[analysis]``: the families of :mod:`neurosim.analysis.fits` and the references of
  :mod:`neurosim.analysis.reference`.

Only what belongs to the runner (training length, checkpoints, the test size) is
defined here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from neurosim import validate as V

MISSING = object()
MAX_NAME = 100  # a run directory is <name>-<10 hex digits>; file systems allow 255 bytes
MAX_SEED = 2**63 - 1  # torch.manual_seed and numpy's SeedSequence take 64-bit seeds
MAX_THREADS = 1024


@dataclass(frozen=True)
class Field:
    """One config key: its default (:data:`MISSING` = required), its checker and what it means."""

    default: Any
    check: Callable[[str, Any], Any]
    doc: str = ""


def name_check(key: str, value: Any) -> str:
    """A run or sweep name: ASCII letters, digits, ``-``, ``_``, ``.``; at most :data:`MAX_NAME` characters."""
    value = V.string(key, value)
    if not value or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in value) or value[0] == ".":
        shown = V.fmt(value) if len(value) <= 40 else V.fmt(value[:40]) + "..."
        raise ValueError(f"{key}: must be a non-empty name of ASCII letters, digits, '-', '_' or '.' "
                         f"(not starting with '.'), got {shown}")
    if len(value) > MAX_NAME:
        raise ValueError(f"{key}: must be at most {MAX_NAME} characters, got {len(value)}")
    return value


def table(key: str, value: Any) -> dict[str, Any]:
    """A TOML table."""
    if not isinstance(value, dict):
        raise ValueError(f"{key}: must be a table, got {V.fmt(value)}")
    return dict(value)


def str_list(allowed: tuple[str, ...] | None = None) -> Callable[[str, Any], Any]:
    """A list of strings (each one of ``allowed`` if given), or ``None``."""
    def check(key: str, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValueError(f"{key}: must be a list of strings, got {V.fmt(value)}")
        for i, v in enumerate(value):
            (V.one_of(*allowed) if allowed else V.string)(f"{key}[{i}]", v)
        return list(value)

    return check


def _from(defaults: dict[str, Any], params: dict[str, V.Param], keys: tuple[str, ...] | None = None
          ) -> dict[str, Field]:
    """Fields from a builder's defaults and ``PARAMS`` (the keys a config may set)."""
    keys = tuple(params) if keys is None else keys
    return {k: Field(defaults[k], params[k].check, params[k].doc) for k in keys}


# ----------------------------------------------------------------------------- top level
TOP: dict[str, Field] = {
    "name": Field("run", name_check, "prefix of the run directory"),
    "description": Field("", V.string, "free text, copied into the report"),
    "seed": Field(0, V.integral(ge=0, le=MAX_SEED), "seed of every random generator"),
    "device": Field("cpu", V.one_of("cpu", "cuda", "auto"), "torch device; auto = cuda if available"),
    "threads": Field(1, V.integral(ge=0, le=MAX_THREADS),
                     "torch intra-op threads (0 = torch's default), or Brian2 standalone's OpenMP threads "
                     "(0 or 1 = no OpenMP); results are exactly reproducible for the same seed and thread count"),
}

TORCH_NETWORKS = ("mlp", "rnn", "snn", "srnn")
#: Network kinds that run in time on sequence tasks (cognitive tasks, neurogym, sequence files).
SEQUENCE_NETWORKS = ("rnn", "srnn")
BRIAN_NETWORKS = ("brian_song", "brian_ei")
NETWORKS = TORCH_NETWORKS + BRIAN_NETWORKS

CLASSIFICATION_TASKS = ("digits", "npz")
COGNITIVE_TASKS = ("perceptual_decision_making", "context_dependent_integration", "parametric_working_memory")
#: Tasks of the rate RNNs: generated trials, a sequence .npz, or a neurogym environment.
SEQUENCE_TASKS = (*COGNITIVE_TASKS, "npz", "neurogym")
TASKS = CLASSIFICATION_TASKS + COGNITIVE_TASKS + ("neurogym", "poisson")

SCHEDULERS = ("none", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR")

#: The model keys a config may set, per network kind (the rest are the classes' own defaults).
MODEL_KEYS = {"mlp": ("dale", "hidden", "inhibitory_fraction"),
              "rnn": ("dale", "n_rec", "inhibitory_fraction", "tau", "dt", "noise_std", "spectral_radius",
                      "feedforward_inhibition", "inhibitory_gain", "balance"),
              "snn": ("dale", "hidden", "inhibitory_fraction", "steps", "surrogate", "encoding", "max_rate"),
              "srnn": ("dale", "n_rec", "inhibitory_fraction", "dt", "tau_mem", "tau_syn", "tau_out",
                       "adaptive_fraction", "tau_adapt", "adapt_strength", "threshold", "max_rate", "surrogate",
                       "surrogate_scale", "rec_radius", "input_gain", "feedforward_inhibition")}

#: Keys added after runs were made without them: left out of a run's key (the hash in its
#: directory name) while they hold their default, so that those runs keep their directories.
LATE_KEYS: dict[str, tuple[str, ...]] = {
    "network": ("feedforward_inhibition", "inhibitory_gain", "balance"),
    "task": ("curriculum",),
    "train": ("clip_grad_norm",),
}


def network_fields(kind: str) -> dict[str, Field]:
    """The ``[network]`` keys of ``kind``, defaults and checks from the builder."""
    if kind in TORCH_NETWORKS:
        from neurosim import models

        return _from(models.defaults(kind), models.KINDS[kind].PARAMS, MODEL_KEYS[kind])
    if kind == "brian_song":
        from neurosim.brian import song

        return _from(V.signature_defaults(song.run_song), song.PARAMS)
    from neurosim.brian import ei

    return _from(V.signature_defaults(ei.run_ei_network), ei.PARAMS)


def _optional_int(key: str, value: Any) -> Any:
    return None if value is None else V.integer(key, value, ge=1)


def curriculum_check(key: str, value: Any) -> dict[str, Any]:
    """A curriculum table ``{epochs = N >= 1, params = {...}}`` (the params are checked by the task)."""
    value = table(key, value)
    unknown = sorted(set(value) - {"epochs", "params"})
    if unknown:
        raise ValueError(f"{key}.{unknown[0]}: unknown key; allowed: epochs, params")
    if "epochs" not in value:
        raise ValueError(f"{key}.epochs: required (the epochs trained on the easier task)")
    return {"epochs": V.integer(f"{key}.epochs", value["epochs"], ge=1),
            "params": table(f"{key}.params", value.get("params", {}))}


def task_fields(name: str, kind: str = "mlp") -> dict[str, Field]:
    """The ``[task]`` keys of task ``name`` for network ``kind`` (an ``npz`` holds sequences for ``rnn``)."""
    if name in COGNITIVE_TASKS:
        return {"params": Field({}, table, "task keyword arguments (checked by the task class)"),
                "curriculum": Field(None, V.optional(curriculum_check),
                                    "train first on an easier task: {epochs = N, params = {...}} trains the "
                                    "first N epochs on the task made with these params over task.params")}
    if name == "poisson":
        return {}
    if name == "neurogym":
        from neurosim.tasks.neurogym_task import NeurogymTask

        d = V.signature_defaults(NeurogymTask)
        return {"env": Field(d["env"], V.string, "a registered neurogym environment"),
                "params": Field({}, table, "the environment's keyword arguments (dt comes from network.dt)"),
                "seq_len": Field(d["seq_len"], _optional_int, "steps per batch (default: the longest of 500 "
                                                              "trials)"),
                "fixation_weight": Field(d["fixation_weight"], V.bounded(ge=0.0), "mask weight of steps without "
                                                                                  "a decision target")}
    from neurosim.tasks import npz, sequences
    from neurosim.tasks.digits import load_digits_split

    if name == "digits":
        loader: Callable[..., Any] = load_digits_split
    else:
        loader = sequences.load_npz_sequences if kind in SEQUENCE_NETWORKS else npz.load_npz_classification
    fields = _from(V.signature_defaults(loader), npz.SPLIT_PARAMS)
    if name == "npz":
        what = ("X (T, trials, inputs), y (T, trials) and an optional mask" if kind in SEQUENCE_NETWORKS
                else "X and y")
        fields = {"path": Field(MISSING, V.string, f"a .npz file with arrays {what} (runs are keyed by its "
                                                   "content, recorded as task.sha256)"), **fields}
    return fields


# ----------------------------------------------------------------------------- rules
def torch_rules() -> dict[str, Any]:
    """:data:`neurosim.rules.registry.TORCH_RULES` (imports torch)."""
    from neurosim.rules.registry import TORCH_RULES

    return TORCH_RULES


def brian_rules() -> tuple[str, ...]:
    """The Brian2 rules a network's plastic excitatory projection takes (not the inhibitory ``vogels``)."""
    from neurosim.rules.stdp import RULES

    return tuple(k for k in RULES if k != "vogels")

_BIAS_LR = Field(None, V.optional(V.bounded(gt=0.0)), "lr of the additive rule for biases (default: the rule's lr)")
_SHUFFLE = Field(False, V.flag, "control: permute each gradient across synapses before every step")
_BRIAN_DOCS = {"w_max": "largest weight (dimensionless, units of the conductance scale); none: the network's",
               "tau_plus": "potentiation trace time constant (s)", "tau_minus": "depression trace time constant (s)",
               "interval": "learning interval (s)", "lmbda": "learning rate (NEST's lambda)",
               "alpha": "depression / potentiation ratio"}


def _any_number(key: str, value: Any) -> Any:
    """A number or a string (a Brian2 rule checks its own parameters when the config is resolved)."""
    if value is None or isinstance(value, str):
        return value
    V.real(key, value)  # finite and a number; integers stay integers (levels, consolidation_bits)
    return value


def rule_fields(name: str) -> dict[str, Field]:
    """The ``[rule]`` keys of rule ``name``, defaults and checks from the rule."""
    if name in torch_rules():
        entry = torch_rules()[name]
        fields = _from(entry.defaults(), entry.params)
        if entry.bias_group:
            fields["bias_lr"] = _BIAS_LR
        if name == "loggrid_madam":
            fields["shuffle_gradient"] = _SHUFFLE
        return fields
    from neurosim.rules.stdp import rule_defaults

    return {k: Field(v, _any_number, _BRIAN_DOCS.get(k, "")) for k, v in rule_defaults(name).items()}


def check_brian_rule(rule: dict[str, Any]) -> Any:
    """Build the Brian2 rule of a resolved ``[rule]`` table (seconds become Brian2 times).

    Raises ``ValueError`` naming ``rule.<parameter>`` for a value the rule refuses.
    """
    from neurosim.rules.stdp import make_rule, with_units

    params = {k: v for k, v in rule.items() if k != "name" and v is not None}
    try:
        return make_rule(rule["name"], **with_units(rule["name"], params))
    except ValueError as exc:
        msg = str(exc).splitlines()[0]
        key, sep, rest = msg.partition(": ")
        raise ValueError(f"rule.{key}: {rest}" if sep and key in params else f"rule: {msg}") from None


# ----------------------------------------------------------------------------- the rest
SCHEDULE: dict[str, Field] = {
    "name": Field("none", V.one_of(*SCHEDULERS), "torch.optim.lr_scheduler class"),
    "params": Field({}, table, "its keyword arguments (stepped once per epoch)"),
}

_pos_int = V.integral(gt=0)
TRAIN_TORCH: dict[str, Field] = {
    "epochs": Field(40, _pos_int, "passes over the training set (rnn: blocks of batches)"),
    "batch_size": Field(32, _pos_int),
    "batches_per_epoch": Field(50, _pos_int, "rnn only: generated batches per epoch"),
    "checkpoint_every": Field(1, _pos_int, "epochs between checkpoints"),
    "snapshot_every": Field(10, _pos_int, "epochs between weight snapshots"),
    "eval_trials": Field(512, _pos_int, "rnn only: validation and test trials"),
    "trace_synapses": Field(512, V.integral(ge=0), "synapses per projection whose sizes are recorded at every "
                                                   "step (traces.npz, for size changes at any interval); 0: none"),
    "clip_grad_norm": Field(None, V.optional(V.bounded(gt=0.0)),
                            "before each step, scale the gradient of all parameters down to this global L2 "
                            "norm where it is larger (torch.nn.utils.clip_grad_norm_); none: no clipping"),
}
TRAIN_BRIAN: dict[str, Field] = {
    "duration": Field(100.0, V.bounded(gt=0.0), "biological time (s)"),
    "snapshot_interval": Field(10.0, V.bounded(gt=0.0), "biological time between snapshots (s)"),
    "trace_interval": Field(1.0, V.bounded(gt=0.0), "biological time between size-trace records (s)"),
    "trace_synapses": Field(512, V.integral(ge=0), "synapses per projection whose sizes are traced "
                                                   "(traces.npz, for size changes at any interval); 0: none"),
}


def analysis_fields() -> dict[str, Field]:
    """The ``[analysis]`` keys: families and references from :mod:`neurosim.analysis`."""
    from neurosim.analysis.fits import FAMILIES
    from neurosim.analysis.reference import DEFAULT_REFERENCES

    return {
        "fit": Field(True, V.flag, "fit size distributions and compare with references"),
        "figures": Field(True, V.flag, "draw the figures (PNG and SVG)"),
        "families": Field(None, str_list(FAMILIES), "families to fit (default: all)"),
        "projections": Field(None, str_list(), "projections to analyse (default: all)"),
        "pool": Field(False, V.flag, "analyse the projections (and a layer's E and I inputs) together, "
                      "labelled pooled; default: each apart"),
        "references": Field(list(DEFAULT_REFERENCES), str_list(),
                            "reference data sets (keys of neurosim.analysis.reference)"),
    }


QUICK_TORCH = {"train": {"epochs": 2, "batches_per_epoch": 10, "snapshot_every": 1, "eval_trials": 128},
               "analysis": {"figures": False}}
QUICK_BRIAN = {"train": {"duration": 2.0, "snapshot_interval": 1.0},
               "network": {"n_e": 160, "n_i": 40}, "analysis": {"figures": False}}

SECTIONS = ("network", "task", "rule", "schedule", "train", "analysis", "quick")

#: Arguments of each scheduler that torch accepts but that break a run, with what is allowed.
SCHEDULER_ARGS: dict[str, dict[str, Callable[[str, Any], Any]]] = {
    "StepLR": {"step_size": V.integral(ge=1), "gamma": V.bounded(gt=0)},
    "MultiStepLR": {"gamma": V.bounded(gt=0)},
    "ExponentialLR": {"gamma": V.bounded(gt=0)},
    "CosineAnnealingLR": {"T_max": V.integral(ge=1), "eta_min": V.bounded(ge=0)},
    "LinearLR": {"start_factor": V.bounded(gt=0, le=1), "end_factor": V.bounded(ge=0, le=1),
                 "total_iters": V.integral(ge=1)},
}
