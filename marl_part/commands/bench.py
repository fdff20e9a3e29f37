"""``marl-part bench``: measure speed and write a table (JSON and markdown)."""

from __future__ import annotations

import sys
from pathlib import Path

from marl_part.bench import SIZES, run_bench, write


def add_parser(commands) -> None:
    parser = commands.add_parser("bench", help="measure simulator, vector env and training speed")
    parser.add_argument("--size", choices=sorted(SIZES), default="full",
                        help="small: short budgets, for CI (default: full)")
    parser.add_argument("--json", type=Path, metavar="FILE.json", help="write the figures here")
    parser.add_argument("--markdown", type=Path, metavar="FILE.md",
                        help="write the table here (BENCHMARKS.md)")
    parser.set_defaults(run=run)


def run(args) -> int:
    results = run_bench(args.size)
    write(results, args.json, args.markdown, "marl-part " + " ".join(sys.argv[1:]))
    return 0
