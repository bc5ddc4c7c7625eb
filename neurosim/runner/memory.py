"""Memory a run will need, estimated before anything is allocated, and a refusal when it will not fit."""

from __future__ import annotations

import os

from neurosim.runner.config import ConfigError

#: Bytes per weight a torch training run holds: the float32 weight, its gradient, up to two
#: optimizer states (Adam), a level or sign, and slack for temporaries.
BYTES_PER_WEIGHT = 24
#: Bytes per Brian2 synapse: a dozen float64 state variables (size, traces, eligibility,
#: second moment, level, ...), the pre/post indices and the spike queues' share, with slack.
BYTES_PER_SYNAPSE = 256
#: Bytes per Brian2 neuron (state variables, monitors' share).
BYTES_PER_NEURON = 512
#: Bytes per pregenerated input spike (index and time).
BYTES_PER_SPIKE = 16


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def refuse_if_too_big(need: float, what: str) -> None:
    """Raise :class:`ConfigError` (key ``network``) when ``need`` bytes exceed what is available.

    ``what`` says what the bytes are for (e.g. ``"2e+09 weights (weights, gradients, optimizer
    state)"``).
    """
    have = available_memory()
    if have is not None and need > have:
        raise ConfigError("network", f"needs about {need / 2**30:.1f} GiB for {what}, more than the "
                                     f"{have / 2**30:.1f} GiB available on this machine")
