"""Tests for neurosim.tasks: digits, user .npz files, generated cognitive tasks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurosim.tasks import (
    TASKS,
    ClassificationData,
    ContextDependentIntegration,
    ParametricWorkingMemory,
    PerceptualDecisionMaking,
    decision_accuracy,
    decision_choices,
    load_digits_split,
    load_npz_classification,
    make_task,
    psychometric,
    split_arrays,
    stratified_split_indices,
)

COGNITIVE = [PerceptualDecisionMaking, ContextDependentIntegration, ParametricWorkingMemory]


# ----------------------------------------------------------------------------- digits
@pytest.fixture(scope="module")
def digits0() -> ClassificationData:
    return load_digits_split(seed=0)


def test_digits_shapes_dtypes_range(digits0: ClassificationData) -> None:
    d = digits0
    assert d.n_features == 64 and d.n_classes == 10
    for X, y in ((d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test)):
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert X.ndim == 2 and X.shape[1] == 64 and len(X) == len(y)
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))
    assert d.X_train.max() == 1.0  # divided by 16, not by the batch max
    assert sum(d.sizes.values()) == 1797
    assert abs(d.sizes["test"] / 1797 - 0.15) < 0.01
    assert abs(d.sizes["val"] / 1797 - 0.15) < 0.01


def test_digits_stratified(digits0: ClassificationData) -> None:
    p_train = np.bincount(digits0.y_train, minlength=10) / len(digits0.y_train)
    p_test = np.bincount(digits0.y_test, minlength=10) / len(digits0.y_test)
    assert np.max(np.abs(p_train - p_test)) < 0.01


def test_digits_seed_determinism(digits0: ClassificationData) -> None:
    again = load_digits_split(seed=0)
    other = load_digits_split(seed=1)
    for part in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, part), getattr(digits0, part))
    assert not np.array_equal(other.y_train, digits0.y_train)
    assert not np.array_equal(other.X_test, digits0.X_test)


def test_digits_parts_disjoint_and_raw_values() -> None:
    raw = load_digits_split(seed=3, normalize=False)
    assert raw.X_train.max() == 16.0
    rows = [tuple(r) for part in (raw.X_train, raw.X_val, raw.X_test) for r in part]
    from sklearn.datasets import load_digits

    X = load_digits().data
    assert sorted(rows) == sorted(tuple(r) for r in X.astype(np.float32))


def test_split_indices_partition_and_small_classes() -> None:
    y = np.array([0] * 10 + [1] * 3 + [2])
    tr, va, te = stratified_split_indices(y, seed=5, val_fraction=0.3, test_fraction=0.4)
    allidx = np.concatenate([tr, va, te])
    assert sorted(allidx.tolist()) == list(range(len(y)))
    for c in (0, 1, 2):
        assert np.any(y[tr] == c), "every class keeps a training sample"
    tr0, va0, te0 = stratified_split_indices(y, seed=0, val_fraction=0.0, test_fraction=0.0)
    assert len(tr0) == len(y) and len(va0) == 0 and len(te0) == 0


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction + test_fraction"),
        ({"seed": -1}, "seed"),
        ({"val_fraction": "a"}, "val_fraction"),
    ],
)
def test_split_bad_arguments(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word.replace("+", r"\+")):
        load_digits_split(**kwargs)


# ----------------------------------------------------------------------------- npz
def _toy(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)), np.repeat([3, 7, 9], n // 3)


def test_npz_roundtrip_same_split_as_arrays(tmp_path) -> None:
    X, y = _toy()
    path = tmp_path / "mine.npz"
    np.savez(path, X=X, y=y, extra=np.arange(3))
    d = load_npz_classification(path, seed=4, val_fraction=0.2, test_fraction=0.2)
    ref = split_arrays(X, y, seed=4, val_fraction=0.2, test_fraction=0.2)
    np.testing.assert_array_equal(d.X_train, ref.X_train)
    np.testing.assert_array_equal(d.y_test, ref.y_test)
    assert d.n_features == 5 and d.n_classes == 3
    np.testing.assert_array_equal(d.classes, [3, 7, 9])
    assert d.y_train.dtype == np.int64 and d.X_train.dtype == np.float32
    assert set(np.unique(d.y_train)) == {0, 1, 2}
    assert d.sizes == {"train": 36, "val": 12, "test": 12}
    assert str(path) in d.name


def test_npz_normalize_uses_training_range(tmp_path) -> None:
    X, y = _toy()
    X[:, 2] = 5.0  # a constant feature
    path = tmp_path / "n.npz"
    np.savez_compressed(path, X=X, y=y)
    d = load_npz_classification(path, normalize=True)
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0
    assert np.all(d.X_train[:, 2] == 0.0)


def _bad_files():
    X, y = _toy()
    Xn = X.copy()
    Xn[4, 1] = np.nan
    return {
        "missing_X": ({"y": y}, r"missing array 'X'"),
        "missing_y": ({"X": X}, r"missing array 'y'"),
        "missing_both": ({"Z": X}, r"missing array 'X' and 'y'"),
        "X_1d": ({"X": X[:, 0], "y": y}, r"'X' must be 2-D"),
        "y_2d": ({"X": X, "y": y[:, None]}, r"'y' must be 1-D"),
        "length": ({"X": X, "y": y[:-1]}, r"differ in length"),
        "float_labels": ({"X": X, "y": y + 0.5}, r"'y' must hold integer"),
        "str_labels": ({"X": X, "y": y.astype(str)}, r"'y' must hold integer"),
        "nan": ({"X": Xn, "y": y}, r"NaN"),
        "one_class": ({"X": X, "y": np.zeros(len(y), int)}, r"at least 2 classes"),
        "X_text": ({"X": X.astype(str), "y": y}, r"'X' must be numeric"),
    }


@pytest.mark.parametrize("case", sorted(_bad_files()))
def test_npz_malformed_one_line_error(tmp_path, case: str) -> None:
    arrays, pattern = _bad_files()[case]
    path = tmp_path / f"{case}.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=pattern) as exc:
        load_npz_classification(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg


def test_npz_not_a_zip_and_object_arrays(tmp_path) -> None:
    txt = tmp_path / "notes.npz"
    txt.write_text("X,y\n1,2\n")
    with pytest.raises(ValueError, match="not an .npz archive") as exc:
        load_npz_classification(txt)
    assert "\n" not in str(exc.value) and str(txt) in str(exc.value)
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="not an .npz archive"):
        load_npz_classification(npy)
    obj = tmp_path / "obj.npz"
    np.savez(obj, X=np.array([[1.0], [2.0]]), y=np.array([1, "a"], dtype=object))
    with pytest.raises(ValueError, match="cannot read") as exc:
        load_npz_classification(obj)
    assert "\n" not in str(exc.value)
    with pytest.raises(FileNotFoundError):
        load_npz_classification(tmp_path / "absent.npz")


def test_integral_float_labels_accepted() -> None:
    X, y = _toy()
    d = split_arrays(X, y.astype(float), seed=0)
    np.testing.assert_array_equal(d.classes, [3, 7, 9])


# ----------------------------------------------------------------------------- cognitive
@pytest.mark.parametrize("cls", COGNITIVE)
def test_batch_shapes_dtypes(cls) -> None:
    task = cls()
    assert task.dt == 20.0
    x, y, m, info = task.batch(8, np.random.default_rng(0), return_info=True)
    assert x.shape == (task.T, 8, task.n_in) and x.dtype == np.float32
    assert y.shape == (task.T, 8) and y.dtype == np.int64
    assert m.shape == (task.T, 8) and m.dtype == np.float32
    assert task.n_out == 3 and set(np.unique(y)) <= {0, 1, 2}
    assert set(np.unique(info["choice"])) <= {1, 2}
    for v in info.values():
        assert v.shape == (8,)
    assert len(task.batch(8, np.random.default_rng(0))) == 3
    assert list(task.epochs)[-1] == "decision"
    assert task.epochs["decision"][1] == task.T


@pytest.mark.parametrize("cls", COGNITIVE)
def test_determinism_and_noise_changes(cls) -> None:
    task = cls()
    a = task.batch(16, np.random.default_rng(7), return_info=True)
    b = task.batch(16, np.random.default_rng(7), return_info=True)
    c = task.batch(16, np.random.default_rng(8), return_info=True)
    for u, v in zip(a[:3], b[:3], strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    # with the same conditions, the noise itself differs between seeds
    quiet = cls(sigma=0.0)
    q1 = quiet.batch(4, np.random.default_rng(1))[0]
    q2 = quiet.batch(4, np.random.default_rng(1))[0]
    np.testing.assert_array_equal(q1, q2)
    noisy = cls(sigma=1.0)
    n1 = noisy.batch(4, np.random.default_rng(1))[0]
    noise = n1 - q1  # same rng: same conditions, noise added on top
    assert np.std(noise) > 0.01


@pytest.mark.parametrize("cls", COGNITIVE)
def test_mask_targets_fixation_follow_epochs(cls) -> None:
    task = cls()
    x, y, m, info = task.batch(5, np.random.default_rng(2), return_info=True)
    d0, d1 = task.decision_epoch
    assert np.all(m[d0:d1] == 1.0)
    assert np.all(m[:d0] == np.float32(task.fixation_weight))
    assert np.all(y[:d0] == 0)
    np.testing.assert_array_equal(y[d0:d1], np.broadcast_to(info["choice"], (d1 - d0, 5)))
    assert np.all(x[:d0, :, 0] == 1.0) and np.all(x[d0:, :, 0] == 0.0)
    # a perfect model scores 1; a model that keeps fixating scores 0
    assert decision_accuracy(y, y, m, info) == 1.0
    assert decision_accuracy(np.zeros_like(y), y, m, info) == 0.0


def test_epoch_durations_in_ms_scale_with_dt() -> None:
    t20 = PerceptualDecisionMaking(dt=20.0)
    t10 = PerceptualDecisionMaking(dt=10.0)
    assert t10.T == 2 * t20.T == 130
    assert t20.epochs["stimulus"] == (15, 50)
    assert t10.epochs["stimulus"] == (30, 100)


def _pdm_oracle(task: PerceptualDecisionMaking, x: np.ndarray) -> np.ndarray:
    s0, s1 = task.epochs["stimulus"]
    ev = (x[s0:s1, :, 1] - x[s0:s1, :, 2]).sum(axis=0)
    return np.where(ev > 0, 1, 2)


def _as_outputs(task, choice: np.ndarray) -> np.ndarray:
    """(T, B) outputs that fixate, then give ``choice`` in the decision epoch."""
    out = np.zeros((task.T, len(choice)), dtype=np.int64)
    d0, d1 = task.decision_epoch
    out[d0:d1] = choice[None, :]
    return out


def test_pdm_oracle_easy_vs_zero_coherence() -> None:
    rng = np.random.default_rng(11)
    easy = PerceptualDecisionMaking(coherences=(51.2,))
    x, y, m, info = easy.batch(400, rng, return_info=True)
    assert decision_accuracy(_as_outputs(easy, _pdm_oracle(easy, x)), y, m, info) > 0.97
    zero = PerceptualDecisionMaking(coherences=(0.0,))
    x, y, m, info = zero.batch(4000, rng, return_info=True)
    assert np.all(info["signed_coherence"] == 0.0)
    assert abs(np.mean(info["choice"] == 1) - 0.5) < 0.03  # the answer is random
    acc = decision_accuracy(_as_outputs(zero, _pdm_oracle(zero, x)), y, m, info)
    assert abs(acc - 0.5) < 0.04


def test_pdm_psychometric_monotonic_for_oracle() -> None:
    task = PerceptualDecisionMaking()
    x, y, m, info = task.batch(6000, np.random.default_rng(3), return_info=True)
    choices = decision_choices(_as_outputs(task, _pdm_oracle(task, x)), y, m)
    levels, p1, n = psychometric(choices, info)
    assert len(levels) == 11 and levels[5] == 0.0 and n.sum() == 6000
    assert np.all(np.diff(p1) >= 0)
    assert np.all(np.diff(p1[2:-2]) > 0.05)  # strictly rising where it is not saturated
    assert p1[0] < 0.05 and p1[-1] > 0.95 and abs(p1[5] - 0.5) < 0.1
    # a model that always answers 2 is flat at 0
    _, p_flat, _ = psychometric(np.full(6000, 2), info)
    assert np.all(p_flat == 0.0)


def test_cdi_oracle_uses_cued_stream() -> None:
    task = ContextDependentIntegration(coherences=(50.0,))
    x, y, m, info = task.batch(600, np.random.default_rng(5), return_info=True)
    s0, s1 = task.epochs["stimulus"]
    motion = (x[s0:s1, :, 1] - x[s0:s1, :, 2]).sum(0)
    colour = (x[s0:s1, :, 3] - x[s0:s1, :, 4]).sum(0)
    d0 = task.decision_epoch[0]
    ctx = np.argmax(x[d0 - 1, :, 5:7], axis=1)
    np.testing.assert_array_equal(ctx, info["context"])
    cued = np.where(ctx == 0, motion, colour)
    uncued = np.where(ctx == 0, colour, motion)
    good = np.where(cued > 0, 1, 2)
    bad = np.where(uncued > 0, 1, 2)
    assert decision_accuracy(_as_outputs(task, good), y, m, info) > 0.97
    inc = ~info["congruent"]
    assert 50 < inc.sum() < 550
    acc_bad = np.mean(bad[inc] == info["choice"][inc])
    assert acc_bad < 0.1  # reporting the wrong stream fails on incongruent trials
    np.testing.assert_array_equal(
        np.sign(info["signed_coherence"]), np.where(info["choice"] == 1, 1.0, -1.0)
    )


def test_pwm_oracle_compares_f1_f2() -> None:
    task = ParametricWorkingMemory()
    x, y, m, info = task.batch(500, np.random.default_rng(9), return_info=True)
    assert np.all(np.abs(info["f1"] - info["f2"]) == 8.0)
    assert np.all((info["f2"] >= 10) & (info["f2"] <= 34))
    np.testing.assert_array_equal(info["choice"], np.where(info["f1"] > info["f2"], 1, 2))
    a0, a1 = task.epochs["f1"]
    b0, b1 = task.epochs["f2"]
    d0 = task.epochs["delay"]
    assert np.all(x[d0[0] : d0[1], :, 1:] == 0.0)  # nothing shown during the delay
    f1_in = x[a0:a1, :, 1].mean(0) - x[a0:a1, :, 2].mean(0)
    f2_in = x[b0:b1, :, 1].mean(0) - x[b0:b1, :, 2].mean(0)
    oracle = np.where(f1_in > f2_in, 1, 2)
    assert decision_accuracy(_as_outputs(task, oracle), y, m, info) > 0.97
    # f1 must be remembered: the best rule that sees only f2 (the majority answer
    # for each f2 value, fitted in-sample) stays far below the oracle (5/7 in theory)
    best = 0
    for f2 in np.unique(info["f2"]):
        sel = info["f2"] == f2
        best += max(np.sum(info["choice"][sel] == 1), np.sum(info["choice"][sel] == 2))
    assert best / len(info["f2"]) < 0.8


def test_decision_choices_methods_and_logits() -> None:
    T, B = 6, 3
    targets = np.zeros((T, B), np.int64)
    targets[3:] = [[1, 2, 2]]
    mask = np.ones((T, B), np.float32)
    out = np.zeros((T, B), np.int64)
    out[3:, 0] = [1, 1, 2]  # majority 1, last 2
    out[3:, 1] = [0, 2, 2]  # majority 2, last 2
    out[3:, 2] = [0, 0, 1]  # majority fixate, last 1 (wrong either way)
    np.testing.assert_array_equal(decision_choices(out, targets, mask), [1, 2, 0])
    np.testing.assert_array_equal(decision_choices(out, targets, mask, "last"), [2, 2, 1])
    logits = np.eye(3)[out]  # (T, B, 3)
    np.testing.assert_array_equal(decision_choices(logits, targets, mask), [1, 2, 0])
    assert decision_accuracy(out, targets, mask) == pytest.approx(2 / 3)
    assert decision_accuracy(out, targets, mask, method="last") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="method"):
        decision_choices(out, targets, mask, method="mean")
    with pytest.raises(ValueError, match="shape"):
        decision_choices(out[:-1], targets, mask)
    with pytest.raises(ValueError, match="no decision step"):
        decision_choices(out, np.zeros_like(targets), mask)


@pytest.mark.parametrize(
    ("cls", "kwargs", "word"),
    [
        (PerceptualDecisionMaking, {"dt": 0}, "dt"),
        (PerceptualDecisionMaking, {"dt": float("nan")}, "dt"),
        (PerceptualDecisionMaking, {"stimulus": -5}, "stimulus"),
        (PerceptualDecisionMaking, {"decision": 5}, "decision"),
        (PerceptualDecisionMaking, {"coherences": (10, 120)}, "coherences"),
        (PerceptualDecisionMaking, {"coherences": ()}, "coherences"),
        (PerceptualDecisionMaking, {"sigma": -1}, "sigma"),
        (PerceptualDecisionMaking, {"fixation_weight": -0.5}, "fixation_weight"),
        (ContextDependentIntegration, {"fixation": "long"}, "fixation"),
        (ContextDependentIntegration, {"coherences": ("a",)}, "coherences"),
        (ParametricWorkingMemory, {"delta_f": 0}, "delta_f"),
        (ParametricWorkingMemory, {"delta_f": 30}, "delta_f"),
        (ParametricWorkingMemory, {"f_max": 5}, "f_max"),
        (ParametricWorkingMemory, {"frequencies": (5, 20)}, "frequencies"),
        (ParametricWorkingMemory, {"f1": 0}, "f1"),
    ],
)
def test_invalid_task_parameters(cls, kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word) as exc:
        cls(**kwargs)
    assert "\n" not in str(exc.value)


def test_invalid_batch_arguments() -> None:
    task = PerceptualDecisionMaking()
    with pytest.raises(ValueError, match="batch_size"):
        task.batch(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size"):
        task.batch(2.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        task.batch(2, np.random.RandomState(0))
    x1 = task.batch(3, 4)[0]  # an int is taken as a seed
    np.testing.assert_array_equal(x1, task.batch(3, np.random.default_rng(4))[0])


def test_zero_delay_allowed_and_delay_adds_steps() -> None:
    base = PerceptualDecisionMaking(delay=0.0)
    longer = PerceptualDecisionMaking(delay=200.0)
    assert longer.T == base.T + 10
    assert base.epochs["delay"][0] == base.epochs["delay"][1]


# ----------------------------------------------------------------------------- registry
def test_registry_and_make_task() -> None:
    assert set(TASKS) == {
        "digits",
        "perceptual_decision_making",
        "context_dependent_integration",
        "parametric_working_memory",
    }
    t = make_task("perceptual_decision_making", dt=10.0, sigma=0.5)
    assert isinstance(t, PerceptualDecisionMaking) and t.dt == 10.0 and t.sigma == 0.5
    assert t.params["sigma"] == 0.5
    assert isinstance(make_task("Parametric-Working-Memory"), ParametricWorkingMemory)
    d = make_task("digits", seed=2, test_fraction=0.2)
    assert isinstance(d, ClassificationData) and d.n_classes == 10


def test_make_task_errors() -> None:
    with pytest.raises(ValueError, match="Did you mean 'perceptual_decision_making'"):
        make_task("perceptual_decision")
    with pytest.raises(ValueError, match="unknown task 'xyzzy'"):
        make_task("xyzzy")
    with pytest.raises(ValueError, match=r"'coherence' \(did you mean 'coherences'\?\)"):
        make_task("perceptual_decision_making", coherence=(10,))
    with pytest.raises(ValueError, match="unknown parameter.*'batch'"):
        make_task("digits", batch=3)


def test_tasks_package_does_not_import_torch() -> None:
    code = (
        "import sys, neurosim.tasks as t; t.PerceptualDecisionMaking().batch(2, 0); "
        "assert 'torch' not in sys.modules, 'torch'; "
        "assert 'sklearn' not in sys.modules, 'sklearn'"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
