"""The hindsight optimum of node scaling, and a proven upper bound.

No policy can know the batches to come; a scheduler that did would size the cluster
with a dynamic programme over node counts, one episode at a time (Bellman, 1957). The
gap between the best causal policy and that programme is what any learner could still
win, so every comparison reports it. Both are labelled *hindsight*: neither is a policy.

The programme's state is the cluster (which nodes are ready, which provisioning and
for how long) and the backlog; its action scales by -y..y nodes, exactly as the world
does (:class:`~marl_part.sim.cluster.Nodes`, ``scheduler.max_scale_step``), with
parallelism tied to the ready slots. A batch processed on k ready nodes is given the
batch time and the partitioner's reward terms (balance, split, migration, dedup) that
the partitioner reached on k nodes held through the episode; the deadline, lateness,
backlog and node-cost terms follow from the state, by the world's own reward terms.
The backlog is continuous: each cluster state keeps every (return, backlog) pair that
no other pair beats in both, which is exact because a smaller backlog is never worse.

* **hindsight plan**: that programme with a classical partitioner; its node counts are
  then replayed in the simulator, which scores them (a partitioner's state on a
  changing cluster differs from the fixed sizes the programme assumed: moved keys
  store their content again. The replay charges the difference; the programme is solved
  with several penalties per node changed, and each episode keeps the plan whose
  replay scores best).
* **bound**: the same programme with every partitioner cost at its best possible value
  (perfect balance, nothing split, moved or stored twice) and the batch time of perfect
  balance, work / capacity of the ready slots. No policy pair, learned or classical,
  scores more on an episode: a proven upper bound under the simulator's model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from marl_part.baselines.schedulers import node_capacity
from marl_part.config import EnvConfig
from marl_part.envs.simulation import Simulation
from marl_part.evaluation.evaluate import Episodes, EvalResult, period_episodes, rollout, score
from marl_part.scenarios import LEARN
from marl_part.sim.cluster import Nodes
from marl_part.sim.rewards import TERMS
from marl_part.sim.world import World

STATE_TERMS = ("deadline_miss", "lateness", "backlog", "node_cost")  # set by the cluster
MAX_LABELS = 64  # (return, backlog) pairs kept per cluster state and step
CHANGE_PENALTIES = (0.0, 0.25, 0.5, 1.0, 2.0)  # per node the ready count changes by


@dataclass(frozen=True)
class ClusterStates:
    """Every cluster state reachable from ``initial_nodes`` ready nodes: ``ready_in``
    (states, N) as :class:`Nodes` keeps it, and ``next[s, a]``, the state after scaling
    by ``a - y`` nodes and one tick."""

    ready_in: np.ndarray
    next: np.ndarray
    max_step: int

    @classmethod
    def reachable(cls, world: World) -> ClusterStates:
        y = world.max_scale_step
        start = Nodes(world.cluster, 1)
        start.reset(np.zeros(1, dtype=np.int64), np.array([world.cluster.initial_nodes]))
        states, index, transitions = [start.ready_in[0].copy()], {}, []
        index[states[0].tobytes()] = 0
        for state in states:  # grows while new states are found
            nodes = Nodes(world.cluster, 2 * y + 1)
            nodes.ready_in[:] = state
            nodes.scale(np.arange(-y, y + 1))
            nodes.tick()
            row = []
            for after in nodes.ready_in:
                key = after.tobytes()
                if key not in index:
                    index[key] = len(states)
                    states.append(after.copy())
                row.append(index[key])
            transitions.append(row)
        return cls(np.array(states), np.array(transitions), y)

    def nodes(self, world: World) -> Nodes:
        """The states as the rows of one :class:`Nodes`."""
        nodes = Nodes(world.cluster, len(self.ready_in))
        nodes.ready_in[:] = self.ready_in
        return nodes


@dataclass(frozen=True)
class Label:
    """A way to reach a cluster state: the return so far, the backlog left, the state,
    and the label it came from."""

    value: float
    backlog: float
    state: int
    parent: Label | None


def plan_episode(world: World, states: ClusterStates, batch_time: np.ndarray,
                 partitioner_return: np.ndarray, change_penalty: float = 0.0
                 ) -> tuple[float, list[int]]:
    """The best return of one episode and the cluster state after each step, given,
    per ready-node count k (rows) and step, the ``batch_time`` and the partitioner's
    weighted reward terms; ``change_penalty`` is charged per node by which the ready
    count changes (what moving keys' state costs the partitioner, which the fixed sizes
    behind ``partitioner_return`` never pay)."""
    nodes = states.nodes(world)
    ready = nodes.n_ready
    cluster = world.cluster
    node_cost = _term(world, "node_cost", node_cost=nodes.cost())
    labels = {0: [Label(0.0, 0.0, 0, None)]}  # state -> its Pareto labels
    for t in range(batch_time.shape[1]):
        reached: dict[int, list[Label]] = {}
        for s, entries in labels.items():
            k = ready[s]
            for label in entries:
                latency = label.backlog + batch_time[k, t]
                after = max(0.0, latency - cluster.batch_interval)
                value = (label.value + partitioner_return[k, t] + node_cost[s] + _term(
                    world, "deadline_miss", deadline_miss=float(latency > cluster.deadline))
                    + _term(world, "lateness",
                            lateness=max(0.0, latency - cluster.deadline) / cluster.deadline)
                    + _term(world, "backlog", backlog_growth=after - label.backlog))
                for successor in states.next[s]:
                    change = change_penalty * abs(int(ready[successor]) - int(k))
                    reached.setdefault(successor, []).append(
                        Label(value - change, after, int(successor), label))
        labels = {s: _pareto(entries) for s, entries in reached.items()}
    best = max((label for entries in labels.values() for label in entries),
               key=lambda label: label.value)
    path, label = [], best
    while label.parent is not None:
        path.append(label.state)
        label = label.parent
    return best.value, path[::-1]


def _pareto(labels: list[Label]) -> list[Label]:
    """The labels no other beats in both return (higher) and backlog (smaller), the
    best :data:`MAX_LABELS` of them by return."""
    labels.sort(key=lambda label: (label.backlog, -label.value))
    kept, best = [], -np.inf
    for label in labels:
        if label.value > best:
            kept.append(label)
            best = label.value
    return sorted(kept, key=lambda label: -label.value)[:MAX_LABELS]


def _term(world: World, name: str, **record) -> float | np.ndarray:
    """The weighted reward term ``name`` of a step whose record holds ``record``."""
    if name not in world.reward_weights:
        return 0.0
    return world.reward_weights[name] * TERMS[name](SimpleNamespace(**record), world)


@dataclass
class Hindsight:
    """The hindsight plan of a partitioner on the scored episodes, and the bound."""

    partitioner: str
    result: EvalResult  # the plans replayed in the simulator
    modelled: list[float]  # each episode's return as the programme computes it (penalty 0)
    bound: list[float]  # each episode's proven upper bound (any policy pair)
    nodes: list[list[int]]  # the nodes on after each step, per episode
    penalties: list[float]  # the change penalty of each episode's chosen plan

    def to_json(self) -> dict:
        return {"partitioner": self.partitioner, "modelled_returns": self.modelled,
                "bound_returns": self.bound, "nodes_on": self.nodes,
                "change_penalties": self.penalties}


def hindsight(config: EnvConfig, partitioner: str, episodes: int | None) -> Hindsight:
    """The hindsight plan with ``partitioner`` on the test period's episodes
    (``episodes`` of them, or all), replayed, and the bound on them. Per episode, the
    programme is solved with each of :data:`CHANGE_PENALTIES` and the plan whose replay
    scores best is kept (in hindsight, every plan can be tried)."""
    plan = period_episodes(config, "test", episodes, 1)
    learned = dataclasses.replace(config, roles={**config.roles, "partitioner": partitioner,
                                                 "scheduler": LEARN})
    simulation = Simulation(learned, 1, period="test", starts=plan.starts[:1])
    simulation.reset(np.arange(1), [0])
    world = simulation.world
    width = simulation.observations()["scheduler"].shape[1]
    nvec = simulation.action_nvec("scheduler")
    states = ClusterStates.reachable(world)
    on = states.nodes(world).n_on
    batch_time, partitioner_return = size_outcomes(config, partitioner, plan)
    solved = [[plan_episode(world, states, batch_time[e], partitioner_return[e], penalty)
               for e in range(plan.count)] for penalty in CHANGE_PENALTIES]
    nodes = np.array([[on[path] for _, path in row] for row in solved])  # (penalties, E, T)
    replays = rollout(learned, {"scheduler": PlannedScheduler(
        world, nodes.reshape(-1, nodes.shape[2]), width, nvec)}, plan.repeated(len(nodes)))
    best = replays.reward.sum(axis=0).reshape(len(nodes), plan.count).argmax(axis=0)
    chosen = nodes[best, np.arange(plan.count)]
    result = score(learned, {"scheduler": PlannedScheduler(world, chosen, width, nvec)}, plan,
                   {**config.role_fills(), "partitioner": partitioner,
                    "scheduler": "hindsight plan"})
    bound = [plan_episode(world, states, times, np.zeros_like(times))[0]
             for times in perfect_balance_times(world, plan)]
    return Hindsight(partitioner, result, [value for value, _ in solved[0]], bound,
                     chosen.tolist(), [CHANGE_PENALTIES[b] for b in best])


def size_outcomes(config: EnvConfig, partitioner: str, plan: Episodes
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(episodes, N + 1, steps) each: the batch time and the partitioner's weighted
    reward terms of every step with ``partitioner`` on k ready nodes held from the
    episode's start (row k; row 0, never reached, is infinitely slow)."""
    n = config.cluster.max_nodes
    steps = config.episode_length
    batch_time = np.full((plan.count, n + 1, steps), np.inf)
    partitioner_return = np.zeros((plan.count, n + 1, steps))
    for k in range(1, n + 1):
        sized = dataclasses.replace(
            config, roles={**config.roles, "partitioner": partitioner,
                           "scheduler": f"static:nodes={k}"},
            cluster=dataclasses.replace(config.cluster, initial_nodes=k))
        run = rollout(sized, {}, plan)
        batch_time[:, k] = run.metrics["batch_time"].T
        partitioner_return[:, k] = sum((values for term, values in run.reward_terms.items()
                                        if term not in STATE_TERMS), np.zeros_like(run.reward)).T
    return batch_time, partitioner_return


def perfect_balance_times(world: World, plan: Episodes) -> np.ndarray:
    """(episodes, N + 1, steps): the batch time of perfect balance on k ready nodes,
    the batch's work over the speed of every slot of them (no split or migration)."""
    steps = world.settings.episode_length
    batches = plan.starts[:, None] + np.arange(steps)
    work = world.batches.batch_work[batches] * world.settings.rate_scale
    capacity = np.concatenate([[0.0], node_capacity(world)])
    with np.errstate(divide="ignore", invalid="ignore"):  # no nodes: inf, or 0 for no work
        times = work[:, None, :] / capacity[None, :, None]
    return np.where(work[:, None, :] == 0, 0.0, times)


class PlannedScheduler:
    """Plays fixed plans in the scheduler's role: env e holds ``nodes[e, t]`` nodes
    on after step t (an :class:`~marl_part.evaluation.evaluate.Actor`)."""

    source = "the hindsight plan"

    def __init__(self, world: World, nodes: np.ndarray, obs_dim: int, nvec: tuple[int, ...]):
        self.obs_dim, self.nvec = obs_dim, tuple(nvec)
        self.step = 0
        y, slots = world.max_scale_step, world.cluster.slots_per_node
        before = np.concatenate([np.full((len(nodes), 1), world.cluster.initial_nodes),
                                 nodes[:, :-1]], axis=1)
        scale = nodes - 1 if world.settings.scheduler.action == "target" else nodes - before + y
        parallelism = np.minimum(nodes * slots, world.max_partitions) - 1
        self.actions = np.stack([scale, parallelism][:len(self.nvec)], axis=2)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        action = self.actions[:, self.step]
        self.step += 1
        return action
