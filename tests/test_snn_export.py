"""The Brian2 copy of a trained torch SpikingMLP predicts the same classes (neurosim.brian.export)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neurosim.models import SpikingMLP
from neurosim.rules import LogGridMadam, param_groups

torch.set_num_threads(1)


def _trained_snn(hidden: int, epochs: int, seed: int = 0) -> tuple[SpikingMLP, object]:
    from neurosim.tasks import load_digits_split

    data = load_digits_split(seed=seed)
    g = torch.Generator().manual_seed(seed)
    model = SpikingMLP(64, [hidden], 10, steps=25, generator=g)
    opt = LogGridMadam(param_groups(model), lr=0.01, levels=26, ratio=60.0, generator=g)
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=g).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
    return model, data


def _agreement(model: SpikingMLP, X: np.ndarray) -> tuple[float, float, float]:
    from neurosim.brian.export import predict

    classes, logits = predict(model, X, return_logits=True)
    with torch.no_grad():
        torch32 = model(torch.from_numpy(X).float()).argmax(1).numpy()
        ref64 = model.double()(torch.from_numpy(X).double())  # float32 -> float64 is exact
    model.float()
    agree32 = float(np.mean(classes == torch32))
    agree64 = float(np.mean(classes == ref64.argmax(1).numpy()))
    return agree32, agree64, float(np.abs(logits - ref64.numpy()).max())


@pytest.mark.brian2
def test_brian2_copy_reproduces_dynamics_exactly() -> None:
    """Random small network, float64 on both sides: same logits to rounding."""
    from neurosim.brian.export import predict

    net = SpikingMLP(6, [7, 5], 3, steps=12, generator=torch.Generator().manual_seed(8)).double()
    with torch.no_grad():
        for layer in net.layers:
            layer.size.mul_(3.0)
            layer.bias.normal_(0.0, 0.2, generator=torch.Generator().manual_seed(9))
    x = torch.rand(20, 6, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    with torch.no_grad():
        ref, spikes = net(x, return_spikes=True)
    assert 0.05 < float(spikes[0].mean()) < 0.95 and 0.05 < float(spikes[1].mean()) < 0.95
    classes, logits = predict(net, x.numpy(), batch_size=8, return_logits=True)
    np.testing.assert_allclose(logits, ref.numpy(), rtol=0, atol=1e-10)
    assert np.array_equal(classes, ref.argmax(1).numpy())


@pytest.mark.brian2
def test_brian2_agrees_with_torch_on_digits_subset() -> None:
    model, data = _trained_snn(hidden=48, epochs=2)  # ~40 % test accuracy: trained, not converged
    X = data.X_test[:100].astype(np.float64)
    agree32, agree64, _ = _agreement(model, X)
    assert agree32 >= 0.95, agree32
    assert agree64 >= 0.99, agree64


@pytest.mark.brian2
@pytest.mark.slow
def test_brian2_agrees_with_torch_on_digits_test_set() -> None:
    model, data = _trained_snn(hidden=128, epochs=30)
    agree32, agree64, _ = _agreement(model, data.X_test.astype(np.float64))
    assert agree32 >= 0.95, agree32
    assert agree64 >= 0.99, agree64
