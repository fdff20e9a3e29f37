"""Train every variant of the config's ablate: section once per seed and score the
listed baseline pairs (at their defaults, tuned, and the oracle static) on the same test
episodes: one table (mean or IQM with a 95% interval) and learning curves. --resume
OUT_DIR finishes a killed ablation in its own folder; --ray [ADDRESS] runs every
training run and baseline pair as a Ray task."""

from __future__ import annotations

from marl_part.cli.arguments import (
    add_folder_command,
    check_config_or_resume,
    ray_address,
    task_runner,
)


def add_parser(commands) -> None:
    add_folder_command(commands, "ablate", "compare learners and baselines over seeds", __doc__,
                       "marl-part ablate configs/partition_schedule.yaml",
                       noun="ablation", items="runs", each="variant",
                       on_ray="every (variant, seed) training run and baseline pair", run=run)


def run(args) -> int:
    ray_address(args)  # a CONFIG given after --ray is named as such
    check_config_or_resume(args, "OUT_DIR")
    from marl_part.experiments.ablation import resume_ablation, run_ablation

    run_all = task_runner(args)
    out = (resume_ablation(args.resume, run_all=run_all) if args.resume
           else run_ablation(args.config, args.set, run_all=run_all))
    print((out / "ablation.md").read_text())
    print(f"written: {out}/ablation.md, ablation.csv, ablation.json, comparison.png, "
          f"learning_curves.png (runs under {out}; tensorboard --logdir {out})")
    return 0
