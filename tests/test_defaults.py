"""One source for every default: each config default equals the default of the builder it configures."""

from __future__ import annotations

import inspect

import pytest

from neurosim import models
from neurosim.rules.registry import TORCH_RULES
from neurosim.runner.config import resolve
from neurosim.runner.schema import brian_rules, network_fields, rule_fields, task_fields

TORCH_KINDS = {"mlp": "digits", "rnn": "perceptual_decision_making", "snn": "digits"}


def _resolved(kind: str, rule: str, task: str | None = None) -> dict:
    raw = {"network": {"kind": kind}, "rule": {"name": rule}}
    if task:
        raw["task"] = {"name": task}
    return resolve(raw)


@pytest.mark.parametrize("kind", sorted(TORCH_KINDS))
def test_network_defaults_are_the_model_classes(kind: str) -> None:
    cfg = _resolved(kind, "adam", TORCH_KINDS[kind])["network"]
    cls = models.KINDS[kind]
    sig = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()}
    for key in network_fields(kind):
        want = models.BUILD_DEFAULTS.get(kind, {}).get(key, sig.get(key))
        assert cfg[key] == want, (kind, key, cfg[key], want)
    # the drifted RNN defaults, settled: the class's (see the DaleRNN docstring)
    if kind == "rnn":
        assert cfg["spectral_radius"] == 1.0 and cfg["n_rec"] == 100


@pytest.mark.parametrize("kind,fn", [("brian_song", "run_song"), ("brian_ei", "run_ei_network")])
def test_brian_network_defaults_are_the_run_functions(kind: str, fn: str) -> None:
    from neurosim.brian import ei, song

    run = getattr(song if kind == "brian_song" else ei, fn)
    sig = {k: p.default for k, p in inspect.signature(run).parameters.items()}
    cfg = _resolved(kind, "additive")["network"]
    for key in network_fields(kind):
        assert cfg[key] == sig[key], (kind, key)


@pytest.mark.parametrize("name", sorted(TORCH_RULES))
def test_torch_rule_defaults_are_the_optimizers(name: str) -> None:
    entry = TORCH_RULES[name]
    cfg = _resolved("mlp", name)["rule"]
    owner = entry.defaults_from or entry.cls
    sig = {**{k: p.default for k, p in inspect.signature(owner.__init__).parameters.items()},
           **{k: p.default for k, p in inspect.signature(entry.cls.__init__).parameters.items()
              if p.default is not inspect.Parameter.empty}}
    for key in entry.params:
        want = entry.own_defaults.get(key, sig[key])
        want = list(want) if isinstance(want, tuple) else want
        assert cfg[key] == want, (name, key, cfg[key], want)
    # the built optimizer holds the same values
    model = models.build("mlp", 4, 2, hidden=[3])
    opt = entry.build(model, cfg)
    for key in entry.params:
        got = opt.defaults[key]
        assert (list(got) if isinstance(got, tuple) else got) == cfg[key], (name, key)


@pytest.mark.parametrize("name", brian_rules())
def test_brian_rule_defaults_are_the_rules(name: str) -> None:
    from brian2 import second

    from neurosim.rules.stdp import make_rule

    cfg = _resolved("brian_song", name)["rule"]
    rule = make_rule(name)  # every parameter at the rule's own default
    for key in rule_fields(name):
        value = getattr(rule, key)
        if key in type(rule).TIMES:
            value = float(value / second)
        assert cfg[key] == value, (name, key, cfg[key], value)


@pytest.mark.parametrize("task", ["digits", "npz"])
def test_split_defaults_are_the_loaders(task: str) -> None:
    from neurosim.tasks import load_digits_split, load_npz_classification

    loader = load_digits_split if task == "digits" else load_npz_classification
    sig = {k: p.default for k, p in inspect.signature(loader).parameters.items()}
    for key, field in task_fields(task).items():
        if key != "path":
            assert field.default == sig[key], (task, key)


def test_analysis_defaults_are_the_analysis_modules() -> None:
    from neurosim.analysis.fits import FAMILIES
    from neurosim.analysis.reference import DEFAULT_REFERENCES

    cfg = _resolved("mlp", "adam")["analysis"]
    assert cfg["references"] == list(DEFAULT_REFERENCES)
    with pytest.raises(ValueError, match="must be one of " + ", ".join(FAMILIES)):
        resolve({"network": {"kind": "mlp"}, "rule": {"name": "adam"}, "analysis": {"families": ["nope"]}})
