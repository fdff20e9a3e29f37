"""``marl-part ablate CONFIG``: train the listed variants and evaluate the listed
baselines over seeds; one table (IQM or mean with a 95% interval) and learning curves.
``--resume OUT_DIR`` finishes a killed ablation in its own folder; ``--ray [ADDRESS]``
runs every training run and baseline pair as a Ray task."""

from __future__ import annotations

from marl_part.cli.arguments import (
    add_config_or_resume,
    add_ray,
    check_config_or_resume,
    task_runner,
)
from marl_part.experiments.ablation import resume_ablation, run_ablation


def add_parser(commands) -> None:
    parser = commands.add_parser("ablate", help="compare learners and baselines over seeds")
    add_config_or_resume(parser, resume_metavar="OUT_DIR",
                         resume_help="finish a killed ablation: keep its finished runs, "
                                     "continue the others from their checkpoints",
                         set_help="override a config key for every variant (repeatable)")
    add_ray(parser, "every (variant, seed) training run and baseline pair")
    parser.set_defaults(run=run)


def run(args) -> int:
    run_all = task_runner(args)
    check_config_or_resume(args, "OUT_DIR")
    out = (resume_ablation(args.resume, run_all=run_all) if args.resume
           else run_ablation(args.config, args.set, run_all=run_all))
    print((out / "ablation.md").read_text())
    print(f"written: {out}/ablation.md, ablation.csv, ablation.json, learning_curves.png "
          f"(runs under {out}; tensorboard --logdir {out})")
    return 0
