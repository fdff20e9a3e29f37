"""Tuning baseline pairs, and the hindsight-best static cluster.

A learned team is worth only what it gains over the best the classical methods can do
on the same workload, so every pair is compared at its defaults *and* at the knobs
that score best on this workload:

* **Search** on the *validation* period's non-overlapping episodes (``tune.episodes``
  of them, spread over the period), later than every batch the learners train on and
  earlier than every batch anything is scored on (``workload.periods``), with seeds
  from a pool of their own (:func:`tuning_seed`): every knob the pair's specs leave
  open is searched over its grid (:meth:`Knob.grid_for`, or ``tune.grid``; the default
  always included). A grid of at most ``max_settings`` points is searched whole, a
  larger one a knob at a time from the defaults (coordinate search, repeated while it
  improves, at most :data:`SWEEPS` times). Each setting scores its mean team return
  over the episodes; a setting replaces the default only if strictly better. Many
  settings run as one batched world: knob values are per-env arrays.
* **Scoring** on the test period's episodes, which the search never saw, like any pair
  (:func:`~marl_part.evaluation.evaluate.evaluate`).
* **The oracle static**: for scenarios whose scheduler is part of the task, the static
  cluster size that scores best *on the scored episodes themselves*, beside the best
  of the tuned pairs' partitioners (each is tried at every size). It is chosen in
  hindsight among fixed sizes, so it bounds what any *fixed* size gains, not what a
  scheduler that changes the size can (that is :mod:`~marl_part.evaluation.hindsight`);
  it is labelled an oracle.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from marl_part.baselines import baseline_class, parse_policy
from marl_part.baselines.knobs import Knob, Value, format_value, spec_string
from marl_part.config import EnvConfig, TuneSettings
from marl_part.evaluation.evaluate import Episodes, EvalResult, evaluate, period_episodes, rollout
from marl_part.evaluation.hindsight import Hindsight, hindsight
from marl_part.evaluation.stats import mean_ci95
from marl_part.evaluation.tasks import Runner, run_in_turn
from marl_part.progress import log_above, run_shown
from marl_part.scenarios import LEARN, load_scenario

# the spawn key that sets tuning's episodes apart from evaluation's SeedSequence([seed,
# episode]) and from a training run's env streams SeedSequence(seed).spawn(n) ("tune")
TUNING_POOL = 0x74756E65
SWEEPS = 3  # coordinate search: passes over the knobs, while one improves
MAX_ENVS = 256  # envs of one batched world (memory grows with envs x keys)
ORACLE, NO_KNOBS, HINDSIGHT = "oracle", "no knobs", "hindsight"
BEST_KINDS = ("tuned", NO_KNOBS)  # the rows among which the best classical pair is


def tuning_seed(episode: int) -> np.random.SeedSequence:
    """The seeds of tuning's episode ``episode``: a pool of its own (spawn key
    ``TUNING_POOL``), apart from every scored episode's."""
    return np.random.SeedSequence(episode, spawn_key=(TUNING_POOL,))


def tuning_episodes(config: EnvConfig, episodes: int | None) -> Episodes:
    """The validation period's episodes a search scores its settings on."""
    return period_episodes(config, "validation", episodes, 1, lambda _s, e: tuning_seed(e))


@dataclass(frozen=True)
class Axis:
    """One knob a search varies: the role and baseline it belongs to, and its values."""

    role: str
    baseline: str
    knob: Knob
    values: tuple[Value, ...]

    @property
    def label(self) -> str:
        return f"{self.baseline}.{self.knob.name}"


Setting = dict[Axis, Value]


@dataclass
class Tuning:
    """The outcome of one pair's search."""

    pair: dict[str, str]  # role -> spec, as listed
    tuned: dict[str, str]  # role -> spec with every searched knob at its chosen value
    axes: list[Axis]
    method: str  # "grid", "coordinate", or "none" (no knob left open)
    settings_scored: int
    episodes: int  # validation episodes per setting
    default_score: dict[str, float] | None  # mean team return on them, 95% interval
    tuned_score: dict[str, float] | None  # (None: no knob to search, nothing scored)
    kept_default: bool  # no setting beat the defaults on the validation episodes
    held_out: bool = True  # the validation period is apart from the scored test period

    @property
    def searched(self) -> str:
        """``baseline.knob {values}, ...``: what was tuned over what (for tables)."""
        return "; ".join(f"{a.label} {{{', '.join(format_value(v) for v in a.values)}}}"
                         for a in self.axes) or "no knobs"

    def to_json(self) -> dict:
        return {"pair": self.pair, "tuned": self.tuned, "method": self.method,
                "searched": {a.label: list(a.values) for a in self.axes},
                "settings_scored": self.settings_scored, "validation_episodes": self.episodes,
                "kept_default": self.kept_default,
                "validation_score": {"default": self.default_score, "tuned": self.tuned_score}}


def with_pair(config: EnvConfig, pair: dict[str, str]) -> EnvConfig:
    """``config`` with the pair's baselines in its roles."""
    return dataclasses.replace(config, roles={**config.roles, **pair})


def search_axes(config: EnvConfig, pair: dict[str, str],
                grid: dict[str, dict[str, tuple[float, ...]]]) -> list[Axis]:
    """The knobs of the pair's baselines that its specs leave open, with the values to
    try: ``grid[baseline][knob]`` or the knob's own grid, the default always among them."""
    axes = []
    for role, spec in pair.items():
        policy = parse_policy(role, spec, config)
        for knob in baseline_class(role, policy.name).knobs:
            if knob.name in policy.knobs:
                continue  # fixed by the spec
            given = grid.get(policy.name, {}).get(knob.name)
            values = knob.grid_for(config) if given is None else tuple(
                sorted({knob.parse(v) for v in given} | {knob.default_for(config)}))
            axes.append(Axis(role, policy.name, knob, values))
    return axes


def spec_of(pair: dict[str, str], setting: Setting, config: EnvConfig) -> dict[str, str]:
    """The pair's specs with the setting's knobs written out."""
    out = {}
    for role, spec in pair.items():
        policy = parse_policy(role, spec, config)
        chosen = {a.knob.name: v for a, v in setting.items() if a.role == role}
        out[role] = spec_string(policy.name, {**policy.knobs, **chosen})
    return out


def episode_returns(config: EnvConfig, settings: list[Setting], episodes: Episodes
                    ) -> np.ndarray:
    """(settings, episodes): the team return of every setting on every episode (the
    mean over its seeds), many settings per batched world."""
    per_run = max(1, MAX_ENVS // len(episodes))
    out = np.empty((len(settings), episodes.count))
    for start in range(0, len(settings), per_run):
        chunk = settings[start:start + per_run]
        knobs: dict[str, dict[str, np.ndarray]] = {}
        for axis in chunk[0]:
            values = np.repeat([setting[axis] for setting in chunk], len(episodes))
            knobs.setdefault(axis.role, {})[axis.knob.name] = values
        run = rollout(config, {}, episodes.repeated(len(chunk)), knobs)
        returns = run.reward.sum(axis=0).reshape(len(chunk), len(episodes))
        out[start:start + len(chunk)] = episodes.per_episode(returns)
    return out


class _Scores:
    """Scored settings, each once: mean training return by setting."""

    def __init__(self, config: EnvConfig, episodes: Episodes):
        self.config, self.episodes = config, episodes
        self.returns: dict[tuple, np.ndarray] = {}

    def score(self, settings: list[Setting]) -> list[float]:
        new = [s for s in settings if _key(s) not in self.returns]
        new = list({_key(s): s for s in new}.values())
        if new:
            values = episode_returns(self.config, new, self.episodes)
            self.returns.update({_key(s): v for s, v in zip(new, values)})
        return [float(self.returns[_key(s)].mean()) for s in settings]

    def best(self, candidates: list[Setting], incumbent: Setting) -> Setting:
        """The best candidate, or the incumbent unless one is strictly better."""
        means = self.score([incumbent, *candidates])
        best = int(np.argmax(means))
        return incumbent if means[best] <= means[0] else candidates[best - 1]


def _key(setting: Setting) -> tuple:
    return tuple(sorted((a.label, a.role, v) for a, v in setting.items()))


def tune_pair(config: EnvConfig, pair: dict[str, str], settings: TuneSettings) -> Tuning:
    """Search the pair's open knobs on validation episodes (module docstring)."""
    paired = with_pair(config, pair)
    axes = search_axes(paired, pair, settings.grid)
    episodes = tuning_episodes(paired, settings.episodes)
    if not axes:
        return Tuning(dict(pair), dict(pair), [], "none", 0, 0, None, None, True,
                      episodes.split)
    default = {a: a.knob.default_for(paired) for a in axes}
    scores = _Scores(paired, episodes)
    size = math.prod(len(a.values) for a in axes)
    if size <= settings.max_settings:
        method = "grid"
        grid = [dict(zip(axes, values)) for values in itertools.product(*(a.values for a in axes))]
        best = scores.best(grid, default)
    else:
        method, best = "coordinate", default
        for _ in range(SWEEPS):
            start = best
            for axis in axes:
                best = scores.best([{**best, axis: v} for v in axis.values], best)
            if best == start:
                break
    default_returns, best_returns = (scores.returns[_key(s)] for s in (default, best))
    return Tuning(pair=dict(pair), tuned=spec_of(pair, best, paired), axes=axes, method=method,
                  settings_scored=len(scores.returns), episodes=episodes.count,
                  default_score=mean_ci95(default_returns), tuned_score=mean_ci95(best_returns),
                  kept_default=best == default, held_out=episodes.split)


@dataclass
class OracleStatic:
    """The static size that scores best on the scored episodes themselves."""

    pair: dict[str, str]  # the partitioner (if the pair names one) and static:nodes=k
    nodes: int
    by_size: dict[int, float]  # mean evaluation return of every size

    def to_json(self) -> dict:
        return {"pair": self.pair, "nodes": self.nodes,
                "mean_return_by_nodes": {str(k): v for k, v in self.by_size.items()}}


def scheduler_is_learned(config: EnvConfig) -> bool:
    """Whether sizing the cluster is part of the scenario's task."""
    return load_scenario(config.scenario, Path(config.base_dir)).ROLES.get("scheduler") == LEARN


def oracle_static(config: EnvConfig, partitioner: str | None, episodes: int | None,
                  seeds: int) -> OracleStatic | None:
    """Every static size 1..N with ``partitioner`` (or the config's), scored on the
    test period's episodes; None where the scheduler is no part of the task or the
    partitioner is learned."""
    pair = ({"partitioner": partitioner} if partitioner else {}) | {"scheduler": "static"}
    paired = with_pair(config, pair)
    if not scheduler_is_learned(config) or paired.role_fills().get("partitioner") == LEARN:
        return None
    (axis,) = search_axes(paired, {"scheduler": "static"}, {})
    sizes = [{axis: n} for n in range(1, config.cluster.max_nodes + 1)]
    means = episode_returns(paired, sizes,
                            period_episodes(config, "test", episodes, seeds)).mean(axis=1)
    best = int(np.argmax(means)) + 1
    return OracleStatic({**pair, "scheduler": f"static:nodes={best}"}, best,
                        {n + 1: float(m) for n, m in enumerate(means)})


@dataclass
class BarRow:
    """One row of a comparison: a pair at its defaults, tuned, the oracle static, or the
    hindsight plan."""

    kind: str  # default, tuned, NO_KNOBS (a pair with nothing to tune), ORACLE or HINDSIGHT
    pair: dict[str, str]
    result: EvalResult
    tuning: Tuning | None = None
    oracle: OracleStatic | None = None
    hindsight: Hindsight | None = None

    @property
    def label(self) -> str:
        text = " + ".join(f"{role}={spec}" for role, spec in self.pair.items())
        return f"{text} ({self.kind})"

    def to_json(self) -> dict:
        return {"kind": self.kind, "pair": self.pair, "eval": self.result.to_json(),
                "tuning": self.tuning and self.tuning.to_json(),
                "oracle": self.oracle and self.oracle.to_json(),
                "hindsight": self.hindsight and self.hindsight.to_json()}


def classical_bar(config: EnvConfig, pairs: tuple[dict[str, str], ...], settings: TuneSettings,
                  episodes: int | None, seeds: int, log=log_above,
                  run_all: Runner = run_in_turn) -> list[BarRow]:
    """Every pair at its defaults and tuned, the oracle static and the hindsight plan,
    each scored on the test period's episodes (``episodes`` of them or all, x
    ``seeds``, as ``eval`` runs them). Each pair is one task of ``run_all``; then each
    distinct partitioner of the tuned pairs is one task sized in hindsight (the best is
    the oracle) and one task planned in hindsight (the best is the hindsight row). A
    progress bar counts the tasks done."""
    def pair_done(_index: int, pair_rows: list[BarRow]) -> None:
        row = pair_rows[-1]
        log(f"  {row.label}: {row.tuning.settings_scored} settings scored "
            f"({row.tuning.method}), team reward {row.result.team_reward['mean']:.4g}")

    calls = [partial(tuned_rows, config, pair, settings, episodes, seeds) for pair in pairs]
    rows = [row for pair_rows in run_shown(run_all, calls, pair_done, "tuning and scoring",
                                           "pairs") for row in pair_rows]
    partitioners = list(dict.fromkeys(r.pair.get("partitioner") for r in rows
                                      if r.kind in BEST_KINDS))
    for kind, row_of in ((ORACLE, oracle_row), (HINDSIGHT, hindsight_row)):
        calls = [partial(row_of, config, partitioner, episodes, seeds)
                 for partitioner in partitioners]
        found = [row for row in run_shown(run_all, calls, lambda *_: None, kind, "partitioners")
                 if row is not None]
        if found:
            best = max(found, key=lambda r: r.result.team_reward["mean"])
            rows.append(best)
            log(f"  {best.label}: team reward {best.result.team_reward['mean']:.4g}")
    return rows


def _scored(config: EnvConfig, pair: dict[str, str], episodes: int | None,
            seeds: int) -> EvalResult:
    paired = with_pair(config, pair)
    return evaluate(paired, {}, episodes, seeds, {**paired.role_fills(), **pair})


def tuned_rows(config: EnvConfig, pair: dict[str, str], settings: TuneSettings,
               episodes: int | None, seeds: int) -> list[BarRow]:
    """One pair's rows: at its defaults and tuned, or once if it has no knobs."""
    tuning = tune_pair(config, pair, settings)
    if not tuning.axes:
        return [BarRow(NO_KNOBS, dict(pair), _scored(config, pair, episodes, seeds),
                       tuning=tuning)]
    default = _scored(config, pair, episodes, seeds)  # the tuned row's too if it kept it
    return [BarRow("default", dict(pair), default),
            BarRow("tuned", tuning.tuned, default if tuning.kept_default
                   else _scored(config, tuning.tuned, episodes, seeds), tuning=tuning)]


def oracle_row(config: EnvConfig, partitioner: str | None, episodes: int | None,
               seeds: int) -> BarRow | None:
    """The oracle static's row (:func:`oracle_static`), or None where it has none."""
    oracle = oracle_static(config, partitioner, episodes, seeds)
    return oracle and BarRow(ORACLE, oracle.pair, _scored(config, oracle.pair, episodes, seeds),
                             oracle=oracle)


def hindsight_row(config: EnvConfig, partitioner: str | None, episodes: int | None,
                  _seeds: int) -> BarRow | None:
    """The hindsight plan's row with ``partitioner`` (or the config's), or None where
    the scheduler is no part of the task or the partitioner is learned."""
    partitioner = partitioner or config.role_fills().get("partitioner")
    if not scheduler_is_learned(config) or partitioner in (None, LEARN):
        return None
    plan = hindsight(config, partitioner, episodes)
    return BarRow(HINDSIGHT, {"partitioner": partitioner, "scheduler": "hindsight plan"},
                  plan.result, hindsight=plan)


def best_row(rows: list[BarRow]) -> BarRow | None:
    """The best classical pair: the highest mean team reward among the tuned pairs and
    the pairs with no knobs to tune."""
    candidates = [r for r in rows if r.kind in BEST_KINDS]
    return max(candidates, key=lambda r: r.result.team_reward["mean"]) if candidates else None


def tuning_note(rows: list[BarRow]) -> str:
    """What the tuned and oracle rows of a comparison were searched over, as a paragraph."""
    tuned = [r.tuning for r in rows if r.kind == "tuned"]
    oracles = [r.oracle for r in rows if r.kind == ORACLE]
    plans = [r.hindsight for r in rows if r.kind == HINDSIGHT]
    parts = []
    if tuned:
        parts.append(
            f"*tuned*: each pair's knobs searched on {tuned[0].episodes} episodes of the "
            + ("validation period (never the scored ones)" if tuned[0].held_out else
               "stream (no held-out periods: the scored episodes are among them)")
            + " for the highest mean team reward, the default included: " + "; ".join(
                f"{' + '.join(t.pair.values())}: {t.searched} ({t.method}, "
                f"{t.settings_scored} settings{', default kept' if t.kept_default else ''})"
                for t in tuned) + ".")
    for oracle in oracles:
        sizes = ", ".join(f"{n}: {v:.4g}" for n, v in oracle.by_size.items())
        partitioner = oracle.pair.get("partitioner", "the config's")
        parts.append(f"*oracle*: the static size with the best mean team reward on these "
                     f"scored episodes themselves (chosen in hindsight among fixed sizes: "
                     f"not a policy, and no bound on a scheduler that changes the size), "
                     f"with the best of the tuned pairs' partitioners, here "
                     f"{partitioner}; by nodes: {sizes}.")
    for plan in plans:
        modelled, bound = mean_ci95(plan.modelled), mean_ci95(plan.bound)
        parts.append(
            f"*hindsight*: not a policy: per scored episode, a dynamic programme over node "
            f"counts that knows the episode's batches (the provisioning delay, at most "
            f"max_scale_step nodes a step), with the best of the tuned pairs' partitioners, "
            f"here {plan.partitioner}; its plans replayed in the simulator (the programme "
            f"itself expected {modelled['mean']:.4g}). *bound*: no policy pair can score more "
            f"than {bound['mean']:.4g} ± {bound['ci95']:.2g} on these episodes (perfect "
            f"balance, nothing split, moved or stored twice, the real node timing).")
    return "\n\n".join(parts)
