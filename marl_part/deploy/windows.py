"""The simulator's side of a deployment: the windows an engine replays, the table its
router holds for each, and what the simulator predicts for them.

The replay is the start of the test period: its first ``batches`` micro-batches,
played as the period's consecutive episodes (each starts from the config's initial
cluster, as every scored episode does), one window per micro-batch. The partitioner's
decisions reach the engine as :mod:`marl_part.deploy.engine` says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from marl_part.config import EnvConfig
from marl_part.deploy.engine import AsDecided, KeyGroups, PreviousWindow, Routed
from marl_part.errors import InputError
from marl_part.evaluation.evaluate import Actor, Episodes, period_episodes, rollout
from marl_part.sim.routing import KeyRouting, deal_hot_tuples
from marl_part.workloads.trace import GOLDEN, mix64

# how a job routes: a router dealing a key's tuples round-robin over the subtasks of its
# table, or sending each to the less loaded of its two (PKG); Flink's keyBy (no table);
# or, when the active subtasks change, a router holding keyBy's key groups over them
DEAL, LEAST_LOADED, KEYBY, KEY_GROUPS = "deal", "least_loaded", "keyby", "key_groups"


@dataclass
class Window:
    """One micro-batch as the engine replays it."""

    keys: np.ndarray  # key id of each tuple, in arrival order
    work: np.ndarray  # work units of each tuple
    subtask: np.ndarray  # where the simulator's routing sends each tuple
    table: dict[int, tuple[int, ...]]  # the router's: key -> its subtasks
    speed: np.ndarray  # (active subtasks,) work units per second of each
    simulated: dict[str, float]  # the simulator's metrics of this batch

    @property
    def n_active(self) -> int:
        return len(self.speed)

    def loads(self, parallelism: int) -> np.ndarray:
        """Tuples per subtask under the simulator's routing."""
        return np.bincount(self.subtask, minlength=parallelism)


@dataclass
class Replay:
    partitioner: str  # the policy spec or checkpoint
    rule: str  # DEAL, LEAST_LOADED, KEYBY or KEY_GROUPS
    windows: list[Window]
    reward: float  # the team reward summed over the replayed batches
    rate_scale: float  # the config's: work x rate_scale is a batch's load

    @property
    def parallelism(self) -> int:
        """Subtasks the job needs: the most any window has active."""
        return max(w.n_active for w in self.windows)


def engine_for(config: EnvConfig) -> type[AsDecided]:
    """How the config's partitioner reaches an engine: pkg as decided, hash as Flink's
    keyBy, any other one window late."""
    name = config.role_fills()["partitioner"].split(":")[0]
    return {"pkg": AsDecided, "hash": KeyGroups}.get(name, PreviousWindow)


def replay(config: EnvConfig, actors: dict[str, Actor], batches: int,
           partitioner: str) -> Replay:
    """The first ``batches`` micro-batches of the test period, played with the config's
    roles (learned ones by ``actors``) through the engine :func:`engine_for` picks."""
    engines: list[AsDecided] = []

    def engine(simulation):
        engines.append(engine_for(config)(simulation))
        return engines[-1]

    plan = replay_episodes(config, batches)
    run = rollout(config, actors, plan, engine=engine)
    steps = config.episode_length
    per_step = [_env_windows(routed, run.metrics, step, config)
                for step, routed in enumerate(engines[0].routed)]
    windows = [per_step[step][env] for env in range(len(plan)) for step in range(steps)]
    rule = rule_of(engines[0])
    if rule == KEYBY and len({w.n_active for w in windows[:batches]}) > 1:
        rule = KEY_GROUPS  # keyBy cannot route onto a subset of its subtasks
    return Replay(partitioner, rule, windows[:batches],
                  float(run.reward.T.reshape(-1)[:batches].sum()), config.rate_scale)


def rule_of(engine: AsDecided) -> str:
    return KEYBY if isinstance(engine, KeyGroups) else (
        DEAL if isinstance(engine, PreviousWindow) else LEAST_LOADED)


def replay_episodes(config: EnvConfig, batches: int) -> Episodes:
    """The test period's first consecutive episodes that hold ``batches`` batches."""
    episodes = period_episodes(config, "test", None, 1)
    n = math.ceil(batches / config.episode_length)
    if batches < 1 or n > episodes.count:
        raise InputError(f"give 1 to {episodes.count * config.episode_length} (the test "
                         f"period's {episodes.count} episodes of {config.episode_length})",
                         "--batches")
    return Episodes(episodes.period, episodes.starts[:n], episodes.seeds[:n],
                    episodes.episode[:n], episodes.split)


def _env_windows(routed: Routed, metrics: dict[str, np.ndarray], step: int,
                 config: EnvConfig) -> list[Window]:
    """Every env's window of one step."""
    view, routing = routed.view, routed.routing
    index, _, starts = view.tuples()
    trace = view.batches.trace
    if isinstance(routing, KeyRouting):
        subtask = routing.row_partition[view.tuple_row_position()]
        if routing.hot_split is not None:
            subtask = deal_hot_tuples(view, subtask, routing.hot_split, view.hot_valid)
    else:
        subtask = routing.tuple_partition
    windows = []
    for env in range(view.n_envs):
        tuples = slice(starts[env], starts[env + 1])
        n = int(routed.n_active[env])
        windows.append(Window(
            trace.keys[index[tuples]], trace.work[index[tuples]], subtask[tuples],
            _table(view, routing, env, n), routed.speed[env, :n].copy(),
            {name: float(metrics[name][step, env])
             for name in ("latency", "batch_time", "imbalance", "backlog")}))
    return windows


def _table(view, routing, env: int, n_active: int) -> dict[int, tuple[int, ...]]:
    """The router's table of ``env``'s window: each key's subtasks, a split key's in the
    order its tuples are dealt; for a per-tuple routing (PKG), each key's two hash
    choices."""
    rows = slice(view.row_start[env], view.row_start[env + 1])
    keys = view.key[rows]
    if not isinstance(routing, KeyRouting):
        key_hash = view.batches.trace.key_hash[keys]
        first = key_hash % np.uint64(n_active)
        second = mix64(key_hash + GOLDEN) % np.uint64(n_active)
        return {int(k): (int(a), int(b)) for k, a, b in zip(keys, first, second)}
    table = {int(k): (int(p),) for k, p in zip(keys, routing.row_partition[rows])}
    if routing.hot_split is not None:
        for row, split in zip(view.hot[env], routing.hot_split[env]):
            if row >= 0:
                table[int(view.key[row])] = tuple(dict.fromkeys(int(p) for p in split))
    return table
