"""Independent pieces of work, run by whoever the caller names.

A tuning run, an ablation or a sweep is many independent calls (one baseline pair's
search and scoring, one training run): each a zero-argument callable, picklable (a
``functools.partial`` of a module-level function) so that a cluster can run it
elsewhere. A :data:`Runner` runs a list of them and returns their results in order,
calling ``on_done(index, result)`` as each finishes; :func:`run_in_turn` runs them one
after another in this process, :class:`marl_part.experiments.ray_tasks.RayTasks` as
Ray tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Call = Callable[[], Any]
OnDone = Callable[[int, Any], None]
Runner = Callable[[Sequence[Call], OnDone], list]


def run_in_turn(calls: Sequence[Call], on_done: OnDone) -> list:
    """Every call, in order, here."""
    results = []
    for index, call in enumerate(calls):
        results.append(call())
        on_done(index, results[-1])
    return results
