"""neurosim: Dale-constrained networks learning with multiplicative updates on a log grid.

A synapse is a fixed sign (its presynaptic neuron's, Dale's principle) times a
positive *size*; sizes live on a logarithmic grid (:mod:`neurosim.lns`), learning
rules (:mod:`neurosim.rules`) move them, snapshots (:mod:`neurosim.snapshot`) record
them, and :mod:`neurosim.analysis` compares their distribution with biology.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neurosim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
