"""Scheduling baselines: static, threshold (Kubernetes HPA), DS2, linear regression.

Each decides a target node count (and parallelism) per env and turns it into the
world's scheduler action with :func:`scale_action`: the world's choice toward that
target (a relative step of ``target - nodes on``, clipped to y, or the target itself;
nodes still provisioning count as on, so a pending request is not repeated); with
``parallelism: free`` the parallelism index asks
for ``parallelism`` partitions (the world caps it at the ready slots). In the first
step of an episode nothing has been measured yet and every baseline holds.
"""

from __future__ import annotations

import numpy as np

from marl_part.baselines.base import Baseline
from marl_part.baselines.knobs import INITIAL_NODES, LEAD_TIME, MAX_NODES, Knob
from marl_part.sim.world import World


def scale_action(world: World, target_nodes: np.ndarray, parallelism: np.ndarray | None = None,
                 hold: np.ndarray | None = None) -> np.ndarray:
    """The scheduler action that moves every env toward ``target_nodes`` nodes and
    ``parallelism`` active partitions (default: every slot of the target nodes);
    envs where ``hold`` is true keep :meth:`World.hold_action`."""
    cluster = world.cluster
    target = np.clip(np.asarray(target_nodes, dtype=np.int64), 1, cluster.max_nodes)
    action = world.hold_action()
    action[:, 0] = world.scale_choice(target)
    if action.shape[1] > 1:
        wanted = target * cluster.slots_per_node if parallelism is None else parallelism
        action[:, 1] = np.clip(wanted, 1, world.max_partitions) - 1
    if hold is not None:
        action[hold] = world.hold_action()[hold]
    return action


class Scheduler(Baseline):
    """A scheduling baseline: its decision is an action of the scheduler's space."""

    role = "scheduler"

    def action(self) -> np.ndarray:
        return self.act()


def node_capacity(world: World) -> np.ndarray:
    """Work per second of the first k nodes, k = 1..N (scaling out turns on the
    lowest-numbered nodes first), with every slot busy."""
    return np.cumsum(world.nodes.speed) * world.cluster.slots_per_node


class Static(Scheduler):
    """A static cluster of ``nodes`` nodes and their parallelism (every slot, or
    ``scheduler.initial_parallelism``). Like every scheduler it starts an episode from
    ``cluster.initial_nodes`` and asks for its size at its first decision: a smaller
    size holds from the next batch on, a larger one once its nodes are provisioned."""

    name = "static"
    knobs = (Knob("nodes", int, 1, MAX_NODES, INITIAL_NODES, None,
                  "the cluster's size"),)

    def act(self) -> np.ndarray:
        """``nodes`` nodes (as a target, so that a learner imitating it learns the size,
        not 'keep whatever is on') and their parallelism."""
        slots = self.nodes * self.world.cluster.slots_per_node
        return scale_action(self.world, self.nodes,
                            self.world.settings.scheduler.initial_parallelism or slots)


class Threshold(Scheduler):
    """The Kubernetes Horizontal Pod Autoscaler rule (Kubernetes documentation,
    "Horizontal Pod Autoscaling", algorithm details; autoscaling/v2 behavior).

    ``desired = ceil(current * metric / target)``, no change while
    ``|metric / target - 1| <= tolerance`` (0.1), and a scale-down stabilization
    window: a scale-down goes only to the highest recommendation of the last
    ``window`` decisions (scale-up is immediate, HPA's default). Replicas are nodes.
    The metric is node utilization: the busy time of the last batch over the ready
    slots' time, ``sum_i T_i / (ready nodes * slots * batch interval)``, like CPU
    usage over request (it exceeds 1 when the batch overran its interval). The HPA
    has no default target (its documentation's example is 50% CPU); ours is 0.7. The
    window is 10 batches (HPA's default 300 s at its 15 s sync period is 20
    decisions; our episodes are shorter).
    """

    name = "threshold"
    knobs = (Knob("target", float, 0.05, 1.5, 0.7, (0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
                  "the utilization to hold"),
             Knob("tolerance", float, 0.0, 0.5, 0.1, (0.0, 0.1, 0.2),
                  "no change within it (HPA's default 0.1)"),
             Knob("window", int, 1, 1000, 10, (1, 10),
                  "scale-down stabilization, in decisions"))

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        self.recommendations = np.zeros((world.n_envs, self.window.max()), dtype=np.int64)
        self.in_window = np.arange(self.window.max())[None, :] < self.window[:, None]

    def reset(self, env_ids, rngs):
        self.recommendations[env_ids] = self.world.cluster.initial_nodes

    def act(self) -> np.ndarray:
        world, last = self.world, self.world.last
        current = last.nodes_ready.astype(np.int64)  # the nodes that ran the last batch
        cluster = world.cluster
        capacity = np.maximum(current, 1) * cluster.slots_per_node * cluster.batch_interval
        metric = last.times.sum(axis=1) / capacity
        ratio = metric / self.target
        n_on = world.nodes.n_on
        desired = np.where(np.abs(ratio - 1.0) <= self.tolerance, n_on,
                           np.ceil(current * ratio - 1e-9).astype(np.int64))
        desired = np.clip(desired, 1, world.cluster.max_nodes)
        measured = world.t > 0
        self.recommendations[measured] = np.roll(self.recommendations[measured], 1, axis=1)
        self.recommendations[measured, 0] = desired[measured]
        stabilized = np.minimum(n_on, np.where(self.in_window, self.recommendations, 0).max(axis=1))
        target = np.where(desired >= n_on, desired, stabilized)
        return scale_action(world, target, hold=~measured)


class DS2(Scheduler):
    """DS2 (Kalavri, Liagouris, Hoffmann, Dimitrova, Forshaw, Roscoe, "Three Steps is
    All You Need: Fast, Accurate, Automatic Scaling Decisions for Distributed
    Streaming Dataflows", OSDI 2018).

    The optimal parallelism of an operator is ``ceil(lambda_in / r_true)``: the
    observed input rate over the *true* processing rate of one instance, i.e. the
    records it processes per second of useful (busy) time. Here lambda_in = the work
    that arrived in the last batch per second of batch interval, r_true = the work
    processed per busy second over all instances (sum L_i / sum T_i). The parallelism
    maps to nodes as ``ceil(parallelism / slots per node)``; with ``parallelism: free``
    exactly that many partitions are requested. One decision per batch (policy
    interval = one micro-batch). ``headroom`` multiplies the observed input rate into
    the target rate the parallelism must sustain (1: the paper's formula).
    """

    name = "ds2"
    knobs = (Knob("headroom", float, 0.25, 4.0, 1.0, (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0),
                  "target rate / observed rate (the paper's: 1)"),)

    def act(self) -> np.ndarray:
        world, last = self.world, self.world.last
        busy = last.times.sum(axis=1)
        processed = last.loads.sum(axis=1)
        mean_speed = world.nodes.speed.mean()
        true_rate = np.divide(processed, busy, out=np.full_like(busy, mean_speed), where=busy > 0)
        input_rate = self.headroom * last.work / world.cluster.batch_interval
        parallelism = np.maximum(1, np.ceil(input_rate / true_rate - 1e-9)).astype(np.int64)
        parallelism = np.minimum(parallelism, world.max_partitions)
        nodes = -(-parallelism // world.cluster.slots_per_node)
        return scale_action(world, nodes, parallelism, hold=world.t == 0)


class LinearRegression(Scheduler):
    """The linear-regression scaler that Thonglek et al. compare their DQN against
    (Thonglek, Ichikawa, Takahashi, Iida, Nakasan, "Improving Resource Utilization in
    Data Centers using an LSTM-based Prediction Model", OLA 2019; the Spark
    auto-scaling DQN work of the same group).

    Ordinary least squares of the work per batch on the batch index over the last
    ``history`` batches of the episode (those that have arrived, the current one
    included) predicts the work ``horizon`` batches ahead, by default the batch that
    the nodes asked for now will first serve. The scaler then takes the fewest
    nodes whose full capacity processes that work in time, assuming perfectly
    balanced partitions: ``headroom * work / capacity(k) <= min(interval, deadline -
    backlog)`` (at least 10% of the interval): within the deadline once the backlog is
    served, and within the batch interval, or the backlog would grow without bound.
    ``headroom`` > 1 leaves capacity for imbalance and prediction error (1: the
    published scaler, which provisions for the prediction exactly).
    """

    name = "linear_regression"
    knobs = (Knob("history", int, 2, 1000, 10, (3, 5, 10, 20), "batches the line is fit to"),
             Knob("horizon", int, 1, 100, LEAD_TIME, (1, 2, 3, 5),
                  "batches ahead the prediction looks"),
             Knob("headroom", float, 0.25, 4.0, 1.0, (1.0, 1.25, 1.5, 2.0),
                  "capacity / predicted work"))

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        self.work = np.zeros((world.n_envs, self.history.max()))
        self.seen = np.zeros(world.n_envs, dtype=np.int64)

    def reset(self, env_ids, rngs):
        self.work[env_ids] = 0.0
        self.seen[env_ids] = 0

    def act(self) -> np.ndarray:
        world, cluster = self.world, self.world.cluster
        arrived = world.batches.batch_work[world.cursor] * world.rate_scale
        self.work = np.roll(self.work, -1, axis=1)
        self.work[:, -1] = arrived
        self.seen += 1
        known = np.minimum(self.seen, self.history)
        predicted = np.maximum(0.0, predict_linear(self.work, known, self.horizon))
        budget = np.clip(cluster.deadline - world.backlog, 0.1 * cluster.batch_interval,
                         cluster.batch_interval)
        needed = self.headroom * predicted / budget  # work per second the nodes must sustain
        nodes = np.searchsorted(node_capacity(world), needed - 1e-9) + 1
        return scale_action(world, nodes, hold=world.t == 0)


def predict_linear(series: np.ndarray, count: np.ndarray, horizon) -> np.ndarray:
    """Least-squares line through the last ``count[e]`` values of each row of
    ``series`` (newest last), evaluated ``horizon`` (per row) steps after the newest one; a
    single value is predicted flat."""
    length = series.shape[1]
    x = np.arange(length, dtype=np.float64)[None, :]
    used = x >= length - count[:, None]
    m = np.maximum(count, 1)
    x_mean = (x * used).sum(axis=1) / m
    y_mean = (series * used).sum(axis=1) / m
    dx = (x - x_mean[:, None]) * used
    sxx = (dx ** 2).sum(axis=1)
    slope = np.divide((dx * (series - y_mean[:, None])).sum(axis=1), sxx,
                      out=np.zeros_like(sxx), where=sxx > 0)
    return y_mean + slope * (length - 1 + horizon - x_mean)
