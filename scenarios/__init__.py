"""Scenarios: the tasks, one module each, and how a config finds one.

A scenario is a module in the pattern of PartLy and the particle envs (DESIGN.md
"Scenarios"): ``make_world(config, n_envs)``, ``reset_world(world, env_ids, rngs)``,
``reward(world)`` -> (team reward, weighted terms), ``observation(agent, world)`` and
``state(world)``, each working on all envs of a world at once, plus ``ROLES``: for each
role, ``"learn"`` if the scenario can train it (it has an observation for it) or the
baseline that fills it by default. Optional: ``OBSERVATION_BOUNDS`` (the Box bounds)
and ``ITEM_FEATURES`` (agent -> features per hot key, when that agent's observation
starts with them, feature-major: what an item network reads per key). :mod:`marl_part.scenarios.common` has the functions
most scenarios share. The shipped ones are :mod:`~marl_part.scenarios.partition`,
:mod:`~marl_part.scenarios.autoscale`, :mod:`~marl_part.scenarios.dedup_route` and
:mod:`~marl_part.scenarios.partition_schedule`; a user's plugs in as a dotted module
path or a ``.py`` file.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from marl_part.errors import InputError, one_of

LEARN = "learn"  # a role's fill when an agent learns it
SHIPPED = ("partition", "autoscale", "dedup_route", "partition_schedule")
REQUIRED = ("ROLES", "make_world", "reset_world", "reward", "observation", "state")
DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_loaded_files: dict[Path, ModuleType] = {}  # a .py scenario runs once per process


def load_scenario(name: str, base_dir: Path = Path(".")) -> ModuleType:
    """The scenario module ``name``: shipped name, dotted module path or ``.py`` file."""
    if name in SHIPPED:
        module = importlib.import_module(f"marl_part.scenarios.{name}")
    elif name.endswith(".py"):
        path = Path(name) if Path(name).is_absolute() else base_dir / name
        if not path.is_file():
            raise InputError(f"scenario file not found (looked at {path}); shipped scenarios "
                             f"are {one_of(SHIPPED)}", key="scenario")
        module = _load_file(path.resolve())
    elif not DOTTED_NAME.fullmatch(name):
        raise InputError(f"'{name}' is no scenario: give a shipped scenario "
                         f"({one_of(SHIPPED)}), a dotted module path or a .py file", key="scenario")
    else:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise InputError(f"cannot import scenario '{name}' ({exc}); give a shipped scenario "
                             f"({one_of(SHIPPED)}), a dotted module path or a .py file",
                             key="scenario") from None
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise InputError(f"scenario '{name}' lacks {', '.join(missing)}; a scenario defines "
                         f"{', '.join(REQUIRED)}", key="scenario")
    return module


def _load_file(path: Path) -> ModuleType:
    if path not in _loaded_files:
        module_name = f"marl_part_user_scenario_{len(_loaded_files)}_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's code: say where it failed, as one line
            del sys.modules[module_name]
            raise InputError(f"running it failed: {exc.__class__.__name__}: {exc}",
                             str(path)) from exc
        _loaded_files[path] = module
    return _loaded_files[path]
