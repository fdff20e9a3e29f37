"""Train the roles a config sets to learn, then score the trained team on the test
period beside the config's baseline pairs (at their defaults and tuned), the oracle
static and the hindsight plan. The run directory holds the checkpoint, TensorBoard
events and the comparison. --resume RUN_DIR continues a stopped run from its last
checkpoint; --init-from CHECKPOINT warm-starts a new run's networks."""

from __future__ import annotations

import shutil
from pathlib import Path

from marl_part.cli.arguments import add_command, add_config_or_resume, check_config_or_resume
from marl_part.errors import InputError
from marl_part.interrupts import interrupted


def add_parser(commands) -> None:
    parser = add_command(commands, "train", "train the learned roles of a config", __doc__,
                         "marl-part train configs/partition_schedule.yaml")
    add_config_or_resume(parser, resume_metavar="RUN_DIR",
                         resume_help="continue a run from its last checkpoint",
                         set_help="override a config key (repeatable)")
    parser.add_argument("--init-from", metavar="CHECKPOINT",
                        help="warm-start the networks from another run's checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    from marl_part.config import load_config
    from marl_part.evaluation.policies import CHECKPOINT_FILE
    from marl_part.experiments.rundir import resume_config

    check_config_or_resume(args, "RUN_DIR", (("--init-from", args.init_from),))
    if args.resume:
        config, run_dir = resume_config(args.resume), args.resume
    else:
        config, run_dir = load_config(args.config, args.set), None
    from marl_part.evaluation.tuning import ORACLE, best_row
    from marl_part.experiments.comparison import describe_gap, gap_to_hindsight, scored_on
    from marl_part.experiments.training_run import check_learnable, start_run, train_run

    agents = check_learnable(config)
    if args.init_from and not Path(args.init_from).is_file():
        raise InputError("no checkpoint file there", args.init_from)
    fresh = run_dir is None
    run_dir = run_dir or start_run(config)
    print(f"training {config.learner.algorithm} for {', '.join(agents)} in scenario "
          f"{config.scenario}: {config.train.budget_env_steps:,} env steps")
    print(f"run directory {run_dir}  (watch: tensorboard --logdir {run_dir.parent})")
    try:
        summary = train_run(config, run_dir, resume=bool(args.resume), init_from=args.init_from,
                            show_progress=not args.no_progress)
    except (InputError, KeyboardInterrupt) as error:
        if fresh and not (run_dir / CHECKPOINT_FILE).exists():  # nothing to keep
            shutil.rmtree(run_dir)
            if isinstance(error, KeyboardInterrupt):
                stop = interrupted(error)
                stop.folder = None  # nothing to resume
                raise stop from None
        raise
    print(f"trained {summary['env_steps']:,} env steps in {summary['wall_time_s']:.0f} s "
          f"on the training period; final evaluation:")
    print((run_dir / "comparison.md").read_text())
    result = summary["result"]
    learned = result.team_reward
    print(f"scored on {scored_on(result)}")
    best = best_row(summary["bar"])
    if best:
        print(f"learned {_stat(learned)} against the best causal classical pair, tuned: "
              f"{best.label} {_stat(best.result.team_reward)} ({_margin(learned, best)})")
    oracle = next((row for row in summary["bar"] if row.kind == ORACLE), None)
    if oracle:
        print(f"the oracle static (the best fixed size on these episodes): {oracle.label} "
              f"{_stat(oracle.result.team_reward)} ({_margin(learned, oracle)})")
    gap = gap_to_hindsight(result, summary["bar"])
    if gap:
        print(f"the hindsight plan (knows each episode's batches; not a policy): "
              f"{gap.hindsight.label} {_stat(gap.hindsight.result.team_reward)}")
        print(f"learned: {describe_gap(gap)}")
    print(f"written: {run_dir}/checkpoint.pt, eval.json, comparison.md, comparison.png, "
          "comparison.json")
    return 0


def _margin(learned: dict, row) -> str:
    """How much better (or worse) the learned team's mean reward is, in % of the row's."""
    theirs = row.result.team_reward["mean"]
    change = (learned["mean"] - theirs) / abs(theirs) * 100 if theirs else 0.0
    return f"learned {abs(change):.1f}% {'better' if change >= 0 else 'worse'}"


def _stat(stat: dict) -> str:
    return f"{stat['mean']:.4g} ± {stat['ci95']:.2g}"
