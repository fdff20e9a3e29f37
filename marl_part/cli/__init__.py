"""The ``marl-part`` command line: one module per subcommand.

Every bad input (config key, value, trace file, policy name) ends in one message and
exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from marl_part.errors import EXIT_BAD_INPUT, InputError


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is one line and exit status 2, like every
    other bad input (argparse prints its usage block first)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {' '.join(message.split())}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="marl-part", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    from marl_part.cli import ablate, bench, check, deploy, evaluate, sweep, train, tune

    for module in (check, evaluate, tune, train, ablate, sweep, bench, deploy):
        module.add_parser(commands)
    args = parser.parse_args(argv)
    # warnings (numpy's, pandas') are shown after a command that succeeds; a refused
    # one prints its one line only
    with warnings.catch_warnings(record=True) as caught:
        try:
            status = args.run(args) or 0
        except InputError as exc:
            if args.debug:
                raise
            print(f"marl-part: error: {exc.in_file(config_file(args))}", file=sys.stderr)
            return EXIT_BAD_INPUT
    for warning in caught:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return status


def config_file(args) -> str | None:
    """The config file a command reads: named in errors found after it was loaded."""
    if getattr(args, "resume", None):
        return str(Path(args.resume) / "config.yaml")
    return getattr(args, "config", None) or getattr(args, "grid", None)
