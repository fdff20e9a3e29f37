"""Finding a scenario: a shipped one by name, or a user's by dotted module or .py file.

A scenario is a module in the pattern of PartLy and the particle envs (DESIGN.md
"Scenarios"): ``make_world(config, n_envs)``, ``reset_world(world, env_ids, rngs)``,
``reward(world)`` -> (team reward, weighted terms), ``observation(agent, world)`` and
``state(world)``, each working on all envs of a world at once, plus ``ROLES``: for each
role, ``"learn"`` if the scenario can train it (it has an observation for it) or the
baseline that fills it by default.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from marl_part.errors import InputError, one_of

SHIPPED = ("partition", "autoscale", "dedup_route", "partition_schedule")
REQUIRED = ("ROLES", "make_world", "reset_world", "reward", "observation", "state")


def load_scenario(name: str, base_dir: Path = Path(".")) -> ModuleType:
    """The scenario module ``name``: shipped name, dotted module path or ``.py`` file."""
    if name in SHIPPED:
        module = importlib.import_module(f"scenarios.{name}")
    elif name.endswith(".py"):
        path = Path(name) if Path(name).is_absolute() else base_dir / name
        if not path.is_file():
            raise InputError(f"scenario file not found (looked at {path}); shipped scenarios "
                             f"are {one_of(SHIPPED)}", "scenario")
        module_name = f"marl_part_user_scenario_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise InputError(f"cannot import scenario '{name}' ({exc}); give a shipped scenario "
                             f"({one_of(SHIPPED)}), a dotted module path or a .py file",
                             "scenario") from None
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise InputError(f"scenario '{name}' lacks {', '.join(missing)}; a scenario defines "
                         f"{', '.join(REQUIRED)}", "scenario")
    return module
