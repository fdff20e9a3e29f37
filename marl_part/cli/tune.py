"""``marl-part tune CONFIG``: search the knobs of the config's baseline pairs on training
episodes, score them tuned and at their defaults on the evaluation episodes, beside the
oracle static; a table (markdown) and JSON in a fresh run directory. ``--ray [ADDRESS]``
searches and scores every pair as a Ray task."""

from __future__ import annotations

from marl_part.cli.arguments import add_config, add_ray, task_runner
from marl_part.experiments.tune_run import run_tune


def add_parser(commands) -> None:
    parser = add_config(commands.add_parser("tune", help="tune the config's baseline pairs"))
    add_ray(parser, "every pair's search and scoring")
    parser.set_defaults(run=run)


def run(args) -> int:
    out = run_tune(args.config, args.set, run_all=task_runner(args))
    print((out / "tune.md").read_text())
    print(f"written: {out}/tune.md, tune.json, config.yaml")
    return 0
