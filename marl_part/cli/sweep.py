"""Search the config keys that the config's sweep: section varies, on Ray Tune with ASHA
stopping the trials behind; every trial in a table, and the best config as a YAML file
that "marl-part train" takes. --resume OUT_DIR finishes a killed sweep; --ray ADDRESS
names the Ray cluster (default: as ray.init finds one, else a local instance)."""

from __future__ import annotations

from marl_part.cli.arguments import add_folder_command, check_config_or_resume, ray_address

EXAMPLE = ("marl-part sweep configs/partition_schedule.yaml --set 'sweep={trials: 8, "
           "params: {learner.lr: {log_uniform: [1.0e-4, 3.0e-3]}}}'")


def add_parser(commands) -> None:
    add_folder_command(commands, "sweep", "search learner settings on Ray Tune", __doc__,
                       EXAMPLE, noun="sweep", items="trials", each="trial",
                       on_ray="the trials", run=run)


def run(args) -> int:
    address = ray_address(args)
    check_config_or_resume(args, "OUT_DIR")
    from marl_part.experiments.sweep import BEST_FILE, resume_sweep, run_sweep

    out = (resume_sweep(args.resume, address) if args.resume
           else run_sweep(args.config, args.set, address))
    print((out / "sweep.md").read_text())
    print(f"written: {out}/{BEST_FILE} (marl-part train {out}/{BEST_FILE}), sweep.md, "
          f"sweep.json, one run directory per trial")
    return 0
