"""Snapshots: round trip, atomic writes, bad files, snapshots of torch modules."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from neurosim import snapshot
from neurosim.dale import DaleLinear, ei_signs
from neurosim.lns import LogGrid
from neurosim.rules import LogGridMadam, param_groups
from neurosim.snapshot import Projection, SnapshotError


def _sparse(n=50, seed=0) -> Projection:
    rng = np.random.default_rng(seed)
    return Projection(sign=np.ones(n), size=rng.random(n), pre=rng.integers(0, 10, n),
                      post=rng.integers(0, 5, n), unit="nS")


def test_round_trip_dense_sparse_and_gridded(tmp_path) -> None:
    grid = LogGrid.bartol(w_max=0.3)
    level = np.random.default_rng(1).integers(0, 26, (4, 6))
    dense = Projection(sign=np.where(np.arange(6) < 5, 1, -1)[None, :].repeat(4, 0),
                       size=grid.decode(level), level=level, grid=grid)
    path = snapshot.save(tmp_path / "s.npz", {"hidden": dense, "ee": _sparse()},
                         {"step": 120, "rule": "loggrid_madam", "seed": np.int64(3)})
    snap = snapshot.load(path)
    assert snap.meta == {"step": 120, "rule": "loggrid_madam", "seed": 3}
    h = snap.projections["hidden"]
    assert h.sign.dtype == np.int8 and h.size.dtype == np.float32 and h.level.dtype == np.uint8
    np.testing.assert_array_equal(h.level, level)
    assert h.grid == grid and h.pre is None
    ee = snap.projections["ee"]
    assert ee.unit == "nS" and ee.pre.dtype == np.int32
    np.testing.assert_array_equal(ee.size, _sparse().size)
    assert snap.sizes().size == 24 + 50
    np.testing.assert_array_equal(h.weight, h.sign * h.size)


def test_write_is_atomic_and_failure_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "s.npz"
    snapshot.save(path, {"a": _sparse(seed=1)}, {"step": 1})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        snapshot.save(path, {"a": _sparse(seed=2)}, {"step": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.npz"]  # no temporary file left behind


def test_truncated_and_foreign_files_give_one_line_errors(tmp_path) -> None:
    path = snapshot.save(tmp_path / "s.npz", {"a": _sparse()}, {})
    data = path.read_bytes()
    truncated = tmp_path / "trunc.npz"
    truncated.write_bytes(data[: len(data) // 2])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    text = tmp_path / "text.npz"
    text.write_text("hello")
    for bad in (truncated, foreign, text, tmp_path / "missing.npz"):
        with pytest.raises(SnapshotError) as info:
            snapshot.load(bad)
        message = str(info.value)
        assert str(bad) in message and "\n" not in message


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"sign": np.ones(3), "size": -np.ones(3)}, "size"),
     ({"sign": np.ones(2), "size": np.ones(3)}, "sign"),
     ({"sign": 2 * np.ones(3), "size": np.ones(3)}, "sign"),
     ({"sign": np.ones(3), "size": np.ones(3), "pre": np.arange(2)}, "pre"),
     ({"sign": np.ones(3), "size": np.ones(3), "level": np.zeros(3)}, "level")],
)
def test_bad_projection_names_the_field(kwargs, word) -> None:
    with pytest.raises(ValueError, match=f"^{word}"):
        Projection(**kwargs)


def test_from_module_dale_layers_plain_weights_and_levels(tmp_path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(DaleLinear(ei_signs(10), 6), torch.nn.ReLU(),
                                torch.nn.Linear(6, 3))
    opt = LogGridMadam(param_groups(model), generator=torch.Generator().manual_seed(0))
    projections = snapshot.from_module(model, opt)
    assert set(projections) == {"0", "2"}
    dale = projections["0"]
    np.testing.assert_array_equal(dale.sign[0], ei_signs(10).numpy().astype(np.int8))
    np.testing.assert_array_equal(dale.size, model[0].size.detach().numpy())
    assert dale.grid is not None and dale.level.dtype == np.uint8
    np.testing.assert_allclose(dale.grid.decode(dale.level), dale.size, rtol=1e-6)
    plain = projections["2"]
    np.testing.assert_array_equal(plain.weight, model[2].weight.detach().numpy())
    path = snapshot.save(tmp_path / "m.npz", projections, {"step": 0})
    assert snapshot.load(path).projections["0"].grid == dale.grid
    with pytest.raises(ValueError, match="^model:"):
        snapshot.from_module(torch.nn.ReLU())


def test_from_module_copies_so_snapshots_do_not_follow_training() -> None:
    import torch

    from neurosim.dale import DaleLinear
    from neurosim.rules import LogGridMadam

    layer = DaleLinear(torch.ones(8), 4, bias=False, generator=torch.Generator().manual_seed(0))
    opt = LogGridMadam(layer.parameters(), lr=0.5)
    before = snapshot.from_module(layer, opt)["weight"]
    size0, level0 = before.size.copy(), before.level.copy()
    for _ in range(5):
        opt.zero_grad()
        layer(torch.randn(16, 8)).square().sum().backward()
        opt.step()
    assert not np.array_equal(layer.size.detach().numpy(), size0)  # it learned
    np.testing.assert_array_equal(before.size, size0)
    np.testing.assert_array_equal(before.level, level0)
