"""Measure speed: env steps and tuples per second per scenario, batched against
single envs, compiled routers against plain Python, training, and the time the headline
takes to beat its tuned bar. Writes the figures as JSON (and a markdown table with
--markdown)."""

from __future__ import annotations

import sys
from pathlib import Path

from marl_part.cli.arguments import add_command, check_output_file
from marl_part.errors import InputError, one_of


def add_parser(commands) -> None:
    parser = add_command(commands, "bench", "measure simulator, vector env and training speed",
                         __doc__, "marl-part bench --size small --json bench.json")
    parser.add_argument("--size", default="full",
                        help="small: short budgets, for CI (default: full)")
    parser.add_argument("--json", type=Path, metavar="FILE.json",
                        help="write the figures here (default: a fresh runs/bench-<time>/)")
    parser.add_argument("--markdown", type=Path, metavar="FILE.md",
                        help="write the table here (BENCHMARKS.md)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from marl_part.experiments.bench import SIZES, markdown, run_bench, write
    from marl_part.experiments.rundir import new_run_dir

    if args.size not in SIZES:
        raise InputError(one_of(sorted(SIZES)), "--size")
    for option in ("json", "markdown"):
        if getattr(args, option):
            check_output_file(getattr(args, option), f"--{option}")
    results = run_bench(args.size)
    json_path = args.json or new_run_dir(f"bench-{args.size}") / "bench.json"
    command = "marl-part " + " ".join(sys.argv[1:])
    write(results, json_path, args.markdown, command)
    print(markdown(results, command))
    print(f"written: {json_path}" + (f", {args.markdown}" if args.markdown else ""))
    return 0
