"""``marl-part bench``: measured speed of the simulator, the vector env, the compiled
baselines and training, each figure next to its comparison from the same run.

Every measurement runs in a process forked from one that has imported everything (so
its peak resident memory is its own, above the ``idle`` floor) and repeats its
operation for a fixed wall-clock budget. ``--size small`` shrinks the
budgets and env counts so the suite runs in CI in a minute; its figures are not the
published ones.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import platform
import resource
import signal
import time
from pathlib import Path

import numpy as np

from marl_part.interrupts import SIGNALS
from marl_part.progress import log_above, progress

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
TUPLES_PER_BATCH = 10_000
PARTITIONS = 32  # 8 nodes x 4 slots
HOT_KEYS = 16


@dataclasses.dataclass(frozen=True)
class Size:
    seconds: float  # wall-clock budget of each timed loop
    n_envs: int  # the "many envs" count
    trace_limit: int | None  # tuples read from the trace
    train_envs: int  # batched envs of the training measurements
    train_budget: int  # env steps of the timed training run
    headline: dict  # train: settings of the headline's time to its bar


SIZES = {"full": Size(seconds=4.0, n_envs=64, trace_limit=None, train_envs=32,
                      train_budget=32768,
                      headline={"budget_env_steps": 204800, "eval_every_env_steps": 6400}),
         "small": Size(seconds=0.3, n_envs=8, trace_limit=100_000, train_envs=8,
                       train_budget=512,
                       headline={"budget_env_steps": 512, "eval_every_env_steps": 256,
                                 "n_envs": 8, "eval_episodes": 2, "final_episodes": 1,
                                 "final_seeds": 1, "imitation": None,
                                 "compare_with": ({"partitioner": "pkg",
                                                   "scheduler": "static"},)})}
HEADLINE = ROOT / "configs" / "partition_schedule.yaml"


def scenario_config(scenario: str, trace_limit: int | None = None, **overrides):
    """A bench config: Shakespeare's words, 10,000 per batch, 32 partitions, K = 16 (the
    chunk trace for dedup_route, whose batches are as large as the trace allows)."""
    from marl_part.config import Config
    from marl_part.sim.cluster import ClusterConfig, NodeType
    from marl_part.sim.settings import PartitionerConfig, SchedulerConfig
    from marl_part.workloads.batching import Batching
    from marl_part.workloads.chunks_csv import ChunksCsvSource
    from marl_part.workloads.text import TextSource
    from marl_part.workloads.trace import ContentModel

    if scenario == "dedup_route":
        workload = ChunksCsvSource(source="chunks_csv", path=str(DATA / "flask_quarterly_chunks.csv.gz"),
                                   batch=Batching(tuples=32), region_bytes=16384.0)
        cluster = ClusterConfig(nodes=(NodeType(count=8, speed=1e6),), slots_per_node=4,
                                initial_nodes=8)
        length = 40
    else:
        content = ContentModel() if scenario == "partition_schedule" else None
        workload = TextSource(source="text", path=str(DATA / "shakespeare.txt.gz"),
                              batch=Batching(tuples=TUPLES_PER_BATCH), content=content,
                              limit=trace_limit)
        cluster = ClusterConfig(nodes=(NodeType(count=8, speed=500.0),), slots_per_node=4,
                                initial_nodes=8)
        length = 8 if trace_limit else 50
    fields = dict(scenario=scenario, workload=workload, cluster=cluster,
                  partitioner=PartitionerConfig(hot_keys=HOT_KEYS, split_ways=2),
                  scheduler=SchedulerConfig(), episode_length=length, base_dir=str(ROOT))
    fields.update(overrides)
    return Config(**fields)


def timed(step, seconds: float) -> tuple[int, float]:
    """Call ``step`` until ``seconds`` have passed (after one warm-up call)."""
    step()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        calls += 1
    return calls, time.perf_counter() - start


def random_stepper(env, n_envs: int):
    rng = np.random.default_rng(0)
    nvec = env.layout.nvec if hasattr(env, "layout") else env.get_env_attr("layout")[0].nvec
    actions = [rng.integers(0, nvec, size=(n_envs, len(nvec))) for _ in range(16)]
    counter = [0]

    def step():
        out = env.step(actions[counter[0] % 16])
        counter[0] += 1
        if np.all(out[3]):
            env.reset()
    return step


def env_speed(scenario: str, n_envs: int, seconds: float, trace_limit: int | None) -> dict:
    from marl_part.envs.vector_env import BatchedVectorEnv

    env = BatchedVectorEnv(scenario_config(scenario, trace_limit), n_envs)
    env.seed(0)
    env.reset()
    calls, elapsed = timed(random_stepper(env, n_envs), seconds)
    tuples = float(env.simulation.world.batches.batch_tuples.mean())
    return {"env_steps_per_s": calls * n_envs / elapsed,
            "tuples_per_s": calls * n_envs * tuples / elapsed, "tuples_per_batch": tuples}


def vector_env_ratio(scenario: str, n_envs: int, seconds: float, trace_limit: int | None) -> dict:
    from tianshou.env import DummyVectorEnv

    from marl_part.envs.joint import JointEnv
    from marl_part.envs.parallel_env import make_parallel_env
    from marl_part.envs.vector_env import BatchedVectorEnv

    config = scenario_config(scenario, trace_limit)
    batched = BatchedVectorEnv(config, n_envs)
    dummy = DummyVectorEnv([lambda: JointEnv(make_parallel_env(config))] * n_envs)
    figures = {}
    for name, env in (("batched", batched), ("dummy", dummy)):
        env.seed(0)
        env.reset()
        calls, elapsed = timed(random_stepper(env, n_envs), seconds)
        figures[f"{name}_env_steps_per_s"] = calls * n_envs / elapsed
    figures["ratio"] = figures["batched_env_steps_per_s"] / figures["dummy_env_steps_per_s"]
    return figures


def compiled_router_ratio(name: str, n_envs: int, seconds: float) -> dict:
    """A compiled per-tuple router against its plain-Python reference on the same
    batches (a Zipf stream of 300 keys, 10,000 tuples per batch, 32 partitions; few
    enough keys that SpaceSaving counts exactly, as the reference does), routing
    asserted identical."""
    from marl_part.baselines import BASELINES
    from marl_part.baselines.reference import CAMRef, ChoicesRef, PKGRef
    from marl_part.envs.simulation import Simulation
    from marl_part.workloads.zipf import ZipfSource

    references = {"pkg": PKGRef, "w_choices": lambda: ChoicesRef(all_workers=True),
                  "cam": CAMRef}
    config = scenario_config("partition", workload=ZipfSource(
        source="zipf", keys=300, rate=TUPLES_PER_BATCH, seconds=60), episode_length=50,
        roles={"partitioner": "hash"})
    simulation = Simulation(config, n_envs)
    simulation.reset(np.arange(n_envs), list(range(n_envs)))
    world = simulation.world
    router = BASELINES["partitioner"][name](world)
    router.reset(np.arange(n_envs), [np.random.default_rng(e) for e in range(n_envs)])
    trace = world.batches.trace
    reference = [references[name]() for _ in range(n_envs)]
    compiled_time = reference_time = 0.0
    tuples, batches = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < 2 * seconds or batches < 3:
        began = time.perf_counter()
        routing = router.act()
        compiled_time += time.perf_counter() - began
        index, _, starts = world.view.tuples()
        began = time.perf_counter()
        for e in range(n_envs):
            mine = index[starts[e]:starts[e + 1]]
            keys = trace.keys[mine]
            routed = reference[e].route(keys.tolist(), list(trace.key_hash[keys]),
                                        trace.work[mine].tolist(), int(world.n_active[e]),
                                        int(world.t[e]))
            if routed != routing.tuple_partition[starts[e]:starts[e + 1]].tolist():
                raise AssertionError(f"{name}: compiled and reference routing differ")
        if batches == 0:  # the first batch loads the kernel: checked, not timed
            compiled_time = reference_time = 0.0
        else:
            reference_time += time.perf_counter() - began
            tuples += len(index)
        batches += 1
        world.step(routing, world.hold_action())
    return {"compiled_tuples_per_s": tuples / compiled_time,
            "reference_tuples_per_s": tuples / reference_time,
            "ratio": reference_time / compiled_time}


def training_speed(algorithm: str, n_envs: int, budget: int) -> dict:
    """End-to-end training on partition_schedule: env steps per second of wall time,
    updates and one evaluation included."""
    import tempfile

    from marl_part.envs.vector_env import BatchedVectorEnv
    from marl_part.trainers.registry import algorithm_spec
    from marl_part.trainers.runner import train

    config = scenario_config("partition_schedule")
    learner = algorithm_spec(algorithm).config_class()
    if learner.on_policy:  # a rollout no longer than the budget (the default is 6400)
        learner = dataclasses.replace(learner, rollout_env_steps=min(learner.rollout_env_steps,
                                                                     budget))
    layout = BatchedVectorEnv(config, 1).layout
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(learner, layout, lambda: BatchedVectorEnv(config, n_envs),
                       lambda: BatchedVectorEnv(config, 2), run_dir,
                       budget, budget, 2, seed=0, show_progress=False)
    return {"env_steps_per_s": result["env_steps"] / result["wall_time_s"],
            "env_steps": result["env_steps"], "n_envs": n_envs}


def headline_config(**train_changes):
    """The headline config (``configs/partition_schedule.yaml``), with its own learner
    protocol; ``train_changes`` replace keys of its ``train:`` section (a rollout is
    shortened to the budget)."""
    from marl_part.config import load_config

    config = load_config(HEADLINE)
    settings = dataclasses.replace(config.train, **train_changes)
    learner = dataclasses.replace(config.learner, rollout_env_steps=min(
        config.learner.rollout_env_steps, settings.budget_env_steps))
    return dataclasses.replace(config, train=settings, learner=learner)


def headline_training_speed(n_envs: int, budget: int) -> dict:
    """Training on the headline config with its learner protocol: env steps per second
    of wall time, updates and one evaluation included, imitation (a fixed cost before
    the first step) left out."""
    import tempfile

    from marl_part.experiments.training_run import train_only

    config = headline_config(n_envs=n_envs, budget_env_steps=budget,
                             eval_every_env_steps=budget, imitation=None)
    with tempfile.TemporaryDirectory() as run_dir:
        result = train_only(config, Path(run_dir), show_progress=False)
    return {"env_steps_per_s": result["env_steps"] / result["wall_time_s"],
            "env_steps": result["env_steps"], "n_envs": n_envs}


class _BarReached(Exception):
    """Raised from the evaluation hook to end a timed run at its first evaluation past
    the bar."""


def time_to_bar(train_changes: dict) -> dict:
    """The headline trained as ``marl-part train`` does, until its first evaluation
    (``train.eval_episodes`` episodes of the validation period) scores at least the
    bar: the best tuned pair of its ``compare_with`` (``marl-part tune``, the informed
    scalers among them), scored on those same validation episodes. Seconds are training
    wall time, imitation included, tuning excluded (it is reported apart); NaN where the
    budget ends first."""
    import tempfile

    from marl_part.evaluation.evaluate import evaluate
    from marl_part.evaluation.tuning import best_row, classical_bar, with_pair
    from marl_part.experiments.training_run import train_only

    config = headline_config(**train_changes)
    started = time.time()
    best = best_row(classical_bar(config, config.train.compare_with, config.tune,
                                  config.train.final_episodes, config.train.final_seeds,
                                  log=lambda _: None))
    bar = evaluate(with_pair(config, best.pair), {}, config.train.eval_episodes, 1,
                   period="validation").team_reward["mean"]
    tuning_seconds, started = time.time() - started, time.time()
    reached = []

    def heard(env_step: int, reward: float) -> None:
        if reward >= bar:
            reached.append((env_step, time.time() - started))
            raise _BarReached

    with tempfile.TemporaryDirectory() as run_dir:
        try:
            train_only(config, Path(run_dir), show_progress=False, on_evaluation=heard)
        except _BarReached:
            pass
    env_steps, seconds = reached[0] if reached else (float("nan"), float("nan"))
    return {"bar": best.label, "bar_team_reward": bar, "env_steps_to_bar": env_steps,
            "seconds_to_bar": seconds, "tuning_seconds": tuning_seconds,
            "n_envs": config.train.n_envs}


def learned_routing_speed(n_envs: int, seconds: float, trace_limit: int | None) -> dict:
    """Routing and processing micro-batches (``partition``, 10,000 tuples, 32
    partitions): a learned partitioner (its observation, a MAPPO actor, hot-key
    routing) against hash routing, in tuples per second of whole world steps."""
    from marl_part.envs.vector_env import BatchedVectorEnv
    from marl_part.trainers.acting import GreedyAgent
    from marl_part.trainers.configs import MAPPOConfig
    from marl_part.trainers.registry import algorithm_spec

    env = BatchedVectorEnv(scenario_config("partition", trace_limit), n_envs)
    env.reset()
    simulation, world = env.simulation, env.simulation.world
    actor = GreedyAgent(algorithm_spec("mappo").build(MAPPOConfig(), env.layout).scorer.eval(),
                        env.layout, "partitioner")
    tuples = float(world.batches.batch_tuples.mean()) * n_envs

    def stepper(route):
        def step():
            world.step(route(), world.hold_action())
            if world.truncated.all():
                env.reset()
        return step

    deciders = {"learned": lambda: world.hot_key_routing(
                    actor(simulation.scenario.observation("partitioner", world))),
                "hash": world.hash_routing}
    figures = {}
    for name, decide in deciders.items():
        calls, elapsed = timed(stepper(decide), seconds)
        figures[f"{name}_tuples_per_s"] = calls * tuples / elapsed
    figures["ratio_learned_to_hash"] = figures["learned_tuples_per_s"] / figures["hash_tuples_per_s"]
    return figures


@dataclasses.dataclass(frozen=True)
class Measurement:
    name: str
    what: str
    function: str  # name of a function in this module
    kwargs: dict


def idle() -> dict:
    """A process that imports what the others import and does nothing: the floor
    under every peak-memory figure."""
    import marl_part.envs.vector_env  # noqa: F401  (imports tianshou and torch)

    return {}


def measurements(size: Size) -> list[Measurement]:
    items = [Measurement("idle", "imports only (the memory floor of every process)", "idle", {})]
    for scenario in ("partition", "autoscale", "dedup_route", "partition_schedule"):
        for n in (1, size.n_envs):
            items.append(Measurement(f"env/{scenario}/n{n}",
                                     f"{scenario}: random joint actions, {n} env(s)",
                                     "env_speed", {"scenario": scenario, "n_envs": n,
                                                   "seconds": size.seconds,
                                                   "trace_limit": size.trace_limit}))
    for scenario in ("partition", "partition_schedule"):
        items.append(Measurement(f"vector_env/{scenario}/n{size.n_envs}",
                                 f"{scenario}: batched vector env vs DummyVectorEnv of "
                                 f"{size.n_envs} single envs", "vector_env_ratio",
                                 {"scenario": scenario, "n_envs": size.n_envs,
                                  "seconds": size.seconds, "trace_limit": size.trace_limit}))
    items.append(Measurement(f"routing/learned_vs_hash/n{size.n_envs}",
                             f"partition: world steps routed by a learned partitioner vs "
                             f"by hash, {size.n_envs} envs", "learned_routing_speed",
                             {"n_envs": size.n_envs, "seconds": size.seconds,
                              "trace_limit": size.trace_limit}))
    for algorithm in ("mappo", "qmix"):
        items.append(Measurement(f"training/{algorithm}",
                                 f"partition_schedule: end-to-end {algorithm} training, "
                                 f"{size.train_envs} batched envs, updates included",
                                 "training_speed", {"algorithm": algorithm,
                                                    "n_envs": size.train_envs,
                                                    "budget": size.train_budget}))
    for n in sorted({size.train_envs, size.n_envs}):
        items.append(Measurement(f"training/headline/n{n}",
                                 f"{HEADLINE.name}: mappo with the headline's protocol, "
                                 f"{n} batched envs, updates included", "headline_training_speed",
                                 {"n_envs": n, "budget": size.train_budget}))
    items.append(Measurement("training/headline/time_to_bar",
                             f"{HEADLINE.name}: training until an evaluation beats the best "
                             "tuned compare_with pair (seconds: training, imitation included)",
                             "time_to_bar", {"train_changes": size.headline}))
    for name in ("pkg", "w_choices", "cam"):
        items.append(Measurement(f"router/{name}/n{size.n_envs}",
                                 f"{name}: compiled kernel vs plain-Python reference, "
                                 f"{size.n_envs} envs, identical routing asserted",
                                 "compiled_router_ratio",
                                 {"name": name, "n_envs": size.n_envs, "seconds": size.seconds}))
    return items


def _child(function: str, kwargs: dict, queue) -> None:
    for number in SIGNALS:  # the parent tells where it was stopped; this one ends quietly
        signal.signal(number, signal.SIG_DFL)
    figures = globals()[function](**kwargs)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(figures)


def run_measurement(item: Measurement) -> dict:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_child, args=(item.function, item.kwargs, queue))
    process.start()
    figures = queue.get()
    process.join()
    return figures


def machine() -> dict:
    import numba
    import tianshou
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": multiprocessing.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "torch": torch.__version__,
            "tianshou": tianshou.__version__, "platform": platform.platform()}


def warm_up() -> None:
    """Compile Tianshou's numba kernels once, before the measurements fork."""
    for algorithm in ("mappo", "qmix"):
        training_speed(algorithm, 2, 64)


def run_bench(size_name: str, log=log_above) -> dict:
    warm_up()  # children fork from a process with every import and compilation done
    size = SIZES[size_name]
    results = {"size": size_name, "machine": machine(), "measurements": {}}
    items = measurements(size)
    with progress("bench", len(items), "measurements") as bar:
        for item in items:
            figures = run_measurement(item)
            results["measurements"][item.name] = {"what": item.what, **figures}
            log(f"{item.name:40s} " + ", ".join(f"{k} {_figure(v)}" for k, v in figures.items()))
            bar.update()
    return results


def markdown(results: dict, command: str) -> str:
    m = results["machine"]
    lines = ["# Benchmarks", "", f"Generated by `{command}` on {m['cpu']} ({m['cores']} cores), "
             f"Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}, torch {m['torch']}, "
             f"tianshou {m['tianshou']}, {m['platform']}.", "",
             "| measurement | what | figures |", "|---|---|---|"]
    for name, figures in results["measurements"].items():
        shown = ", ".join(f"{k} {_figure(v)}" for k, v in figures.items() if k != "what")
        lines.append(f"| `{name}` | {figures['what']} | {shown} |")
    return "\n".join(lines) + "\n"


def write(results: dict, json_path: Path | None, markdown_path: Path | None, command: str) -> None:
    if json_path:
        json_path.write_text(json.dumps(results, indent=2) + "\n")
    if markdown_path:
        markdown_path.write_text(markdown(results, command))


def _figure(value) -> str:
    """A measured number, four significant digits, or a label as it is."""
    return f"{value:,.4g}" if isinstance(value, (int, float)) else str(value)
