"""``marl-part ablate CONFIG``: train the listed variants and evaluate the listed
baselines over seeds; one table (IQM or mean with a 95% interval) and learning curves."""

from __future__ import annotations

from marl_part.ablation import run_ablation


def add_parser(commands) -> None:
    parser = commands.add_parser("ablate", help="compare learners and baselines over seeds")
    parser.add_argument("config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for every variant (repeatable)")
    parser.set_defaults(run=run)


def run(args) -> int:
    out = run_ablation(args.config, args.set)
    print((out / "ablation.md").read_text())
    print(f"written: {out}/ablation.md, ablation.csv, ablation.json, learning_curves.png "
          f"(runs under {out}; tensorboard --logdir {out})")
    return 0
