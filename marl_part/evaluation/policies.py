"""Filling a role by name: a baseline, or the learned agent of a checkpoint.

``--policy partitioner=pkg`` names a baseline (``--policy
scheduler=threshold:target=0.85,tolerance=0.05`` one with knobs set, see
:mod:`marl_part.baselines.knobs`); ``--policy partitioner=runs/x`` (a run
directory) or ``=runs/x/checkpoint.pt`` names a trained agent. A checkpoint is refused,
with the mismatch named, when it was trained on another scenario, and when the role's
observation or action space differs from this config's (checked where the actor meets
the simulation, :func:`~marl_part.evaluation.evaluate.rollout`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from marl_part import typed_yaml
from marl_part.config import EnvConfig
from marl_part.errors import InputError, one_of
from marl_part.scenarios import LEARN

if TYPE_CHECKING:
    from marl_part.evaluation.evaluate import Actor

CHECKPOINT_FILE = "checkpoint.pt"
RUN_CONFIG_FILE = "config.yaml"


def checkpoint_path(spec: str) -> Path | None:
    """The checkpoint a policy spec names, or None if it names a baseline."""
    path = Path(spec)
    if path.is_dir():
        return path / CHECKPOINT_FILE
    if spec.endswith(".pt") or path.exists():
        return path
    return None


def parse_policies(specs: list[str]) -> dict[str, str]:
    """``ROLE=NAME`` pairs; a NAME that is no checkpoint must be a baseline for ROLE."""
    if not specs:  # nothing to check: the baselines are not imported
        return {}
    from marl_part.baselines import ROLES, parse_policy

    policies = {}
    for spec in specs:
        role, sep, name = spec.partition("=")
        if not sep or role not in ROLES:
            raise InputError(f"write ROLE=NAME with ROLE {one_of(ROLES)}", f"--policy {spec}")
        if checkpoint_path(name) is None:
            try:
                parse_policy(role, name)
            except InputError as exc:
                raise InputError(str(exc), f"--policy {spec}") from None
        policies[role] = name
    return policies


def role_overrides(policies: dict[str, str]) -> list[str]:
    """Config overrides that give each role its fill (``learn`` for checkpoints)."""
    return [f"roles.{role}={LEARN if checkpoint_path(name) else name}"
            for role, name in policies.items()]


def checkpoint_actors(config: EnvConfig, policies: dict[str, str]) -> dict[str, Actor]:
    """The learned actors for the roles that ``policies`` fill from checkpoints."""
    from marl_part.trainers.acting import load_actor

    actors = {}
    for role, path in ((role, checkpoint_path(spec)) for role, spec in policies.items()):
        if path is None:
            continue
        if not path.is_file():
            raise InputError("no checkpoint there", str(path))
        run_config = path.parent / RUN_CONFIG_FILE
        if run_config.is_file():
            node = typed_yaml.read_node(run_config)
            trained_on = next((v.value for k, v in node.value if k.value == "scenario"),
                              None) if isinstance(node, yaml.MappingNode) else None
            if trained_on != config.scenario:
                raise InputError(f"this checkpoint was trained on scenario '{trained_on}', "
                                 f"not '{config.scenario}'", str(path))
        actors[role] = load_actor(path, role)
    return actors
