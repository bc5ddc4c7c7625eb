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
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neurosim import validate as V
from neurosim.runner import schema as S
from neurosim.runner.schema import (
    BRIAN_NETWORKS,
    CLASSIFICATION_TASKS,
    COGNITIVE_TASKS,
    NETWORKS,
    SECTIONS,
    TASKS,
)

__all__ = ["BRIAN_NETWORKS", "CLASSIFICATION_TASKS", "COGNITIVE_TASKS", "ConfigError", "apply_overrides", "checked",
           "config_hash", "file_sha256", "load", "read_toml", "resolve", "run_dirname", "to_toml"]


class ConfigError(ValueError):
    """A config problem, printed as one line: ``<key>: <what is wrong and what is allowed>``."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)

    @classmethod
    def of(cls, key: str, exc: ValueError) -> ConfigError:
        """From a check's ``ValueError`` (already ``"<key>: ..."``), keeping its one line."""
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        prefix = f"{key}: "
        return cls(key, msg[len(prefix):] if msg.startswith(prefix) else msg)


def checked(key: str, check: Any, value: Any) -> Any:
    """``check(key, value)``, its ``ValueError`` raised as a :class:`ConfigError` (one line naming ``key``)."""
    try:
        return check(key, value)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError.of(key, exc) from None


# ----------------------------------------------------------------------------- resolution
def _unknown(key: str, name: str, allowed: Mapping[str, Any] | tuple[str, ...]) -> ConfigError:
    import difflib

    names = list(allowed)
    hint = difflib.get_close_matches(name, names, n=1)
    did = f"did you mean {V.fmt(hint[0])}? " if hint else ""
    listed = ", ".join(names) if names else "none"
    return ConfigError(key, f"unknown key; {did}(allowed: {listed})")


def _fill(prefix: str, given: Mapping[str, Any], fields: Mapping[str, S.Field],
          skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in given:
        if k not in fields and k not in skip:
            raise _unknown(f"{prefix}.{k}" if prefix else k, k, tuple(fields) + skip)
    for k, f in fields.items():
        key = f"{prefix}.{k}" if prefix else k
        if k in given:
            out[k] = checked(key, f.check, given[k])
        elif f.default is S.MISSING:
            raise ConfigError(key, f"is required ({f.doc})" if f.doc else "is required")
        else:
            out[k] = copy.deepcopy(f.default)
    return out


def _section(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    return checked(name, S.table, raw.get(name, {}))


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _shrunk(raw: Mapping[str, Any], kind: str, quick_over: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` at the test size: the built-in shrink for ``kind``, then the config's own ``[quick]``."""
    shrink = S.QUICK_BRIAN if kind in BRIAN_NETWORKS else S.QUICK_TORCH
    network_raw = _section(raw, "network")
    allowed_net = S.network_fields(kind)
    shrink = {s: {k: (min(v, network_raw.get(k, v)) if s == "network" else v)
                  for k, v in t.items() if s != "network" or k in allowed_net}
              for s, t in shrink.items()}
    return _merge(_merge(dict(raw), shrink), quick_over)


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
        if k not in S.TOP and k not in SECTIONS:
            raise _unknown(k, k, tuple(S.TOP) + SECTIONS)
    quick_over = _section(raw, "quick")
    for k in quick_over:
        if k not in SECTIONS[:-1]:
            raise _unknown(f"quick.{k}", k, SECTIONS[:-1])
        checked(f"quick.{k}", S.table, quick_over[k])

    kind = _section(raw, "network").get("kind", S.MISSING)
    if kind is S.MISSING:
        raise ConfigError("network.kind", f"is required (one of {', '.join(NETWORKS)})")
    kind = checked("network.kind", V.one_of(*NETWORKS), kind)
    brian = kind in BRIAN_NETWORKS
    if quick:
        raw = _shrunk(raw, kind, quick_over)

    out: dict[str, Any] = _fill("", {k: raw[k] for k in S.TOP if k in raw}, S.TOP)
    out["network"] = {"kind": kind, **_fill("network", _section(raw, "network"), S.network_fields(kind),
                                            skip=("kind",))}
    out["task"] = _resolve_task(_section(raw, "task"), kind, out["network"])
    out["rule"] = _resolve_rule(_section(raw, "rule"), kind, out["network"])
    out["schedule"] = _fill("schedule", _section(raw, "schedule"), S.SCHEDULE)
    if brian and out["schedule"]["name"] != "none":
        raise ConfigError("schedule.name", f"network {kind} has no optimizer to schedule: must be \"none\"")
    out["train"] = _fill("train", _section(raw, "train"), S.TRAIN_BRIAN if brian else S.TRAIN_TORCH)
    if out["schedule"]["name"] != "none":
        _check_scheduler(out["schedule"], out["train"]["epochs"])
    curriculum = out["task"].get("curriculum")
    if curriculum and curriculum["epochs"] >= out["train"]["epochs"]:
        raise ConfigError("task.curriculum.epochs", f"must be < train.epochs ({out['train']['epochs']}), so that "
                                                    f"the task itself is trained, got {curriculum['epochs']}")
    if brian and out["train"]["snapshot_interval"] > out["train"]["duration"]:
        raise ConfigError("train.snapshot_interval", f"must be <= train.duration "
                                                     f"({out['train']['duration']:g} s)")
    out["analysis"] = _fill("analysis", _section(raw, "analysis"), S.analysis_fields())
    out["quick"] = bool(quick)
    return out


def _resolve_task(task_raw: dict[str, Any], kind: str, network: dict[str, Any]) -> dict[str, Any]:
    brian = kind in BRIAN_NETWORKS
    task_name = checked("task.name", V.one_of(*TASKS), task_raw.get("name", "poisson" if brian else "digits"))
    if brian and task_name != "poisson":
        raise ConfigError("task.name", f"network {kind} is driven by Poisson input: task.name must be "
                                       f"\"poisson\", got {V.fmt(task_name)}")
    if not brian and task_name == "poisson":
        raise ConfigError("task.name", f"network {kind} needs a task: one of "
                                       f"{', '.join(CLASSIFICATION_TASKS + COGNITIVE_TASKS)}")
    if kind == "brian_song" and network["pair_start"] == "identical" and not network["duplicate"]:
        raise ConfigError("network.pair_start", "\"identical\" needs network.duplicate = true (two synapses "
                                                "per input)")
    if kind in S.SEQUENCE_NETWORKS and task_name not in S.SEQUENCE_TASKS:
        raise ConfigError("task.name", f"network {kind} needs a task in time: one of "
                                       f"{', '.join(S.SEQUENCE_TASKS)}, got {V.fmt(task_name)}")
    if kind in ("mlp", "snn") and task_name not in CLASSIFICATION_TASKS:
        raise ConfigError("task.name", f"network {kind} needs a classification task: one of "
                                       f"{', '.join(CLASSIFICATION_TASKS)}, got {V.fmt(task_name)}")
    if task_name == "neurogym":
        from neurosim.tasks.neurogym_task import EXTRA_HINT

        try:
            import neurogym  # noqa: F401
        except ImportError:
            raise ConfigError("task.name", f'"neurogym" {EXTRA_HINT}') from None
    task = {"name": task_name, **_fill("task", task_raw, S.task_fields(task_name, kind), skip=("name",))}
    if task_name == "npz":
        task["sha256"] = file_sha256(task["path"], "task.path")
    return task


def _resolve_rule(rule_raw: dict[str, Any], kind: str, network: dict[str, Any]) -> dict[str, Any]:
    brian = kind in BRIAN_NETWORKS
    torch_rules, brian_rules = tuple(S.torch_rules()), S.brian_rules()
    names = torch_rules + brian_rules
    if "name" not in rule_raw:
        raise ConfigError("rule.name", f"is required (one of {', '.join(names)})")
    rule_name = checked("rule.name", V.one_of(*names), rule_raw["name"])
    if brian and rule_name not in brian_rules:
        raise ConfigError("rule.name", f"network {kind} takes a Brian2 rule ({', '.join(brian_rules)}), "
                                       f"got {V.fmt(rule_name)}")
    if not brian and rule_name not in torch_rules:
        raise ConfigError("rule.name", f"network {kind} takes a torch rule ({', '.join(torch_rules)}), "
                                       f"got {V.fmt(rule_name)}")
    if not brian and S.torch_rules()[rule_name].dale_only and not network["dale"]:
        raise ConfigError("rule.name", f"{rule_name} clips sizes of Dale layers: it needs network.dale "
                                       f"= true (use adam or sgd for the ANN)")
    rule = {"name": rule_name, **_fill("rule", rule_raw, S.rule_fields(rule_name), skip=("name",))}
    if rule.get("step") is not None and "ratio" in rule_raw:
        raise ConfigError("rule.step", "give either rule.step or rule.ratio, not both")
    if rule.get("step") is not None:
        from neurosim.rules.spec import GridSpec

        checked("rule.step", lambda k, v: GridSpec.of(levels=rule["levels"], step=v), rule["step"])
    if brian:
        checked("rule", lambda k, v: S.check_brian_rule(v), rule)
    return rule


def _check_scheduler(schedule: dict[str, Any], epochs: int) -> None:
    """Check a scheduler before the run: its arguments, then its learning rate over every epoch.

    The scheduler is built on a throwaway optimizer (lr 1) and stepped once per epoch
    of the run; an lr that turns negative or non-finite, or a step that fails (e.g.
    ``CosineAnnealingLR`` with ``T_max = 0`` divides by zero), is a :class:`ConfigError`.
    """
    import warnings

    import torch

    name, params = schedule["name"], schedule["params"]
    for k, check in S.SCHEDULER_ARGS.get(name, {}).items():
        if k in params:
            checked(f"schedule.params.{k}", check, params[k])
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
    config = _without_late_defaults(config)
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def _without_late_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` without the :data:`~neurosim.runner.schema.LATE_KEYS` that hold their default."""
    out = dict(config)
    kind = config.get("network", {}).get("kind") if isinstance(config.get("network"), Mapping) else None
    for section, keys in S.LATE_KEYS.items():
        values = config.get(section)
        if not isinstance(values, Mapping) or not any(k in values for k in keys):
            continue
        if section == "network":
            fields = S.network_fields(kind)
        elif section == "task":
            fields = S.task_fields(values.get("name", ""), kind or "mlp")
        else:
            fields = S.TRAIN_TORCH
        out[section] = {k: v for k, v in values.items()
                        if not (k in keys and k in fields and v == fields[k].default)}
    return out


def run_dirname(config: Mapping[str, Any]) -> str:
    """``<name>-<hash>``: the run directory's name."""
    return f"{config['name']}-{config_hash(config)}"


def to_toml(config: Mapping[str, Any]) -> str:
    """Render a resolved config as TOML (the ``config.toml`` written into each run), with ``tomli-w``.

    TOML has no null: a key whose value is ``None`` (at any depth) is left out,
    which reads back as the same config because ``None`` is then the key's
    default. ``None`` inside a list cannot be left out and raises
    :class:`ConfigError` naming the key.
    """
    import tomli_w

    return tomli_w.dumps(_without_none(config, ""))


def _without_none(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_none(v, f"{key}.{k}" if key else str(k)) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        if any(v is None for v in value):
            raise ConfigError(key, "a list holding None cannot be written as TOML (TOML has no null)")
        return [_without_none(v, key) for v in value]
    return value
