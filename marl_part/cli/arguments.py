"""Command-line arguments several subcommands share."""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

from marl_part.errors import InputError
from marl_part.evaluation.tasks import Runner, run_in_turn


def add_command(commands, name: str, summary: str, description: str,
                example: str) -> argparse.ArgumentParser:
    """A subcommand: ``summary`` in the list of commands; its own help shows
    ``description`` (plain words, wrapped here) and one ``example`` command."""
    return commands.add_parser(
        name, help=summary, description=textwrap.fill(" ".join(description.split()), 88,
                                                  break_on_hyphens=False),
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)


def add_config(parser, nargs: str | None = None,
               set_help: str = "override a config key (repeatable)"):
    """``CONFIG [--set KEY=VALUE ...]``; returns ``parser``."""
    parser.add_argument("config", nargs=nargs, metavar="CONFIG", help="a YAML config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=set_help)
    return parser


def add_config_or_resume(parser, *, resume_metavar: str, resume_help: str,
                         set_help: str) -> None:
    """``CONFIG [--set KEY=VALUE ...]`` starts something new; ``--resume FOLDER``
    finishes what a killed command left there, from its own config."""
    add_config(parser, "?", set_help)
    parser.add_argument("--resume", metavar=resume_metavar, type=Path, help=resume_help)


def add_folder_command(commands, name: str, summary: str, description: str, example: str,
                       *, noun: str, items: str, each: str, on_ray: str, run) -> None:
    """``NAME CONFIG [--set ...]`` or ``NAME --resume OUT_DIR``, with ``--ray
    [ADDRESS]``: a command whose many ``items`` (runs, trials) fill one output folder,
    which a killed one finishes."""
    parser = add_command(commands, name, summary, description, example)
    add_config_or_resume(parser, resume_metavar="OUT_DIR",
                         resume_help=f"finish a killed {noun}: keep its finished {items}, "
                                     "continue the others from their checkpoints",
                         set_help=f"override a config key for every {each} (repeatable)")
    add_ray(parser, on_ray)
    parser.set_defaults(run=run)


def check_config(args) -> None:
    """Read CONFIG with its ``--set`` overrides: a missing file, a bad key or a bad value
    is refused before the command imports its work (which loads it whole, env and all)."""
    from marl_part.config import read_config

    read_config(args.config, args.set)


def check_config_or_resume(args, resume_metavar: str,
                           also: tuple[tuple[str, object], ...] = ()) -> None:
    """Refuse a resume given a config (or one of the ``(option, value)`` pairs of
    ``also``), a start given none, and a bad config (:func:`check_config`)."""
    if args.resume:
        given = (("CONFIG", args.config), ("--set", args.set), *also)
        if clashes := [name for name, value in given if value]:
            raise InputError(f"continues from the folder's own config; drop "
                             f"{', '.join(clashes)}", "--resume")
    elif not args.config:
        raise InputError(f"give a CONFIG.yaml, or --resume {resume_metavar}")
    else:
        check_config(args)


def check_output_file(path: Path, option: str = "--out", make_folder: bool = False) -> None:
    """Refuse an output file that cannot be written, before any work is done; with
    ``make_folder`` its folder may be missing (it is made)."""
    if path.is_dir():
        raise InputError(f"{option} names a directory; give a file name", str(path))
    folder = next((p for p in path.parents if p.exists()), Path("."))
    if not folder.is_dir() or not (make_folder or folder == path.parent):
        raise InputError(f"{option}: its folder does not exist", str(path))
    if not os.access(folder, os.W_OK) or path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option}: not writable here", str(path))


def add_ray(parser, what: str) -> None:
    """``--ray [ADDRESS]``: run ``what`` as Ray tasks (docs/ray.md)."""
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help=f"run {what} as Ray tasks: on the cluster at ADDRESS (auto: "
                             "an existing one; local: a new local instance); without "
                             "ADDRESS as ray.init finds one: RAY_ADDRESS, a cluster "
                             "started on this machine, else a new local instance")


def ray_address(args) -> str | None:
    """The cluster address ``--ray`` gave (None: as ``ray.init`` finds one)."""
    if args.ray and args.ray.endswith((".yaml", ".yml")) and not getattr(args, "config", None):
        raise InputError("takes an optional cluster ADDRESS; give CONFIG before it", "--ray")
    return args.ray or None


def task_runner(args) -> Runner:
    """Where a command's independent calls run: here in turn, or as Ray tasks."""
    if args.ray is None:
        return run_in_turn
    from marl_part.experiments.ray_tasks import RayTasks

    return RayTasks(ray_address(args))
