"""``marl-part eval CONFIG``: compare policies on a workload.

Every role is filled by a named baseline (``--policy scheduler=static``); the result
is a table of means with 95% CIs, a JSON file and PNG plots in a fresh run directory.
"""

from __future__ import annotations

import json

from marl_part.baselines import ROLES, baseline_class
from marl_part.config import load_config, workload_node
from marl_part.errors import InputError, one_of
from marl_part.evaluation import evaluate, format_table
from marl_part.plots import plot_episode
from marl_part.rundir import new_run_dir


def add_parser(commands) -> None:
    parser = commands.add_parser("eval", help="evaluate policies on a workload")
    parser.add_argument("config")
    parser.add_argument("--policy", action="append", default=[], metavar="ROLE=NAME",
                        help="fill a role with a baseline (repeatable)")
    parser.add_argument("--workload", metavar="YAML|KEY=VALUE,...",
                        help="replace the config's workload: a YAML file or inline keys")
    parser.add_argument("--episodes", type=int, default=5, help="episodes per seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", metavar="FILE.json", help="also write the JSON here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (repeatable)")
    parser.set_defaults(run=run)


def parse_policies(specs: list[str]) -> dict[str, str]:
    policies = {}
    for spec in specs:
        role, sep, name = spec.partition("=")
        if not sep or role not in ROLES:
            raise InputError(f"write ROLE=NAME with ROLE {one_of(ROLES)}", f"--policy {spec}")
        baseline_class(role, name)
        policies[role] = name
    return policies


def run(args) -> int:
    if args.episodes < 1 or args.seeds < 1:
        raise InputError("--episodes and --seeds must be at least 1")
    policies = parse_policies(args.policy)
    overrides = [f"roles.{role}={name}" for role, name in policies.items()] + args.set
    workload = workload_node(args.workload) if args.workload else None
    config = load_config(args.config, overrides, workload=workload)
    result = evaluate(config, {}, args.episodes, args.seeds)
    run_dir = new_run_dir(f"{config.name}-eval")
    data = result.to_json()
    (run_dir / "eval.json").write_text(json.dumps(data, indent=2) + "\n")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(data, handle, indent=2)
    plot_episode(result, run_dir)
    print(f"{config.scenario} on {config.workload.source}, "
          f"{', '.join(f'{r}={p}' for r, p in result.policies.items())}, "
          f"{args.episodes} episodes x {args.seeds} seeds")
    print(format_table(result))
    print(f"written: {run_dir}/eval.json and plots")
    return 0


