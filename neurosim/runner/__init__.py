"""The runner: validated TOML configs, run directories that resume, sweeps, reports.

* :mod:`neurosim.runner.config`: the config schema, :func:`~neurosim.runner.config.load`
  and :class:`~neurosim.runner.config.ConfigError` (one-line messages naming the key);
* :mod:`neurosim.runner.run`: :func:`~neurosim.runner.run.execute` one config into
  ``runs/<name>-<hash>/``;
* :mod:`neurosim.runner.sweep`: sweeps on a local process pool or Dask;
* :mod:`neurosim.runner.tune`: learning-rate scans (``lr_scan``, ``best_lr``) and the
  sensitivity figure;
* :mod:`neurosim.runner.torch_run`: ``load_run`` gives back a finished run's network;
* :mod:`neurosim.runner.report` and :mod:`neurosim.runner.aggregate`: ``report.md``.

The command line (``neurosim run``, ``sweep``, ``report``) is in :mod:`neurosim.runner.cli`.
"""

from neurosim.runner.config import ConfigError, config_hash, load, resolve

__all__ = ["ConfigError", "config_hash", "load", "resolve"]
