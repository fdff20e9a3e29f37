"""``marl-part sweep CONFIG``: search the keys the config's ``sweep:`` section names, on
Ray Tune with ASHA early stopping; every trial in a table, the best config as a YAML
file ``marl-part train`` takes. ``--ray ADDRESS`` names the cluster (default: as
``ray.init`` finds one, else a local instance)."""

from __future__ import annotations

from marl_part.cli.arguments import add_config, add_ray
from marl_part.experiments.sweep import BEST_FILE, run_sweep


def add_parser(commands) -> None:
    parser = add_config(commands.add_parser("sweep", help="search learner settings on Ray Tune"))
    add_ray(parser, "the trials")
    parser.set_defaults(run=run)


def run(args) -> int:
    out = run_sweep(args.config, args.set, args.ray or None)
    print((out / "sweep.md").read_text())
    print(f"written: {out}/{BEST_FILE} (marl-part train {out}/{BEST_FILE}), sweep.md, "
          f"sweep.json, one run directory per trial")
    return 0
