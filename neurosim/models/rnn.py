"""DaleRNN: a continuous-time rate RNN under Dale's principle (Song, Yang & Wang 2016).

Status: first deliverable of ``neurosim.models``.

Dynamics (Song, Yang & Wang 2016, PLoS Comput Biol 12:e1004792, eqs. 1-4)::

    tau dx/dt = -x + W_rec r + W_in u + b + sqrt(2 tau) sigma_rec xi(t),   r = relu(x)

discretised with an Euler step ``dt`` (``alpha = dt / tau``)::

    x_t = (1 - alpha) x_{t-1} + alpha (W_rec r_{t-1} + W_in u_t + b) + sqrt(2 alpha) sigma_rec N(0, 1)
    r_t = relu(x_t),    z_t = W_out r_t + b_out          (x_{-1} = 0)

Defaults ``tau = 100 ms``, ``dt = 20 ms`` (alpha = 0.2) as in Song et al.; times
are in seconds. With ``dale=True`` the recurrent units are 80 % E / 20 % I (E
first), the input weights are excitatory (``W_in >= 0``), and the readout comes
from the E units only, with non-negative weights (Song et al.: "the outputs are
read out from the excitatory units"). The matched ANN (``dale=False``) has the
same units and the same number of weights (its readout also sees the first
``n_E`` units) with signed FP32 weights.

Initialisation: the recurrent sizes are half-normal with inhibitory columns
``n_E / n_I`` times larger, so every row's expected E and I input cancel
(a balanced matrix whose eigenvalues fill a disc, Rajan & Abbott 2006, PRL
97:188104); the matrix is then scaled so that its spectral radius is exactly
``spectral_radius``. The default is 1.0, not Song et al.'s 1.5: with
excitatory-only inputs and zero biases almost every Dale unit is active at the
start (97 % at rho = 1, 64 units, perceptual decision making), so the whole
matrix sets the linearised dynamics ``x <- (1 - alpha) x + alpha W x``, which
grows without bound for rho > 1 (measured: mean rate 0.09 -> 340 over 1.3 s at
rho = 1.5) and integrates at the edge of stability for rho = 1, which suits
evidence integration. The matched ANN uses the same radius on a ``N(0, 1/n)``
matrix (about 40 % of its units are active, so it is further from instability).

Measured on perceptual decision making (``benchmarks/model_competence.py rnn``,
batch 32, seed 0; accuracy on the two highest coherences): ANN + Adam 100 %
(64 units, lr 1e-3, 300 steps); Dale + DaleAdam 100 % (64 units, lr 3e-3, 600
steps); Dale + Madam 83 % (64 units, 600 steps); Dale + LogGridMadam 86 %
(128 units, 1500 steps), which learns fixation and response timing within 50
steps but the choice only slowly.

What holds the Dale network back on context-dependent integration is its input:
with excitatory-only input weights a unit cannot take the difference of two
input channels (the ANN's signed weights can), and the network has to learn it
through its inhibitory units. ``feedforward_inhibition=True`` gives every input
an inhibitory relay; in ``experiments/rnn_remedies.py`` (Dale + Madam, 3000
steps, seeds 0-2) it raised context-dependent integration from 72.9-83.0 % to
89.5-91.4 %, more than any other single change (gradient clipping and a
curriculum about +5 points; exact balance, inhibitory gain 1.5, radius 1.5 and
128 units none). Parametric working memory needed only the budget.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neurosim import validate as V
from neurosim.models import _common as C
from neurosim.models._common import spectral_radius

__all__ = ["DaleRNN", "spectral_radius", "svd_entropy"]


def svd_entropy(W: Any) -> float:
    """Normalised SVD entropy of a matrix, in ``[0, 1]``.

    With singular values ``s_i`` and ``p_i = s_i / sum(s)``, returns
    ``-sum(p_i log p_i) / log(min(n, m))`` (Alter, Brown & Botstein 2000, PNAS
    97:10101): 1 when all singular values are equal (e.g. an orthogonal matrix),
    near 0 when one direction dominates (low rank). A zero matrix, or one with a
    single row or column, gives 0.
    """
    W = torch.as_tensor(W).detach().to("cpu", torch.float64)
    if W.dim() != 2:
        raise ValueError(f"W: must be a 2-D matrix, got shape {tuple(W.shape)}")
    k = min(W.shape)
    if k < 2:
        return 0.0
    s = torch.linalg.svdvals(W)
    total = float(s.sum())
    if not total > 0.0 or not math.isfinite(total):
        return 0.0
    p = s / total
    p = p[p > 0]
    h = float(-(p * p.log()).sum()) / math.log(k)
    return min(max(h, 0.0), 1.0)


class DaleRNN(C.OwnNoise, nn.Module):
    """Continuous-time rate RNN with E/I recurrent units (see the module docstring).

    Parameters
    ----------
    n_in, n_rec, n_out:
        Inputs, recurrent units (E and I together; default 100, as in Song et al. 2016) and
        outputs (default 3: fixate and two choices), each >= 1.
    dale:
        Sign-constrained (``True``) or the matched signed ANN (``False``).
    inhibitory_fraction:
        Fraction of inhibitory recurrent units, in ``[0, 1)``.
    tau, dt:
        Time constant and Euler step (s), ``0 < dt <= tau``. Defaults 0.1 s, 0.02 s.
    noise_std:
        ``sigma_rec`` of the recurrent noise (dimensionless, >= 0); the per-step
        noise is ``sqrt(2 dt / tau) * noise_std * N(0, 1)``. Default 0.1.
    spectral_radius:
        Spectral radius of the initial recurrent matrix (> 0). Default 1.0 (see the module docstring).
    feedforward_inhibition:
        With ``dale=True``, every input channel also drives an inhibitory relay
        unit of its own (a linear interneuron that copies it), which projects
        to the recurrent units through learned inhibitory sizes: feedforward
        inhibition, as thalamic input drives cortical E cells directly and
        through fast-spiking interneurons (Gabernet et al. 2005, Neuron
        48:315). It is the simplest DANN (Cornford et al. 2021, ICLR), with
        one fixed interneuron per input, and it lets a unit take the difference
        of two inputs. The matched ANN gets the same number of signed input
        weights. Default ``False``.
    inhibitory_gain:
        Scale of the initial inhibitory recurrent sizes relative to the
        balanced ones (> 0; > 1: inhibition-dominated). Default 1.
    balance:
        ``"mean"`` (default): each unit's E and I recurrent input cancel on
        average; ``"rows"``: exactly (Rajan & Abbott 2006; see
        :func:`neurosim.models._common.recurrent_ei_layers`).
    generator:
        CPU ``torch.Generator`` for the initial weights and for the seed of the
        noise generator (``None``: torch's global one).
    device:
        Where the model lives (default CPU).

    Notes
    -----
    The noise is drawn from the model's own ``torch.Generator`` (on the model's
    device), seeded at construction from ``generator``, so a seeded model gives
    a reproducible noise sequence; :meth:`seed_noise` reseeds it, and
    ``forward(u, generator=g)`` uses ``g`` instead.

    Examples
    --------
    >>> net = DaleRNN(3, 50, 3, generator=torch.Generator().manual_seed(0))
    >>> net(torch.rand(10, 4, 3)).shape
    torch.Size([10, 4, 3])
    """

    PARAMS = {"n_rec": V.Param(V.integral(ge=1), "recurrent units (E and I)"), "dale": C.DALE,
              "inhibitory_fraction": C.INHIBITORY_FRACTION,
              "tau": V.Param(V.bounded(gt=0.0), "membrane time constant (s)"),
              "dt": V.Param(V.bounded(gt=0.0), "Euler time step (s)"),
              "noise_std": V.Param(V.bounded(ge=0.0), "recurrent noise standard deviation"),
              "spectral_radius": V.Param(V.bounded(gt=0.0), "spectral radius of the initial recurrent matrix"),
              "feedforward_inhibition": C.FEEDFORWARD_INHIBITION,
              "inhibitory_gain": V.Param(V.bounded(gt=0.0), "scale of the initial inhibitory recurrent sizes "
                                                            "relative to balance"),
              "balance": V.Param(V.one_of(*C.BALANCES), "initial E/I balance of each unit's recurrent input: "
                                                      "on average (mean) or exactly (rows)")}

    def __init__(self, n_in: int, n_rec: int = 100, n_out: int = 3, *, dale: bool = True,
                 inhibitory_fraction: float = 0.2, tau: float = 0.1, dt: float = 0.02,
                 noise_std: float = 0.1, spectral_radius: float = 1.0, feedforward_inhibition: bool = False,
                 inhibitory_gain: float = 1.0, balance: str = "mean",
                 generator: torch.Generator | None = None, device: Any = None) -> None:
        super().__init__()
        n_in = V.integer("n_in", n_in, ge=1)
        n_out = V.integer("n_out", n_out, ge=1)
        v = C.checked(self.PARAMS, n_rec=n_rec, dale=dale, inhibitory_fraction=inhibitory_fraction, tau=tau,
                      dt=dt, noise_std=noise_std, spectral_radius=spectral_radius,
                      feedforward_inhibition=feedforward_inhibition, inhibitory_gain=inhibitory_gain,
                      balance=balance)
        n_rec, frac, tau, dt = v["n_rec"], v["inhibitory_fraction"], v["tau"], v["dt"]
        noise_std, rho = v["noise_std"], v["spectral_radius"]
        if dt > tau:
            raise ValueError(f"dt: must be <= tau ({tau}) for a stable Euler step, got {dt}")
        generator = C.check_generator(generator)
        dev = C.resolve_device(device)
        self.n_in, self.n_rec, self.n_out = n_in, n_rec, n_out
        self.dale, self.inhibitory_fraction = dale, frac
        self.tau, self.dt, self.noise_std, self.spectral_radius = tau, dt, noise_std, rho
        self.alpha = dt / tau
        self.feedforward_inhibition, self.inhibitory_gain = v["feedforward_inhibition"], v["inhibitory_gain"]
        self.balance = v["balance"]

        ei = C.unit_signs(n_rec, frac, "n_rec")
        self.n_exc = int((ei > 0).sum())  # readout units; the ANN reads the same number
        self.register_buffer("rec_sign", ei if dale else torch.ones(n_rec))
        self.input, self.recurrent, self.readout = C.recurrent_ei_layers(
            n_in, ei, n_out, dale=dale, feedforward_inhibition=self.feedforward_inhibition, radius=rho,
            balance=self.balance, inhibitory_gain=self.inhibitory_gain, generator=generator)
        self._init_noise(generator)
        self.to(dev)

    # -------------------------------------------------------------- forward
    @property
    def W_rec(self) -> torch.Tensor:
        """The signed recurrent matrix ``(n_rec, n_rec)`` (row: post, column: pre)."""
        return self.recurrent.weight

    def forward(self, u: torch.Tensor, *, noise: bool = True, generator: torch.Generator | None = None,
                return_rates: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Outputs ``(T, B, n_out)`` for inputs ``u`` ``(T, B, n_in)``.

        ``noise=False`` switches the recurrent noise off; ``generator`` overrides the
        model's noise generator; ``return_rates`` also returns ``r`` ``(T, B, n_rec)``.
        """
        if u.dim() != 3 or u.shape[2] != self.n_in:
            raise ValueError(f"u: must have shape (T, batch, {self.n_in}), got {tuple(u.shape)}")
        T, B, _ = u.shape
        a = self.alpha
        drive = self.input(torch.cat([u, u], -1) if self.feedforward_inhibition else u)  # W_in u_t + b, all t
        W_rec = self.recurrent.weight
        if noise and self.noise_std > 0:
            gen = generator if generator is not None else self.noise_generator(u.device)
            xi = torch.randn(T, B, self.n_rec, generator=gen, device=u.device, dtype=drive.dtype)
            drive = drive + (math.sqrt(2.0 / a) * self.noise_std) * xi  # alpha * this = sqrt(2a) sigma xi
        x = torch.zeros(B, self.n_rec, device=u.device, dtype=drive.dtype)
        r = torch.zeros_like(x)
        rates = []
        for t in range(T):
            x = (1.0 - a) * x + a * (r @ W_rec.t() + drive[t])
            r = torch.relu(x)
            rates.append(r)
        R = torch.stack(rates)
        out = self.readout(R[..., : self.n_exc])
        return (out, R) if return_rates else out

    def svd_entropy(self) -> float:
        """Normalised SVD entropy of the current recurrent matrix (see :func:`svd_entropy`)."""
        return svd_entropy(self.W_rec)

    @torch.no_grad()
    def activity(self, u: torch.Tensor) -> dict[str, float]:
        """Why a rate RNN may not learn: its recurrent spectrum and activity on inputs ``u``.

        Runs ``u`` ``(T, B, n_in)`` without recurrent noise and returns

        * ``spectral_radius`` of ``W_rec`` and its ``svd_entropy``;
        * ``dead_fraction``: units whose rate is 0 on every step of every trial
          (a relu unit there gets no gradient, so it stays dead);
        * ``dead_exc_fraction``: the same among the excitatory units, which are
          the only ones the readout sees;
        * ``mean_rate`` and ``max_rate`` (the rate ``r = relu(x)``, dimensionless);
          a ``max_rate`` far above 1 means the dynamics are running away.
        """
        _, R = self(u, noise=False, return_rates=True)
        active = (R > 0).flatten(0, 1).any(0)  # (n_rec,)
        return {"spectral_radius": spectral_radius(self.W_rec), "svd_entropy": self.svd_entropy(),
                "dead_fraction": float((~active).float().mean()),
                "dead_exc_fraction": float((~active[: self.n_exc]).float().mean()),
                "mean_rate": float(R.mean()), "max_rate": float(R.max())}

    @property
    def n_synapses(self) -> int:
        """Number of weights (input, recurrent, readout), biases excluded."""
        return C.count_synapses(self)

    def extra_repr(self) -> str:
        return (f"n_exc={self.n_exc}, dale={self.dale}, tau={self.tau}, dt={self.dt}, "
                f"noise_std={self.noise_std}, spectral_radius={self.spectral_radius}, "
                f"feedforward_inhibition={self.feedforward_inhibition}, "
                f"inhibitory_gain={self.inhibitory_gain}, balance={self.balance!r}")
