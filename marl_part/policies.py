"""Filling a role by name: a baseline, or the learned agent of a checkpoint.

``--policy partitioner=pkg`` names a baseline; ``--policy partitioner=runs/x`` (a run
directory) or ``=runs/x/checkpoint.pt`` names a trained agent. A checkpoint is refused,
with the mismatch named, when it was trained on another scenario or when the role's
observation or action space differs from this config's.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from marl_part.baselines import ROLES, baseline_class
from marl_part.config import LEARN, EnvConfig
from marl_part.errors import InputError, one_of
from marl_part.evaluation import Actor
from marl_part.simulation import Simulation

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
    policies = {}
    for spec in specs:
        role, sep, name = spec.partition("=")
        if not sep or role not in ROLES:
            raise InputError(f"write ROLE=NAME with ROLE {one_of(ROLES)}", f"--policy {spec}")
        if checkpoint_path(name) is None:
            baseline_class(role, name)
        policies[role] = name
    return policies


def role_overrides(policies: dict[str, str]) -> list[str]:
    """Config overrides that give each role its fill (``learn`` for checkpoints)."""
    return [f"roles.{role}={LEARN if checkpoint_path(name) else name}"
            for role, name in policies.items()]


def checkpoint_actors(config: EnvConfig, policies: dict[str, str]) -> dict[str, Actor]:
    """The learned actors for the roles that ``policies`` fill from checkpoints."""
    from trainers.acting import load_actor
    from trainers.checkpoint import layout_from_dict, load_checkpoint

    wanted = {role: checkpoint_path(spec) for role, spec in policies.items()
              if checkpoint_path(spec) is not None}
    if not wanted:
        return {}
    simulation = Simulation(config, 1)
    simulation.reset([0], [0])
    observations = simulation.observations()
    actors = {}
    for role, path in wanted.items():
        if not path.is_file():
            raise InputError("no checkpoint there", str(path))
        run_config = path.parent / RUN_CONFIG_FILE
        if run_config.is_file():
            trained_on = (yaml.safe_load(run_config.read_text()) or {}).get("scenario")
            if trained_on != config.scenario:
                raise InputError(f"this checkpoint was trained on scenario '{trained_on}', "
                                 f"not '{config.scenario}'", str(path))
        layout = layout_from_dict(load_checkpoint(path)["layout"])
        agents = {a.name: a for a in layout.agents}
        if role not in agents:
            raise InputError(f"this checkpoint has no learned '{role}'; it learned "
                             f"{one_of(agents)}", str(path))
        agent = agents[role]
        width, nvec = agent.obs.stop - agent.obs.start, tuple(agent.nvec)
        if width != observations[role].shape[1]:
            raise InputError(f"its '{role}' observes {width} values, this config's "
                             f"{observations[role].shape[1]}", str(path))
        if nvec != tuple(simulation.action_nvec(role)):
            raise InputError(f"its '{role}' has action choices {list(nvec)}, this config's "
                             f"{list(simulation.action_nvec(role))}", str(path))
        actors[role] = load_actor(path, role)
    return actors
