"""Schedulers that read the clock: a scheduled (cron) scaler and a predictive hybrid.

An operator knows the hour of the week, and agents with ``clock: true`` see it too, so
the classical bar must include the schedulers operators run with it:

* ``scheduled``: a node count per phase of the workload's cycle (the hour of the week),
  as KEDA's cron scaler and AWS Auto Scaling's scheduled actions apply a fixed
  schedule. The schedule comes from the *training period* only: per phase, the
  ``quantile`` of the work its batches held there, times ``headroom``, on the fewest
  nodes whose full capacity processes it within a batch interval, never fewer than
  ``floor``. A node asked for now serves from the batch after next (provisioning), so
  the scaler holds the largest count of the next ``lead`` batches' phases.
* ``predictive``: the larger of that schedule and a reactive estimate, the nodes for
  ``reactive_headroom`` x the work of the batch that just arrived, as AWS predictive
  scaling runs beside dynamic scaling (or a cron scaler beside an HPA).

Both read the phase of coming batches (the clock), never their load, and the load of
the training period, never of the period they run in.
"""

from __future__ import annotations

import numpy as np

from marl_part.baselines.knobs import LEAD_TIME, MAX_NODES, Knob
from marl_part.baselines.schedulers import Scheduler, node_capacity, scale_action
from marl_part.errors import InputError
from marl_part.sim.world import World

MAX_LEAD = 1000  # batches


def phase_bins(world: World, batches: np.ndarray) -> np.ndarray:
    """The phase of each of ``batches`` (indices) as a bin 0..cycle-1 of the cycle."""
    cycle = world.batches.cycle_batches
    return np.round(world.batches.batch_phase[batches] * cycle).astype(np.int64) % cycle


def training_work_by_phase(world: World, quantiles: np.ndarray) -> np.ndarray:
    """(len(quantiles), cycle): per phase of the cycle, each quantile of the work of the
    training period's batches in that phase (NaN for a phase it never saw)."""
    start, end = world.batches.periods.train
    work = world.batches.batch_work[start:end]
    bins = phase_bins(world, np.arange(start, end))
    order = np.argsort(bins, kind="stable")
    counts = np.bincount(bins, minlength=world.batches.cycle_batches)
    table = np.full((len(counts), max(1, counts.max())), np.nan)
    rank = np.arange(len(bins)) - np.repeat(np.cumsum(counts) - counts, counts)
    table[bins[order], rank] = work[order]
    seen = counts > 0
    out = np.full((len(quantiles), len(counts)), np.nan)
    out[:, seen] = np.nanquantile(table[seen], quantiles, axis=1)
    return out


class Scheduled(Scheduler):
    """A scheduled (cron) scaler: nodes per phase of the cycle, from the training
    period's load (module docstring; KEDA "Cron" scaler, AWS Auto Scaling "Scheduled
    scaling"). Phases the training period never saw get the most nodes any phase gets."""

    name = "scheduled"
    knobs = (Knob("quantile", float, 0.0, 1.0, 0.9, (0.5, 0.75, 0.9, 0.95, 1.0),
                  "the quantile of a phase's training work planned for"),
             Knob("headroom", float, 0.25, 4.0, 1.0, (0.8, 0.9, 1.0, 1.1, 1.25, 1.5),
                  "capacity / planned work"),
             Knob("floor", int, 1, MAX_NODES, 1, None, "the fewest nodes ever held"),
             Knob("lead", int, 1, MAX_LEAD, LEAD_TIME, (1, 2, 3, 4, 6),
                  "batches ahead whose phases the count covers"))

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        if world.batches.batch_phase is None:
            raise InputError(f"'{self.name}' follows the cycle of the workload's rate profile; "
                             "this workload has none (workload.batch.rate_profile)")
        values, index = np.unique(self.quantile, return_inverse=True)
        by_phase = training_work_by_phase(world, values)
        by_phase = np.where(np.isnan(by_phase), np.nanmax(by_phase, axis=1, keepdims=True),
                            by_phase)
        self.planned_work = by_phase[index]  # (n_envs, cycle)

    def nodes_for(self, work: np.ndarray) -> np.ndarray:
        """The fewest nodes whose full capacity processes ``work`` (n_envs,) within a
        batch interval (at least 1)."""
        capacity = node_capacity(self.world) * self.world.cluster.batch_interval
        return np.searchsorted(capacity, work - 1e-9) + 1

    def scheduled_nodes(self) -> np.ndarray:
        """The schedule's count: the largest of the next ``lead`` batches' phases."""
        world = self.world
        ahead = np.arange(1, self.lead.max() + 1)
        batches = np.minimum(world.cursor[:, None] + ahead, world.batches.n_batches - 1)
        work = np.take_along_axis(self.planned_work, phase_bins(world, batches), axis=1)
        work = np.where(ahead <= self.lead[:, None], work, 0.0).max(axis=1)
        nodes = self.nodes_for(self.headroom * work * world.rate_scale)
        return np.maximum(nodes, self.floor)

    def act(self) -> np.ndarray:
        return scale_action(self.world, self.scheduled_nodes())


class Predictive(Scheduled):
    """Predictive plus dynamic scaling: the larger of the schedule (:class:`Scheduled`)
    and the nodes the batch that just arrived needs, x ``reactive_headroom`` (AWS Auto
    Scaling "Predictive scaling", used with dynamic scaling; module docstring)."""

    name = "predictive"
    knobs = Scheduled.knobs + (
        Knob("reactive_headroom", float, 0.25, 4.0, 1.0, (0.8, 1.0, 1.1, 1.25, 1.5),
             "capacity / the work that just arrived"),)

    def act(self) -> np.ndarray:
        world = self.world
        arrived = world.batches.batch_work[world.cursor] * world.rate_scale
        reactive = self.nodes_for(self.reactive_headroom * arrived)
        return scale_action(world, np.maximum(self.scheduled_nodes(), reactive))
