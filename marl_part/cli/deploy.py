"""Run a partitioner (and the scheduler's parallelism) inside Apache Flink and hold
the simulator to what the engine measures: the first --batches micro-batches of the test
period are replayed in a PyFlink job on a local cluster, once for the given partitioner
and once for each --compare one (default: hash, pkg and the tuned classical partitioner
of the run's own comparison), and the simulator plays the same batches under the same
routing. Tables go to stdout and, as a page, to a fresh run directory and --page. Needs
the flink extra and Java (docs/engine.md)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from marl_part.cli.arguments import add_command

ENGINES = ("flink",)
DEFAULT_SCHEDULER = "static"  # the config's initial cluster, held


def add_parser(commands) -> None:
    parser = add_command(commands, "deploy", "run a partitioner in Apache Flink and compare "
                         "the simulator with what it measures", __doc__,
                         "marl-part deploy configs/partition_schedule.yaml --engine flink "
                         "--policy partitioner=runs/RUN")
    parser.add_argument("config", metavar="CONFIG", help="a YAML config")
    parser.add_argument("--engine", choices=ENGINES, default="flink",
                        help="the stream engine (default flink: a local PyFlink cluster)")
    parser.add_argument("--policy", action="append", default=[], metavar="ROLE=NAME",
                        help="partitioner=RUN_OR_NAME to deploy (required); scheduler=... "
                        f"sets each window's active subtasks (default {DEFAULT_SCHEDULER})")
    parser.add_argument("--batches", type=int, help="micro-batches of the test period to "
                        "replay, one window a second (default: episode_length)")
    parser.add_argument("--compare", action="append", metavar="PARTITIONER",
                        help="also deploy this partitioner (repeatable; default: hash, "
                        "pkg and the tuned classical one of the run's comparison.json)")
    parser.add_argument("--no-rescale", action="store_true",
                        help="skip measuring what a rescale costs (about 2 minutes)")
    parser.add_argument("--page", metavar="FILE.md", help="also write the page here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (repeatable)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from marl_part.cli.arguments import check_output_file
    from marl_part.deploy.flink import require_flink
    from marl_part.errors import InputError
    from marl_part.evaluation.policies import parse_policies

    policies = parse_policies(args.policy)
    if "partitioner" not in policies:
        raise InputError("name the partitioner to deploy", "--policy partitioner=RUN_OR_NAME")
    if args.batches is not None and args.batches < 1:
        raise InputError("give at least 1", "--batches")
    if args.page:
        check_output_file(Path(args.page), "--page", make_folder=True)
    compare = args.compare or ["hash", "pkg", tuned_partitioner(policies["partitioner"])]
    for spec in compare:
        parse_policies([f"partitioner={spec}"])
    require_flink()
    return deploy(args, policies["partitioner"], policies.get("scheduler", DEFAULT_SCHEDULER),
                  list(dict.fromkeys([policies["partitioner"], *compare])))


def deploy(args, partitioner: str, scheduler: str, partitioners: list[str]) -> int:
    from marl_part.config import load_config
    from marl_part.deploy.flink import versions
    from marl_part.deploy.page import Setup, render
    from marl_part.deploy.rescale import rescale_costs
    from marl_part.experiments.rundir import new_run_dir

    config = load_config(args.config, args.set)
    cluster = config.cluster
    args.batches = args.batches or config.episode_length
    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start"
    comparisons = [deploy_one(args, spec, scheduler) for spec in partitioners]
    rescales = [] if args.no_rescale else rescale_costs(
        cluster.slots_per_node, 2 * cluster.slots_per_node)
    for r in rescales:
        print(f"rescale {r.source} -> {r.target} subtasks: {r.seconds:.1f} s, "
              f"{r.downtime:.1f} s with none running")
    load += f", {os.getloadavg()[0]:.1f} at the end"
    setup = Setup(command(args, scheduler, partitioners), replayed(config, comparisons[0]),
                  scheduler, cluster.batch_interval, cluster.provisioning_delay, versions(),
                  load)
    page = render(setup, comparisons, rescales)
    run_dir = new_run_dir(f"{config.name}-deploy")
    (run_dir / "engine.md").write_text(page)
    if args.page:
        Path(args.page).parent.mkdir(parents=True, exist_ok=True)
        Path(args.page).write_text(page)
    print(f"written: {run_dir}/engine.md" + (f" and {args.page}" if args.page else ""))
    return 0


def deploy_one(args, partitioner: str, scheduler: str):
    """One partitioner: replayed in the simulator, measured in Flink, its lag costed."""
    from marl_part.config import load_config
    from marl_part.deploy.compare import Comparison
    from marl_part.deploy.engine import PreviousWindow
    from marl_part.deploy.job import run_jobs
    from marl_part.deploy.lag import lag_cost
    from marl_part.deploy.windows import engine_for, replay
    from marl_part.evaluation.policies import checkpoint_actors, role_overrides

    pair = {"partitioner": partitioner, "scheduler": scheduler}
    config = load_config(args.config, role_overrides(pair) + args.set)
    actors = checkpoint_actors(config, pair)
    replayed = replay(config, actors, args.batches, partitioner)
    lag = lag_cost(config, actors) if engine_for(config) is PreviousWindow else None
    print(f"{partitioner}: {len(replayed.windows)} windows, "
          f"{sum(len(w.keys) for w in replayed.windows):,} tuples, "
          f"{replayed.parallelism} subtasks; running in Flink ...", flush=True)
    measured = run_jobs([replayed], config.cluster.batch_interval)[0]
    comparison = Comparison(replayed, measured, config.cluster.batch_interval, lag)
    print(f"  {comparison.measured.seconds:.0f} s in Flink", flush=True)
    cells, largest = comparison.load_differences()
    sim_latency, latency = comparison.latency()
    print(f"  loads: {cells} cells differ (largest {largest}); merged counts "
          f"{'exact' if comparison.counts_exact() else 'WRONG'}; imbalance sim/measured "
          f"{comparison.imbalance()[0]:.3f}/{comparison.imbalance()[1]:.3f}; latency "
          f"sim/measured {sim_latency.mean():.2f}/{latency.mean():.2f} s"
          + (f"; deciding a window late costs {lag.cost['mean']:.2f} ± {lag.cost['ci95']:.2f}"
             f" per episode" if lag else ""), flush=True)
    return comparison


def tuned_partitioner(spec: str) -> str:
    """The partitioner of the best tuned pair in the run's comparison.json (lpt when
    ``spec`` names no run with one)."""
    from marl_part.evaluation.policies import checkpoint_path
    from marl_part.experiments.rundir import read_json

    path = checkpoint_path(spec)
    comparison = path.parent / "comparison.json" if path else None
    if comparison is None or not comparison.is_file():
        return "lpt"
    tuned = [row for row in read_json(comparison) if row["kind"] == "tuned"]
    best = max(tuned, key=lambda row: row["eval"]["team_reward"]["mean"], default=None)
    return best["pair"]["partitioner"] if best else "lpt"


def command(args, scheduler: str, partitioners: list[str]) -> str:
    """The command that makes this page again, every default spelled out."""
    words = ["marl-part", "deploy", args.config, "--engine", args.engine,
             "--policy", f"partitioner={partitioners[0]}", "--policy", f"scheduler={scheduler}",
             "--batches", str(args.batches)]
    for spec in partitioners[1:]:
        words += ["--compare", spec]
    for override in args.set:
        words += ["--set", override]
    if args.no_rescale:
        words.append("--no-rescale")
    if args.page:
        words += ["--page", args.page]
    return shlex.join(words)


def replayed(config, comparison) -> str:
    """Which batches were replayed, with their dates where they have some."""
    import pandas as pd

    from marl_part.deploy.windows import replay_episodes
    from marl_part.workloads import load_batches

    batches = load_batches(config.workload, config.cluster.batch_interval,
                           Path(config.base_dir))
    first = int(replay_episodes(config, 1).starts[0])
    last = first + len(comparison.replay.windows) - 1
    text = (f"the test period's first {last - first + 1} micro-batches [{first}, {last + 1}) "
            f"({config.episode_length} to an episode, each from the initial cluster)")
    if batches.batch_time is not None:
        text += (f", {pd.Timestamp(batches.batch_time[first], unit='s'):%Y-%m-%d %H:%M} to "
                 f"{pd.Timestamp(batches.batch_time[last], unit='s'):%Y-%m-%d %H:%M}")
    return text
