"""Data for the networks: bundled digits, generated cognitive tasks, user ``.npz`` files.

- :func:`load_digits_split`: scikit-learn's 8x8 digits, split by seed.
- :func:`load_npz_classification`: a user's ``.npz`` with ``X`` and ``y``, same split.
- :func:`load_npz_sequences`: a user's ``.npz`` of trials in time for the rate RNNs.
- :class:`NeurogymTask`: any registered neurogym environment (optional extra), as a task.
- :class:`PerceptualDecisionMaking`, :class:`ContextDependentIntegration`,
  :class:`ParametricWorkingMemory`: generated trials for rate RNNs (Song, Yang &
  Wang 2016), scored with :func:`decision_accuracy` and :func:`psychometric`.
- :data:`TASKS` and :func:`make_task`: everything above by name, for configs.

This package imports only numpy (scikit-learn lazily, for the digits).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from neurosim.tasks.cognitive import (
    CognitiveTask,
    ContextDependentIntegration,
    ParametricWorkingMemory,
    PerceptualDecisionMaking,
)
from neurosim.tasks.digits import load_digits_split
from neurosim.tasks.neurogym_task import NeurogymTask
from neurosim.tasks.npz import (
    ClassificationData,
    Split,
    load_npz_classification,
    split_arrays,
    stratified_split_indices,
)
from neurosim.tasks.scoring import decision_accuracy, decision_choices, psychometric
from neurosim.tasks.sequences import SequenceData, load_npz_sequences

__all__ = [
    "TASKS",
    "ClassificationData",
    "CognitiveTask",
    "ContextDependentIntegration",
    "ParametricWorkingMemory",
    "NeurogymTask",
    "PerceptualDecisionMaking",
    "SequenceData",
    "Split",
    "decision_accuracy",
    "decision_choices",
    "load_digits_split",
    "load_npz_classification",
    "load_npz_sequences",
    "make_task",
    "psychometric",
    "split_arrays",
    "stratified_split_indices",
]

#: Task name -> factory. ``make_task(name, **params)`` calls the factory.
TASKS: dict[str, Callable[..., Any]] = {
    "digits": load_digits_split,
    "perceptual_decision_making": PerceptualDecisionMaking,
    "context_dependent_integration": ContextDependentIntegration,
    "parametric_working_memory": ParametricWorkingMemory,
}


def make_task(name: str, **params: Any) -> Any:
    """Make a task (or load a data set) by its name in :data:`TASKS`.

    Parameters
    ----------
    name : str
        A key of :data:`TASKS` (case and ``-``/``_`` are not significant).
    **params
        Keyword parameters of that task's class or loader; all have documented
        defaults.

    Returns
    -------
    CognitiveTask or ClassificationData
        A task instance (cognitive tasks) or a split data set (``"digits"``).

    Raises
    ------
    ValueError
        For an unknown name (with a did-you-mean suggestion) or an unknown
        parameter (listing the allowed ones).
    """
    if not isinstance(name, str):
        raise ValueError(f"task name must be a string, got {name!r}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in TASKS:
        close = difflib.get_close_matches(key, list(TASKS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}.{hint}")
    factory = TASKS[key]
    allowed = [p for p in inspect.signature(factory).parameters if p != "self"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        hints = []
        for u in unknown:
            close = difflib.get_close_matches(u, allowed, n=1, cutoff=0.6)
            hints.append(f"{u!r} (did you mean {close[0]!r}?)" if close else repr(u))
        raise ValueError(
            f"unknown parameter(s) for task {key!r}: {', '.join(hints)}; "
            f"allowed: {', '.join(allowed)}"
        )
    return factory(**params)
