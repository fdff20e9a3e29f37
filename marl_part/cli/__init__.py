"""The ``marl-part`` command line: one module per subcommand.

Every bad input (config key, value, trace file, policy name) ends in one message and
exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys

from marl_part.errors import EXIT_BAD_INPUT, InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="marl-part", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    from marl_part.cli import ablate, bench, check, evaluate, train

    for module in (check, evaluate, train, ablate, bench):
        module.add_parser(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except InputError as exc:
        if args.debug:
            raise
        print(f"marl-part: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
