"""The ``marl-part`` command line: one module per subcommand.

Each module's ``add_parser`` declares its arguments with light imports only, and its
``run`` reads its input (the config, its keys and values) before it imports what the
work needs: ``--help`` and refused input answer at once. Every bad input (config key,
value, trace file, policy name) ends in one message and exit status 2; ``--debug``
shows the traceback instead. A SIGINT or SIGTERM ends a command with one line saying
where it stopped and how to resume, and exit status 130 or 143
(:mod:`marl_part.interrupts`). Long parts show their progress on stderr
(:mod:`marl_part.progress`).
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import warnings
from pathlib import Path

from marl_part import interrupts
from marl_part.errors import EXIT_BAD_INPUT, InputError

COMMANDS = ("check", "evaluate", "tune", "train", "ablate", "sweep", "bench",
            "deploy")  # modules here
DESCRIPTION = """\
Train a partitioner and a scheduler agent together on a stream-processing workload,
and compare them with classical baselines. Each command takes a YAML config (see
configs/); "marl-part COMMAND --help" tells more.

first steps:
  marl-part check configs/partition_schedule.yaml
  marl-part train configs/partition_schedule.yaml"""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is one line and exit status 2, like every
    other bad input (argparse prints its usage block first)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {' '.join(message.split())}\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, every subcommand declared."""
    parser = _Parser(prog="marl-part", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback instead of a one-line error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"marl_part.cli.{name}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # warnings (numpy's, pandas') are shown after a command that succeeds; a refused
    # one prints its one line only
    with warnings.catch_warnings(record=True) as caught, interrupts.handled():
        try:
            status = args.run(args) or 0
        except InputError as exc:
            if args.debug:
                raise
            print(f"marl-part: error: {exc.in_file(config_file(args))}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt as error:
            if args.debug:
                raise
            stop = interrupts.interrupted(error)
            again = shlex.join(["marl-part", *(sys.argv[1:] if argv is None else argv)])
            print(f"marl-part: {stop.describe(args.command, again)}", file=sys.stderr)
            return stop.exit_status
    for warning in caught:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return status


def config_file(args) -> str | None:
    """The config file a command reads: named in errors found after it was loaded."""
    if getattr(args, "resume", None):
        return str(Path(args.resume) / "config.yaml")
    return getattr(args, "config", None) or getattr(args, "grid", None)
