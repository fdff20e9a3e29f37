"""The typed config of a run, loaded strictly from YAML (see :mod:`marl_part.typed_yaml`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from marl_part import typed_yaml
from marl_part.baselines import BASELINES, ROLES
from marl_part.errors import InputError, one_of
from marl_part.rewards import TERMS
from marl_part.scenario import load_scenario
from marl_part.typed_yaml import FieldError
from marl_part.workloads import WorkloadConfig
from marl_part.world import WorldSettings
from marl_part.wrappers import Wrapper

LEARN = "learn"
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

    def path(self, relative: str) -> Path:
        return Path(self.base_dir) / relative


@dataclass(frozen=True, kw_only=True)
class Config(EnvConfig):
    """A whole run: a name and seed besides the environment."""

    name: str = "run"  # run directories are runs/<name>-<timestamp>
    seed: int = 0


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
    """A workload given on the command line: a YAML file holding the ``workload``
    mapping, or inline ``source=keys_csv,path=FILE,time_col=t,batch.tuples=500``.
    A relative trace path starts at the YAML file's folder, or here for inline specs."""
    if spec.endswith((".yaml", ".yml")):
        node, folder = typed_yaml.read_node(spec), Path(spec).resolve().parent
    else:
        node, folder = yaml.MappingNode("tag:yaml.org,2002:map", []), Path.cwd()
        for assignment in filter(None, spec.split(",")):
            typed_yaml.set_value(node, assignment)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "path" and isinstance(value, yaml.ScalarNode):
                value.value = str(folder / value.value)
    return node
