"""Config validation: every malformed config gives one line naming the key, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import mlp_toml

from neurosim.cli import main
from neurosim.runner.config import ConfigError, config_hash, load, resolve, to_toml

GOOD = mlp_toml("ok", epochs=1, fit=None)

# (description, TOML text, expected start of the error line after "error: ")
BAD: list[tuple[str, str, str]] = [
    ("negative lr", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nlr = -1'),
     "rule.lr: must be > 0, got -1"),
    ("zero lr", GOOD + "", None),  # placeholder replaced below
    ("typo in rule key", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nlrr = 0.1'),
     "rule.lrr: unknown key; did you mean \"lr\"?"),
    ("typo in top key", "sed = 1\n" + GOOD, "sed: unknown key; did you mean \"seed\"?"),
    ("typo in section", GOOD.replace("[train]", "[trian]"), "trian: unknown key; did you mean \"train\"?"),
    ("unknown network kind", GOOD.replace('kind = "mlp"', 'kind = "mpl"'),
     "network.kind: must be one of mlp, rnn, snn, srnn, brian_song, brian_ei, got \"mpl\"; did you mean \"mlp\"?"),
    ("missing network kind", GOOD.replace('kind = "mlp"', ""), "network.kind: is required"),
    ("missing rule name", GOOD.replace('name = "loggrid_madam"', ""), "rule.name: is required"),
    ("unknown rule", GOOD.replace('"loggrid_madam"', '"madman"'), "rule.name: must be one of"),
    ("hidden not a list", GOOD.replace("hidden = [16]", "hidden = 16"), "network.hidden: must be a non-empty"),
    ("hidden zero", GOOD.replace("hidden = [16]", "hidden = [16, 0]"), "network.hidden[1]: must be > 0"),
    ("hidden float", GOOD.replace("hidden = [16]", "hidden = [16.5]"), "network.hidden[0]: must be an integer"),
    ("dale not bool", GOOD.replace("hidden = [16]", "hidden = [16]\ndale = 1"), "network.dale: must be true or false"),
    ("fraction 1", GOOD.replace("hidden = [16]", "hidden = [16]\ninhibitory_fraction = 1.0"),
     "network.inhibitory_fraction: must be < 1"),
    ("epochs zero", GOOD.replace("epochs = 1", "epochs = 0"), "train.epochs: must be > 0, got 0"),
    ("epochs string", GOOD.replace("epochs = 1", 'epochs = "ten"'), "train.epochs: must be an integer"),
    ("batch size negative", GOOD.replace("epochs = 1", "epochs = 1\nbatch_size = -4"),
     "train.batch_size: must be > 0"),
    ("seed negative", "seed = -1\n" + GOOD, "seed: must be >= 0"),
    ("device unknown", 'device = "gpu"\n' + GOOD, "device: must be one of cpu, cuda, auto"),
    ("levels 1", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nlevels = 1'),
     "rule.levels: must be >= 2"),
    ("ratio below 1", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nratio = 0.5'),
     "rule.ratio: must be > 1"),
    ("rounding unknown", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nrounding = "up"'),
     "rule.rounding: must be one of stochastic, nearest"),
    ("step and ratio", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nstep = 0.1\nratio = 9.0'),
     "rule.step: give either rule.step or rule.ratio"),
    ("beta 1", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nbeta = 1.0'),
     "rule.beta: must be < 1"),
    ("adam key on madam", GOOD.replace('name = "loggrid_madam"', 'name = "madam"\nbetas = [0.9, 0.99]'),
     "rule.betas: unknown key"),
    ("dale rule on ANN", GOOD.replace('name = "loggrid_madam"', 'name = "dale_sgd"').replace(
        "hidden = [16]", "hidden = [16]\ndale = false"), "rule.name: dale_sgd clips sizes of Dale layers"),
    ("brian rule on mlp", GOOD.replace('"loggrid_madam"', '"additive"'), "rule.name: network mlp takes a torch rule"),
    ("torch rule on brian", GOOD.replace('kind = "mlp"\nhidden = [16]', 'kind = "brian_song"').replace(
        '[task]\nname = "digits"', ""), "rule.name: network brian_song takes a Brian2 rule"),
    ("rnn on digits", GOOD.replace('kind = "mlp"\nhidden = [16]', 'kind = "rnn"'),
     "task.name: network rnn needs a task in time"),
    ("mlp on cognitive task", GOOD.replace('"digits"', '"perceptual_decision_making"'),
     "task.name: network mlp needs a classification task"),
    ("npz without path", GOOD.replace('"digits"', '"npz"'), "task.path: is required"),
    ("npz missing file", GOOD.replace('name = "digits"', 'name = "npz"\npath = "/nonexistent/x.npz"'),
     "task.path:"),
    ("scheduler unknown", GOOD + '[schedule]\nname = "StepRL"\n', "schedule.name: must be one of"),
    ("scheduler bad params", GOOD + '[schedule]\nname = "StepLR"\nparams = {gamma = 0.5}\n',
     "schedule.params: StepLR rejects them"),
    ("unknown family", GOOD + '[analysis]\nfamilies = ["lognormal"]\n', "analysis.families[0]: must be one of"),
    ("section not a table", 'network = "mlp"\n', "network: must be a table"),
    ("quick unknown section", GOOD + "[quick]\nrules = {lr = 1}\n", "quick.rules: unknown key"),
    ("bad TOML", GOOD + "[rule\n", "invalid TOML"),
    ("infinite lr", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nlr = inf'),
     "rule.lr: must be finite"),
    ("momentum 1", GOOD.replace('name = "loggrid_madam"', 'name = "sgd"\nmomentum = 1.0'),
     "rule.momentum: must be < 1"),
    ("brian snapshot interval > duration",
     'name = "s"\n[network]\nkind = "brian_song"\n[rule]\nname = "additive"\n[train]\nduration = 1.0\n'
     'snapshot_interval = 5.0\n', "train.snapshot_interval: must be <= train.duration"),
    ("brian with a task", 'name = "s"\n[network]\nkind = "brian_song"\n[task]\nname = "digits"\n'
     '[rule]\nname = "additive"\n', "task.name: network brian_song is driven by Poisson input"),
    ("cuda missing", 'device = "cuda"\n' + GOOD, "device: cuda requested but torch sees no CUDA device"),
    ("identical pairs without pairs", 'name = "s"\n[network]\nkind = "brian_song"\npair_start = "identical"\n'
     '[rule]\nname = "additive"\n', "network.pair_start: \"identical\" needs network.duplicate = true"),
]
BAD.append(("task dt against network dt", 'name = "t"\n[network]\nkind = "rnn"\ndt = 0.02\n[task]\n'
            'name = "perceptual_decision_making"\nparams = { dt = 10.0 }\n[rule]\nname = "madam"\n',
            "task.params.dt: must equal network.dt in ms (20), got 10.0"))
BAD[1] = ("zero lr", GOOD.replace('name = "loggrid_madam"', 'name = "loggrid_madam"\nlr = 0'),
          "rule.lr: must be > 0, got 0")


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_config_gives_one_line_and_writes_nothing(case, tmp_path: Path, capsys) -> None:
    name, text, expected = case
    if name == "cuda missing":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    runs = tmp_path / "runs"
    status = main(["run", str(cfg), "--runs", str(runs), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1, err  # exactly one line
    assert err.startswith("error: ")
    assert expected in err, err
    assert "Traceback" not in err
    assert not runs.exists()  # nothing written


def test_there_are_at_least_30_malformed_configs() -> None:
    assert len(BAD) >= 30


def test_defaults_are_filled_and_hash_is_stable(tmp_path: Path) -> None:
    cfg = tmp_path / "ok.toml"
    cfg.write_text(GOOD)
    a = load(cfg)
    assert a["rule"]["lr"] == 0.01 and a["rule"]["levels"] == 26 and a["network"]["dale"] is True
    assert a["train"]["batch_size"] == 32 and a["analysis"]["fit"] is True
    assert config_hash(a) == config_hash(load(cfg))
    assert config_hash(a) != config_hash(load(cfg, overrides={"rule.lr": 0.02}))
    assert config_hash(a) != config_hash(load(cfg, quick=True))
    # the written TOML reads back to the same config
    import tomllib

    back = tomllib.loads(to_toml(a))
    back.pop("quick")
    assert resolve(back) == a


def test_quick_shrinks_and_config_quick_table_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "ok.toml"
    cfg.write_text(GOOD.replace("epochs = 1", "epochs = 50") + "[quick]\ntrain = {batch_size = 64}\n")
    q = load(cfg, quick=True)
    assert q["train"]["epochs"] == 2 and q["train"]["batch_size"] == 64 and q["quick"] is True
    assert load(cfg)["train"]["epochs"] == 50


def test_resolve_error_is_a_value_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        resolve({"network": {"kind": "mlp"}, "rule": {"name": "sgd", "lr": -1}})
    assert str(info.value) == "rule.lr: must be > 0, got -1"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "experiments" / "configs").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_every_shipped_config_round_trips_through_the_written_toml(path: Path) -> None:
    import tomllib

    for quick in (False, True):
        a = load(path, quick=quick)
        back = tomllib.loads(to_toml(a))
        back.pop("quick")
        assert resolve(back, quick=quick) == a


def test_toml_writer_drops_none_at_any_depth_and_names_a_list_holding_none() -> None:
    import tomllib

    text = to_toml({"name": "x", "a": None, "t": {"b": None, "c": 1, "d": {"e": None, "f": [1.5, "s"]}}})
    assert tomllib.loads(text) == {"name": "x", "t": {"c": 1, "d": {"f": [1.5, "s"]}}}
    with pytest.raises(ConfigError, match=r"^t\.g: a list holding None"):
        to_toml({"t": {"g": [1, None]}})
