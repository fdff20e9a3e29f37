"""Independent calls as Ray tasks (Moritz et al., "Ray: A Distributed Framework for
Emerging AI Applications", OSDI 2018), on a local instance or a cluster.

:class:`RayTasks` is a :data:`~marl_part.evaluation.tasks.Runner`: it submits every
call as a task that declares its CPUs (``num_cpus``), and Ray retries a task whose
worker dies (``max_retries``; an exception the call raises is not retried). A call
writes its run directory itself, at the path the driver gave it: the cluster's nodes
must share that filesystem (:func:`check_shared`). Ray is an optional extra; without
it, ``--ray`` is refused with one line saying how to install it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from marl_part import interrupts
from marl_part.errors import InputError
from marl_part.evaluation.tasks import Call, OnDone

INSTALL_HINT = "needs Ray: pip install 'marl-part[ray]'"
CPUS_PER_TASK = 1  # one training run or baseline search: torch and the envs on 1 thread
MAX_RETRIES = 3  # re-runs of a task whose worker died; a training run resumes


def require_ray():
    """The ``ray`` module, or an :class:`InputError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(INSTALL_HINT, "--ray") from None
    return ray


def connect(address: str | None) -> None:
    """Join the Ray cluster at ``address`` as ``ray.init`` resolves it (``None``:
    ``RAY_ADDRESS``, else the cluster ``ray start`` runs on this machine, else a new
    local instance; ``auto``: an existing cluster; ``local``: a new local instance),
    unless this process is connected already. A new local instance listens on the
    loopback address only, without a dashboard."""
    ray = require_ray()
    if ray.is_initialized():
        return
    from ray._private.services import canonicalize_bootstrap_address

    try:
        local = canonicalize_bootstrap_address(address) is None
        ray.init(address=address, include_dashboard=False, logging_level="WARNING",
                 **({"_node_ip_address": "127.0.0.1"} if local else {}))
    except (ConnectionError, ValueError) as exc:
        raise InputError(f"no Ray cluster to join: {exc}", f"--ray {address or ''}".strip()
                         ) from None
    interrupts.reclaim()  # Ray's local instance ends when this process does (atexit)


def _run(call: Call):
    return call()


class RayTasks:
    """Runs calls as Ray tasks of ``num_cpus`` CPUs each, reporting each as it finishes."""

    def __init__(self, address: str | None, num_cpus: float = CPUS_PER_TASK,
                 max_retries: int = MAX_RETRIES):
        connect(address)
        ray = require_ray()
        self._remote = ray.remote(num_cpus=num_cpus, max_retries=max_retries,
                                  retry_exceptions=False)(_run)

    def __call__(self, calls: Sequence[Call], on_done: OnDone) -> list:
        import ray

        refs = [self._remote.remote(call) for call in calls]
        index = {ref: i for i, ref in enumerate(refs)}
        results, pending = [None] * len(refs), list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    results[index[ref]] = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the call's own error, as it is
                    for other in pending:
                        ray.cancel(other)
                    raise exc.cause from None
                on_done(index[ref], results[index[ref]])
        return results


def check_shared(paths: Sequence[Path]) -> None:
    """Refuse results this process cannot see: tasks on other nodes wrote them to a
    filesystem this one does not share."""
    if missing := [str(p) for p in paths if not os.path.exists(p)]:
        raise InputError(f"Ray tasks wrote {', '.join(missing[:3])}, which this machine does "
                         "not see: run with the output folder on a filesystem every Ray "
                         "node shares", "--ray")
