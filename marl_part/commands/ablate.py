"""``marl-part ablate CONFIG``: train the listed variants and evaluate the listed
baselines over seeds; one table (IQM or mean with a 95% interval) and learning curves.
``--resume OUT_DIR`` finishes a killed ablation in its own folder."""

from __future__ import annotations

from pathlib import Path

from marl_part.ablation import resume_ablation, run_ablation
from marl_part.errors import InputError


def add_parser(commands) -> None:
    parser = commands.add_parser("ablate", help="compare learners and baselines over seeds")
    parser.add_argument("config", nargs="?")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for every variant (repeatable)")
    parser.add_argument("--resume", metavar="OUT_DIR", type=Path,
                        help="finish a killed ablation: keep its finished runs, continue the "
                             "others from their checkpoints")
    parser.set_defaults(run=run)


def run(args) -> int:
    if args.resume:
        if args.config or args.set:
            raise InputError("--resume takes the ablation's own config; give no CONFIG or --set "
                             "with it")
        out = resume_ablation(args.resume)
    elif args.config:
        out = run_ablation(args.config, args.set)
    else:
        raise InputError("give a CONFIG.yaml, or --resume OUT_DIR")
    print((out / "ablation.md").read_text())
    print(f"written: {out}/ablation.md, ablation.csv, ablation.json, learning_curves.png "
          f"(runs under {out}; tensorboard --logdir {out})")
    return 0
