"""The typed config of a run, loaded strictly from YAML (see :mod:`marl_part.typed_yaml`).

Its dataclasses come from modules that import no simulator, numba, pandas or torch; the
checks that need the baselines, the reward terms or the env import them where they run,
so that a config refused for its structure (a bad key, a bad value) is refused at once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from marl_part import typed_yaml
from marl_part.envs.wrappers import Wrapper
from marl_part.errors import FieldError, InputError, one_of
from marl_part.scenarios import LEARN, load_scenario
from marl_part.sim.settings import WorldSettings
from marl_part.trainers.configs import EVAL_REWARD, AlgorithmConfig, ImitationConfig, MAPPOConfig
from marl_part.workloads import WorkloadConfig, load_batches

STR_TAG = "tag:yaml.org,2002:str"
MAX_NAME = 100  # characters of a run or variant name
MAX_EPISODES = 10_000  # envs stepped together: an evaluation's episodes x seeds, n_envs


def check_pairs(key: str, pairs, settings: WorldSettings | None = None,
                section: str | None = None) -> None:
    """Every baseline spec of every pair, as a :class:`FieldError` on ``key`` (or on
    ``section`` when given: a cross-section check of ``Config``)."""
    from marl_part.baselines import ROLES, parse_policy

    for index, pair in enumerate(pairs):
        for role, spec in pair.items():
            try:
                if role not in ROLES:
                    raise InputError(f"unknown role '{role}'; roles are {one_of(ROLES)}")
                parse_policy(role, spec, settings)
            except InputError as exc:
                where = f"{key}[{index}]" if section else f"[{index}]"
                raise FieldError(section or key, f"{where} {role}: {exc}") from None


def check_grid(grid: dict[str, dict[str, tuple[float, ...]]],
               settings: WorldSettings | None = None, section: str | None = None) -> None:
    """``tune.grid``: known baselines and knobs, values within the knobs' ranges."""
    from marl_part.baselines import baseline_named
    from marl_part.baselines.knobs import parse_knobs

    field_name, prefix = (section, "grid.") if section else ("grid", "")
    for name, knobs in grid.items():
        try:
            cls = baseline_named(name)
        except InputError as exc:
            raise FieldError(field_name, f"{prefix}{exc}") from None
        for knob, values in knobs.items():
            try:
                if not values:
                    raise InputError(f"{knob}: give at least one value")
                for value in values:
                    parse_knobs(cls.knobs, name, {knob: value}, settings)
            except InputError as exc:
                raise FieldError(field_name, f"{prefix}{name}: {exc}") from None

@dataclass(frozen=True, kw_only=True)
class EnvConfig(WorldSettings):
    """What an environment needs: scenario, workload, world settings, roles, reward."""

    scenario: str  # a shipped scenario, a dotted module path or a .py file
    workload: WorkloadConfig
    # role -> "learn" or a baseline, NAME or NAME:knob=value,... (marl_part.baselines.knobs)
    roles: dict[str, str] = field(default_factory=dict)
    reward: dict[str, float] = field(default_factory=dict)  # term -> weight
    wrappers: tuple[Wrapper, ...] = ()  # SuperSuit wrappers, applied in order
    base_dir: str = "."  # folder relative paths start from (default: the config's folder)

    def __post_init__(self):
        from marl_part.baselines import BASELINES, ROLES, baseline_class, parse_policy
        from marl_part.sim.rewards import TERMS

        if self.episode_length < 1:
            raise FieldError("episode_length", "must be at least 1")
        if self.rate_scale <= 0:
            raise FieldError("rate_scale", "must be positive")
        if self.clock and self.workload.batch.rate_profile is None:
            raise FieldError("clock", "shows the phase of workload.batch.rate_profile; this "
                             "workload has none (or set clock: false)")
        try:
            scenario = load_scenario(self.scenario, Path(self.base_dir))
        except InputError as exc:
            raise FieldError("scenario", exc.message if exc.key else str(exc)) from None
        for role, fill in self.roles.items():
            if role not in ROLES:
                raise FieldError("roles", f"unknown role '{role}'; roles are {one_of(ROLES)}")
            learnable = scenario.ROLES.get(role) == LEARN
            allowed = ([LEARN] if learnable else []) + list(BASELINES[role])
            if fill.partition(":")[0].strip() not in allowed:
                raise FieldError("roles", f"{role}: '{fill}' is not available in scenario "
                                 f"'{self.scenario}'; allowed: {one_of(allowed)}")
            if fill != LEARN:
                try:
                    parse_policy(role, fill, self)
                except InputError as exc:
                    raise FieldError("roles", f"{role}: {exc}") from None
        try:
            tail = parse_policy("partitioner", self.partitioner.tail, self)
        except InputError as exc:
            raise FieldError("partitioner", f"tail: {exc}") from None
        if self.partitioner.tail_stay is not None and baseline_class("partitioner",
                                                                      tail.name).per_tuple:
            raise FieldError("partitioner", f"tail_stay keeps keys with their state; the "
                             f"tail router '{tail.name}' routes tuples, not keys")
        for term, weight in self.reward.items():
            if term not in TERMS:
                raise FieldError("reward", f"unknown term '{term}'; terms are {one_of(TERMS)}")
            if weight < 0:
                raise FieldError("reward", f"{term}: weights are non-negative (terms are costs)")

    def role_fills(self) -> dict[str, str]:
        """Every role's fill: the scenario's defaults overridden by ``roles``."""
        scenario = load_scenario(self.scenario, Path(self.base_dir))
        return {**scenario.ROLES, **self.roles}


@dataclass(frozen=True)
class TrainSettings:
    """The budget and evaluation of ``marl-part train``."""

    budget_env_steps: int = 200_000  # env steps (micro-batches, summed over envs)
    n_envs: int = 32  # training envs, stepped together in one batched vector env
    eval_every_env_steps: int = 20_000
    eval_episodes: int = 8  # episodes of each evaluation during training (validation period)
    # the final evaluation, as ``marl-part eval``: the test period's non-overlapping
    # episodes (this many, spread over it; null: all) ...
    final_episodes: int | None = None
    final_seeds: int = 1  # ... each under this many seeds (they change what is random)
    # baseline pairs evaluated beside the learned policy at the end (roles they name),
    # each at its knobs and tuned (see ``tune:``)
    compare_with: tuple[dict[str, str], ...] = ()
    # behaviour cloning of fixed policies before training (marl_part.trainers.imitation)
    imitation: ImitationConfig | None = None

    def __post_init__(self):
        for name in ("budget_env_steps", "n_envs", "eval_every_env_steps", "eval_episodes",
                     "final_episodes", "final_seeds"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise FieldError(name, "must be at least 1")
        for name in ("n_envs", "eval_episodes"):
            if getattr(self, name) > MAX_EPISODES:
                raise FieldError(name, f"at most {MAX_EPISODES:,}")
        if (self.final_episodes or 1) * self.final_seeds > MAX_EPISODES:
            raise FieldError("final_episodes", f"final_episodes x final_seeds at most "
                             f"{MAX_EPISODES:,}")
        check_pairs("compare_with", self.compare_with)
        if self.imitation is not None:
            check_pairs("imitation", [self.imitation.teacher])


def check_folder_name(field_name: str, name: str) -> None:
    """``name`` becomes a folder under ``runs/``: refuse one that would leave it."""
    if (not name.strip() or name in (".", "..") or any(c in name for c in "/\\")
            or not name.isprintable() or len(name) > MAX_NAME):
        raise FieldError(field_name, f"{name!r} is no plain folder name (it names a folder "
                         f"under runs/): give up to {MAX_NAME} printable characters, no "
                         "'/' or '\\', not '.' or '..'")


@dataclass(frozen=True)
class AblationVariant:
    name: str  # the row label, and the folder of its runs
    set: tuple[str, ...] = ()  # overrides of the config, as --set key=value

    def __post_init__(self):
        check_folder_name("name", self.name)


@dataclass(frozen=True)
class AblateSettings:
    """What ``marl-part ablate`` trains and compares."""

    variants: tuple[AblationVariant, ...]  # each trained once per seed
    seeds: int = 5
    baselines: tuple[dict[str, str], ...] = ()  # baseline pairs in the same table, also tuned
    # over training seeds: mean with a Student-t 95% interval, or IQM with a percentile
    # bootstrap (as rliable), which needs MIN_IQM_SEEDS seeds
    statistic: Literal["mean", "iqm"] = "mean"

    # below, a 25% trim drops at most 2 seeds per side and a percentile bootstrap of
    # so few values undercovers
    MIN_IQM_SEEDS: ClassVar[int] = 10

    def __post_init__(self):
        if self.seeds < 1:
            raise FieldError("seeds", "must be at least 1")
        if self.statistic == "iqm" and self.seeds < self.MIN_IQM_SEEDS:
            raise FieldError("statistic", f"an IQM's bootstrap interval needs at least "
                             f"{self.MIN_IQM_SEEDS} seeds (with {self.seeds}, a 25% trim drops "
                             f"at most {self.seeds // 4} per side); use mean (Student-t)")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise FieldError("variants", f"names must differ, got {names}")
        check_pairs("baselines", self.baselines)


@dataclass(frozen=True)
class TuneSettings:
    """What ``marl-part tune`` searches; ``train`` and ``ablate`` tune their pairs alike."""

    pairs: tuple[dict[str, str], ...] = ()  # baseline pairs (default: train.compare_with)
    # the validation period's non-overlapping episodes each setting is scored on (this
    # many, spread over it; null: all)
    episodes: int | None = 8
    max_settings: int = 64  # a pair with a larger grid is searched one knob at a time
    # baseline -> knob -> the values to try, instead of the knob's declared grid
    grid: dict[str, dict[str, tuple[float, ...]]] = field(default_factory=dict)

    def __post_init__(self):
        if (self.episodes is not None and self.episodes < 1) or self.max_settings < 1:
            raise FieldError("episodes", "episodes and max_settings must be at least 1")
        check_pairs("pairs", self.pairs)
        check_grid(self.grid)


RANGES = ("values", "uniform", "log_uniform", "integers")
SWEEP_FIXED = ("name", "seed", "base_dir", "train", "ablate", "tune", "sweep")
MAX_TRIALS = 1000


@dataclass(frozen=True)
class SweepRange:
    """The values a sweep gives one config key: a list (``values``: grid or random), or
    for random search a range, ``[low, high]``: ``uniform``, ``log_uniform`` (uniform in
    the logarithm) or ``integers`` (both ends included)."""

    values: tuple[Any, ...] = ()
    uniform: tuple[float, ...] = ()
    log_uniform: tuple[float, ...] = ()
    integers: tuple[int, ...] = ()

    def __post_init__(self):
        if len([kind for kind in RANGES if getattr(self, kind)]) != 1:
            raise FieldError("values", f"give exactly one of: {', '.join(RANGES)}")
        for kind in RANGES[1:]:
            bounds = getattr(self, kind)
            if bounds and (len(bounds) != 2 or not bounds[0] < bounds[1]):
                raise FieldError(kind, f"give [low, high] with low < high, got {list(bounds)}")
        if self.log_uniform and self.log_uniform[0] <= 0:
            raise FieldError("log_uniform", "its bounds must be positive")

    @property
    def kind(self) -> str:
        return next(kind for kind in RANGES if getattr(self, kind))

    def probes(self) -> tuple[Any, ...]:
        """The values a config must load with: every listed value, or both bounds."""
        return getattr(self, self.kind)


@dataclass(frozen=True)
class SweepSettings:
    """What ``marl-part sweep`` varies, how many trials it runs and what it optimises;
    ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys
    2020) stops the trials behind at each rung of evaluations."""

    params: dict[str, SweepRange]  # a dotted config key (as --set takes) -> its values
    search: Literal["random", "grid"] = "random"
    trials: int | None = None  # random: draws; grid: every combination (give none, or its size)
    metric: str = EVAL_REWARD  # maximised: the evaluation reward training logs
    grace_evaluations: int = 1  # evaluations every trial gets before ASHA may stop it
    reduction_factor: int = 2  # ASHA keeps the best 1/reduction_factor at each rung

    def __post_init__(self):
        if not self.params:
            raise FieldError("params", "name at least one config key to vary")
        for key, values in self.params.items():
            if key.split(".")[0].split("[")[0] in SWEEP_FIXED:
                raise FieldError("params", f"{key}: not varied by a sweep (the run's "
                                 f"identity, its budget and other commands' sections: "
                                 f"{', '.join(SWEEP_FIXED)}); vary learner, world, "
                                 "reward or workload keys")
            if self.search == "grid" and values.kind != "values":
                raise FieldError("params", f"{key}: a grid takes a values: [...] list, "
                                 f"not {values.kind}")
        if self.metric != EVAL_REWARD:
            raise FieldError("metric", f"got '{self.metric}'; allowed: {one_of([EVAL_REWARD])}")
        if self.search == "random" and self.trials is None:
            raise FieldError("trials", "random search needs a number of trials")
        if self.trials is not None and not 1 <= self.trials <= MAX_TRIALS:
            raise FieldError("trials", f"give 1 to {MAX_TRIALS:,}, got {self.trials}")
        if self.search == "grid" and self.trials not in (None, self.grid_size):
            raise FieldError("trials", f"the grid has {self.grid_size} combinations; give "
                             f"{self.grid_size} or leave trials out")
        if self.grace_evaluations < 1 or self.reduction_factor < 2:
            raise FieldError("grace_evaluations", "grace_evaluations at least 1, "
                             "reduction_factor at least 2")

    @property
    def grid_size(self) -> int:
        size = 1
        for values in self.params.values():
            size *= len(values.values)
        return size


@dataclass(frozen=True, kw_only=True)
class Config(EnvConfig):
    """A whole run: name, seed, learner and training besides the environment."""

    name: str = "run"  # run directories are runs/<name>-<timestamp>
    seed: int = 0
    learner: AlgorithmConfig = MAPPOConfig()  # ``algorithm: mappo | ippo | mappo_shared | qmix | idqn``
    train: TrainSettings = field(default_factory=TrainSettings)
    ablate: AblateSettings | None = None
    tune: TuneSettings = field(default_factory=TuneSettings)
    sweep: SweepSettings | None = None  # what ``marl-part sweep`` varies

    def __post_init__(self):
        from marl_part.baselines import baseline_class, parse_policy, teaches

        super().__post_init__()
        check_folder_name("name", self.name)
        if self.seed < 0:
            raise FieldError("seed", f"must not be negative, got {self.seed}")
        # ranges that depend on the cluster (static's nodes), now that it is known
        for section, key, pairs in (("train", "compare_with", self.train.compare_with),
                                    ("ablate", "baselines", self.ablate and self.ablate.baselines),
                                    ("tune", "pairs", self.tune.pairs)):
            check_pairs(key, pairs or (), self, section)
        check_grid(self.tune.grid, self, "tune")
        if self.train.imitation is not None:
            for role, spec in self.train.imitation.teacher.items():
                policy = parse_policy(role, spec)
                if not teaches(role, policy.name):
                    raise FieldError("train", f"imitation.teacher: {spec} decides per key or "
                                     f"tuple, not in the learned {role}'s action space; a "
                                     "teacher is a scheduler, or lpt")
                problem = baseline_class(role, policy.name).teaching_problem(policy.knobs, self)
                if problem:
                    raise FieldError("train", f"imitation.teacher: {problem}")

    def teachers(self) -> dict[str, str]:
        """The imitation teachers of the roles that learn here (a role a baseline fills,
        in an evaluation or a single-agent ablation, needs none)."""
        imitation, fills = self.train.imitation, self.role_fills()
        return {role: spec for role, spec in (imitation.teacher if imitation else {}).items()
                if fills.get(role) == LEARN}

    @property
    def tune_pairs(self) -> tuple[dict[str, str], ...]:
        """The pairs ``marl-part tune`` searches: ``tune.pairs``, else ``train.compare_with``."""
        return self.tune.pairs or self.train.compare_with


def load_config(path: str | Path, overrides=(), cls: type = Config,
                workload: yaml.Node | None = None) -> Config:
    """Load ``path`` strictly (:func:`read_config`), then build its env once
    (:func:`check_env`) and every ablation variant's and sweep value's."""
    config, node = read_config(path, overrides, cls, workload)
    try:
        check_env(config)
    except InputError as exc:
        raise _placed(exc, node, path) from None
    if getattr(config, "ablate", None) is not None:
        _check_variants(config.ablate, node, path, cls)
    if getattr(config, "sweep", None) is not None:
        _check_sweep(config.sweep, node, path, cls)
    return config


def read_config(path: str | Path, overrides=(), cls: type = Config,
                workload: yaml.Node | None = None) -> tuple[Config, yaml.Node]:
    """The config in ``path``, every key and value checked, with ``--set key=value``
    overrides applied and, if given, its ``workload`` replaced (see
    :func:`workload_node`); and its YAML node. Its env is not built: a command refuses
    bad input this way before it imports its work.

    ``base_dir`` defaults to the config file's folder; a relative one starts there.
    """
    node = typed_yaml.read_node(path)
    if workload is not None and isinstance(node, yaml.MappingNode):
        node.value = [(k, v) for k, v in node.value if k.value != "workload"]
        node.value.append((yaml.ScalarNode(STR_TAG, "workload"), workload))
    for assignment in overrides:
        typed_yaml.set_value(node, assignment)
    folder = Path(path).resolve().parent
    if isinstance(node, yaml.MappingNode):
        entry = next(((k, v) for k, v in node.value if k.value == "base_dir"), None)
        if entry is None:
            node.value.append((yaml.ScalarNode(STR_TAG, "base_dir"),
                               yaml.ScalarNode(STR_TAG, str(folder))))
        elif isinstance(entry[1], yaml.ScalarNode):
            entry[1].value = str(folder / entry[1].value)
    return typed_yaml.build(cls, node, str(path)), node


def check_env(config: EnvConfig) -> None:
    """Build the env ``config`` describes once, so that what only shows there (the
    trace, its batches, what a scenario or baseline needs, the sizes) is refused when
    the config is loaded, before a command starts its work; every period of the
    workload's split must hold an episode."""
    from marl_part.envs.parallel_env import make_parallel_env

    make_parallel_env(config)
    batches = load_batches(config.workload, config.cluster.batch_interval, Path(config.base_dir))
    batches.periods.check_fits(config.episode_length)


def _placed(error: InputError, node: yaml.Node, path: str | Path) -> InputError:
    """``error`` placed in the config file, at the line of the key it names."""
    line = typed_yaml.line_of(node, error.key) if error.key else None
    return error.in_file(f"{path}:{line}" if line else str(path))


def _check_variants(settings: AblateSettings, node: yaml.Node, path: str | Path,
                    cls: type) -> None:
    """Every ``ablate.variants[i].set`` gives a config that loads and builds."""
    for index, variant in enumerate(settings.variants):
        key = f"ablate.variants[{index}].set"
        varied = copy.deepcopy(node)
        try:
            for assignment in variant.set:
                typed_yaml.set_value(varied, assignment)
            check_env(typed_yaml.build(cls, varied, str(path)))
        except InputError as exc:  # named by the variant's line, not the file again
            detail = exc.message if exc.where == str(path) else str(exc)
            line = typed_yaml.line_of(node, key)
            raise InputError(f"variant '{variant.name}': {detail}",
                             f"{path}:{line}" if line else str(path), key=key) from None


def setting(key: str, value: Any) -> str:
    """``key=value`` as ``--set`` takes it, ``value`` written as YAML."""
    return f"{key}={yaml.safe_dump(value, default_flow_style=True, width=1 << 16).strip()}" \
        .removesuffix("\n...")


def _check_sweep(settings: SweepSettings, node: yaml.Node, path: str | Path, cls: type) -> None:
    """Every ``sweep.params`` key gives a config that loads and builds at each of its
    listed values and at both ends of its range."""
    for key, values in settings.params.items():
        for value in values.probes():
            varied = copy.deepcopy(node)
            try:
                typed_yaml.set_value(varied, setting(key, value))
                typed_yaml.set_value(varied, "sweep=null")
                check_env(typed_yaml.build(cls, varied, str(path)))
            except InputError as exc:
                detail = exc.message if exc.where == str(path) else str(exc)
                line = typed_yaml.line_of(node, "sweep.params")
                raise InputError(f"{key} = {value!r}: {detail}",
                                 f"{path}:{line}" if line else str(path),
                                 key="sweep.params") from None


def workload_node(spec: str) -> yaml.Node:
    """A workload given on the command line: a YAML file holding a workload mapping
    (``source: ...`` at its top, or under a ``workload:`` key, as in another config),
    or inline ``source=keys_csv,path=FILE,time_col=t,batch.tuples=500``. A relative
    trace path starts at the YAML file's folder, or here for inline specs."""
    if spec.endswith((".yaml", ".yml")):
        node, folder = typed_yaml.read_node(spec), Path(spec).resolve().parent
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == "workload"), node)
    else:
        node, folder = yaml.MappingNode("tag:yaml.org,2002:map", []), Path.cwd()
        for assignment in filter(None, spec.split(",")):
            typed_yaml.set_value(node, assignment)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "path" and isinstance(value, yaml.ScalarNode):
                value.value = str(folder / value.value)
    return node
