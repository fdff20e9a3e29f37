"""Score policies on the test period of a workload: every role filled by a named
baseline (--policy scheduler=static) or by a trained checkpoint (--policy
partitioner=runs/RUN). Prints each metric and reward term with its mean and 95%
interval over the episodes, and writes eval.json and plots into a fresh run directory.
--grid GRID.yaml scores every pair of a grid file on every workload it lists."""

from __future__ import annotations

import json
from pathlib import Path

from marl_part.cli.arguments import add_command, check_output_file
from marl_part.errors import InputError


def add_parser(commands) -> None:
    parser = add_command(commands, "eval", "evaluate policies on a workload", __doc__,
                         "marl-part eval configs/partition_schedule.yaml "
                         "--policy partitioner=pkg --policy scheduler=ds2")
    parser.add_argument("config", nargs="?", metavar="CONFIG", help="a YAML config")
    parser.add_argument("--policy", action="append", default=[], metavar="ROLE=NAME",
                        help="fill a role with a baseline or a checkpoint (a run directory "
                        "or its checkpoint.pt); repeatable; with --grid, this pair is run "
                        "on every entry too (a transfer table)")
    parser.add_argument("--workload", metavar="YAML|KEY=VALUE,...",
                        help="replace the config's workload: a YAML file (a workload mapping, "
                        "or a config whose workload: to take) or inline keys")
    parser.add_argument("--episodes", type=int, help="non-overlapping episodes of the test "
                        "period, spread over it (default: all)")
    parser.add_argument("--seeds", type=int, help="seeds per episode (default 1; they change "
                        "only what is random in the policies)")
    parser.add_argument("--out", metavar="FILE.json", help="also write the JSON here")
    parser.add_argument("--max-throughput", action="store_true",
                        help="also find the highest input rate with a bounded backlog")
    parser.add_argument("--whole-trace", action="store_true",
                        help="also play the test period (the whole trace without a split) "
                        "once: makespan, utilization, node cost")
    parser.add_argument("--grid", metavar="GRID.yaml",
                        help="run every pair of a grid file (CONFIG is then not given)")
    parser.add_argument("--page", metavar="FILE.md",
                        help="with --grid: also write the table as a results page")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (repeatable)")
    parser.set_defaults(run=run)


GRID_ONLY = ("page",)
SINGLE_ONLY = ("config", "workload", "episodes", "seeds", "out", "max_throughput",
               "whole_trace", "set")  # a grid file sets all of these per entry


def run(args) -> int:
    from marl_part.config import MAX_EPISODES, load_config, workload_node
    from marl_part.evaluation.policies import checkpoint_actors, parse_policies, role_overrides

    if args.grid:
        if given := [name for name in SINGLE_ONLY if getattr(args, name)]:
            raise InputError(f"--grid takes everything from the grid file; drop "
                             f"{', '.join(_option(name) for name in given)}", "--grid")
        return run_grid_command(args)
    if given := [name for name in GRID_ONLY if getattr(args, name)]:
        raise InputError("goes with --grid", ", ".join(_option(name) for name in given))
    if not args.config:
        raise InputError("give a CONFIG.yaml, or --grid GRID.yaml")
    args.seeds = 1 if args.seeds is None else args.seeds
    if ((args.episodes or 1) < 1 or args.seeds < 1
            or (args.episodes or 1) * args.seeds > MAX_EPISODES):
        raise InputError(f"give at least 1 of each, and at most {MAX_EPISODES:,} episodes x "
                         "seeds", "--episodes, --seeds")
    if args.out:
        check_output_file(Path(args.out))
    policies = parse_policies(args.policy)
    workload = workload_node(args.workload) if args.workload else None
    config = load_config(args.config, role_overrides(policies) + args.set, workload=workload)
    from marl_part.evaluation.capacity import max_sustainable_throughput, whole_trace_objectives
    from marl_part.evaluation.evaluate import evaluate, format_table
    from marl_part.evaluation.plots import plot_episode
    from marl_part.experiments.rundir import new_run_dir
    from marl_part.progress import progress

    actors = checkpoint_actors(config, policies)
    labels = {**config.role_fills(), **policies}
    with progress("eval", config.episode_length, "steps") as shown:
        result = evaluate(config, actors, args.episodes, args.seeds, labels,
                          on_step=shown.update)
    data = result.to_json()
    print(f"{config.scenario} on {config.workload.source}, "
          f"{', '.join(f'{r}={p}' for r, p in result.policies.items())}, "
          f"{result.episodes} episodes of the {result.period} period x {args.seeds} seeds "
          f"({result.periods})")
    print(format_table(result))
    if args.max_throughput:
        data["max_throughput"] = capacity = max_sustainable_throughput(config, actors,
                                                                         args.episodes)
        rate, scale = capacity["tuples_per_second"], capacity["rate_scale"]
        print(f"max sustainable throughput: {rate['mean']:,.0f} ± {rate['ci95']:,.0f} tuples/s "
              f"(rate x{scale['mean']:.3g}; bisected on each of the test period's "
              f"{capacity['episodes']} episodes, 95% interval over them)")
    if args.whole_trace:
        data["whole_trace"] = whole_trace_objectives(config, actors, args.seeds)
        print("whole trace: " + ", ".join(f"{k} {v['mean']:.4g}"
                                          for k, v in data["whole_trace"].items()))
    run_dir = new_run_dir(f"{config.name}-eval")
    (run_dir / "eval.json").write_text(json.dumps(data, indent=2) + "\n")
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=2) + "\n")
    plot_episode(result, run_dir)
    print(f"written: {run_dir}/eval.json and plots")
    return 0


def _option(name: str) -> str:
    return "CONFIG" if name == "config" else "--" + name.replace("_", "-")


def run_grid_command(args) -> int:
    from marl_part.evaluation.policies import parse_policies
    from marl_part.experiments.grid import plan_grid, run_grid
    from marl_part.experiments.rundir import new_run_dir

    if args.page:
        check_output_file(Path(args.page), "--page", make_folder=True)
    given = parse_policies(args.policy) or None
    grid, _ = plan_grid(Path(args.grid), given)  # every config and checkpoint, before any work
    run_dir = new_run_dir(f"grid-{Path(args.grid).stem}")
    print(f"grid {args.grid} -> {run_dir}")
    rows = run_grid(Path(args.grid), run_dir, given=given)
    table = (run_dir / "grid.md").read_text()
    print(table)
    if args.page:
        policies = "".join(f" --policy {spec}" for spec in args.policy)
        command = f"marl-part eval --grid {args.grid}{policies} --page {args.page}"
        Path(args.page).parent.mkdir(parents=True, exist_ok=True)
        Path(args.page).write_text(results_page(grid.title, args.grid, command, table,
                                                len(rows)))
        print(f"written: {args.page}")
    return 0


def results_page(title: str, grid: str, command: str, table: str, n_rows: int) -> str:
    grid_text = Path(grid).read_text()
    return (f"# {title}\n\nGenerated by\n\n```sh\n{command}\n```\n\n"
            f"{n_rows} rows; each cell is the mean over the test period's non-overlapping "
            "episodes with its 95% Student-t interval over them (metrics: per-step means; "
            "team reward: episode return; "
            "max_throughput: tuples/s at the highest rate with a bounded backlog, bisected "
            "per seed, mean and interval over seeds). In a tuned table, *row* says what a "
            "row is: a pair at its *default* knobs, *tuned* (its knobs searched on the "
            "validation period, then scored on the test period), one with *no knobs*, or "
            "the *oracle* static size, chosen on these episodes themselves; *given* is the "
            "pair named by `--policy`, run on every workload; the note under "
            "the table says what was tuned over what.\n\n"
            f"{table}\n## The grid\n\n```yaml\n{grid_text}```\n")
