"""Search the knobs of the config's baseline pairs on the validation period and score
each pair at its defaults and tuned on the test period, beside the oracle static and
the hindsight plan: a table (markdown) and JSON in a fresh run directory. --ray
[ADDRESS] searches and scores every pair as a Ray task."""

from __future__ import annotations

from marl_part.cli.arguments import add_command, add_config, add_ray, check_config, task_runner


def add_parser(commands) -> None:
    parser = add_config(add_command(commands, "tune", "tune the config's baseline pairs",
                                    __doc__, "marl-part tune configs/partition_schedule.yaml"))
    add_ray(parser, "every pair's search and scoring")
    parser.set_defaults(run=run)


def run(args) -> int:
    check_config(args)
    from marl_part.experiments.tune_run import run_tune

    out = run_tune(args.config, args.set, run_all=task_runner(args))
    print((out / "tune.md").read_text())
    print(f"written: {out}/tune.md, tune.json, config.yaml")
    return 0
