"""``marl-part sweep CONFIG``: search the keys the config's ``sweep:`` section names, on
Ray Tune with ASHA early stopping; every trial in a table, the best config as a YAML
file ``marl-part train`` takes. ``--resume OUT_DIR`` finishes a killed sweep; ``--ray
ADDRESS`` names the cluster (default: as ``ray.init`` finds one, else a local
instance)."""

from __future__ import annotations

from marl_part.cli.arguments import (
    add_config_or_resume,
    add_ray,
    check_config_or_resume,
    ray_address,
)
from marl_part.experiments.sweep import BEST_FILE, resume_sweep, run_sweep


def add_parser(commands) -> None:
    parser = commands.add_parser("sweep", help="search learner settings on Ray Tune")
    add_config_or_resume(parser, resume_metavar="OUT_DIR",
                         resume_help="finish a killed sweep: keep its finished trials, run "
                                     "the others again from their checkpoints",
                         set_help="override a config key for every trial (repeatable)")
    add_ray(parser, "the trials")
    parser.set_defaults(run=run)


def run(args) -> int:
    address = ray_address(args)
    check_config_or_resume(args, "OUT_DIR")
    out = (resume_sweep(args.resume, address) if args.resume
           else run_sweep(args.config, args.set, address))
    print((out / "sweep.md").read_text())
    print(f"written: {out}/{BEST_FILE} (marl-part train {out}/{BEST_FILE}), sweep.md, "
          f"sweep.json, one run directory per trial")
    return 0
