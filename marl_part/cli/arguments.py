"""Command-line arguments several subcommands share."""

from __future__ import annotations

from pathlib import Path

from marl_part.errors import InputError


def add_config_or_resume(parser, *, resume_metavar: str, resume_help: str,
                         set_help: str) -> None:
    """``CONFIG [--set KEY=VALUE ...]`` starts something new; ``--resume FOLDER``
    finishes what a killed command left there, from its own config."""
    parser.add_argument("config", nargs="?")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=set_help)
    parser.add_argument("--resume", metavar=resume_metavar, type=Path, help=resume_help)


def check_config_or_resume(args, resume_metavar: str,
                           also: tuple[tuple[str, object], ...] = ()) -> None:
    """Refuse a resume given a config (or one of the ``(option, value)`` pairs of
    ``also``), and a start given none."""
    if args.resume:
        given = (("CONFIG", args.config), ("--set", args.set), *also)
        if clashes := [name for name, value in given if value]:
            raise InputError(f"--resume continues from the folder's own config; drop "
                             f"{', '.join(clashes)}")
    elif not args.config:
        raise InputError(f"give a CONFIG.yaml, or --resume {resume_metavar}")
