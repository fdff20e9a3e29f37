"""The typed config of a run, loaded strictly from YAML (see :mod:`marl_part.typed_yaml`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from marl_part import typed_yaml
from marl_part.baselines import BASELINES, ROLES
from marl_part.envs.wrappers import Wrapper
from marl_part.errors import FieldError, InputError, one_of
from marl_part.scenarios import LEARN, load_scenario
from marl_part.sim.rewards import TERMS
from marl_part.sim.world import WorldSettings
from marl_part.trainers.configs import AlgorithmConfig, MAPPOConfig
from marl_part.workloads import WorkloadConfig

STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True, kw_only=True)
class EnvConfig(WorldSettings):
    """What an environment needs: scenario, workload, world settings, roles, reward."""

    scenario: str  # a shipped scenario, a dotted module path or a .py file
    workload: WorkloadConfig
    roles: dict[str, str] = field(default_factory=dict)  # role -> "learn" or a baseline
    reward: dict[str, float] = field(default_factory=dict)  # term -> weight
    wrappers: tuple[Wrapper, ...] = ()  # SuperSuit wrappers, applied in order
    base_dir: str = "."  # folder relative paths start from (default: the config's folder)

    def __post_init__(self):
        if self.episode_length < 1:
            raise FieldError("episode_length", "must be at least 1")
        if self.rate_scale <= 0:
            raise FieldError("rate_scale", "must be positive")
        try:
            scenario = load_scenario(self.scenario, Path(self.base_dir))
        except InputError as exc:
            raise FieldError("scenario", str(exc)) from None
        for role, fill in self.roles.items():
            if role not in ROLES:
                raise FieldError("roles", f"unknown role '{role}'; roles are {one_of(ROLES)}")
            learnable = scenario.ROLES.get(role) == LEARN
            allowed = ([LEARN] if learnable else []) + list(BASELINES[role])
            if fill not in allowed:
                raise FieldError("roles", f"{role}: '{fill}' is not available in scenario "
                                 f"'{self.scenario}'; allowed: {one_of(allowed)}")
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
    eval_episodes: int = 8  # episodes of each evaluation during training
    final_episodes: int = 5  # the final evaluation: episodes per seed ...
    final_seeds: int = 5  # ... and seeds, as in ``marl-part eval``
    # baseline pairs evaluated beside the learned policy at the end (roles they name)
    compare_with: tuple[dict[str, str], ...] = ()

    def __post_init__(self):
        for name in ("budget_env_steps", "n_envs", "eval_every_env_steps", "eval_episodes",
                     "final_episodes", "final_seeds"):
            if getattr(self, name) < 1:
                raise FieldError(name, "must be at least 1")
        for pair in self.compare_with:
            for role, name in pair.items():
                if role not in ROLES or name not in BASELINES[role]:
                    allowed = BASELINES.get(role, {r: 0 for r in ROLES})
                    raise FieldError("compare_with", f"{role}={name}: allowed "
                                     f"{'roles' if role not in ROLES else role + 's'}: "
                                     f"{one_of(allowed)}")


@dataclass(frozen=True)
class AblationVariant:
    name: str  # the row label
    set: tuple[str, ...] = ()  # overrides of the config, as --set key=value


@dataclass(frozen=True)
class AblateSettings:
    """What ``marl-part ablate`` trains and compares."""

    variants: tuple[AblationVariant, ...]  # each trained once per seed
    seeds: int = 5
    baselines: tuple[dict[str, str], ...] = ()  # baseline pairs in the same table
    statistic: Literal["iqm", "mean"] = "iqm"  # over seeds, with a 95% CI

    def __post_init__(self):
        if self.seeds < 1:
            raise FieldError("seeds", "must be at least 1")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise FieldError("variants", f"names must differ, got {names}")


@dataclass(frozen=True, kw_only=True)
class Config(EnvConfig):
    """A whole run: name, seed, learner and training besides the environment."""

    name: str = "run"  # run directories are runs/<name>-<timestamp>
    seed: int = 0
    learner: AlgorithmConfig = MAPPOConfig()  # ``algorithm: mappo | ippo | mappo_shared | qmix | idqn``
    train: TrainSettings = TrainSettings()
    ablate: AblateSettings | None = None


def load_config(path: str | Path, overrides=(), cls: type = Config,
                workload: yaml.Node | None = None) -> Config:
    """Load ``path`` strictly, with ``--set key=value`` overrides applied and, if given,
    its ``workload`` replaced (see :func:`workload_node`).

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
    return typed_yaml.build(cls, node, str(path))


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
