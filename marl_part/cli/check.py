"""Build the env a config describes and test it: PettingZoo's API and seed tests (with
its wrappers), then one whole episode with random actions. Prints how much the load
varies within an episode, the periods of the split and, where the load has a cycle, how
much of the test period's load a seasonal forecast explains; --plot-demand FILE.png
draws the load."""

from __future__ import annotations

from pathlib import Path

from marl_part.cli.arguments import add_command, add_config, check_output_file


def add_parser(commands) -> None:
    parser = add_config(add_command(commands, "check", "test the env a config describes",
                                    __doc__, "marl-part check configs/partition_schedule.yaml "
                                    "--plot-demand demand.png"))
    parser.add_argument("--plot-demand", metavar="FILE.png", type=Path,
                        help="plot the work of every micro-batch of the workload")
    parser.set_defaults(run=run)


def run(args) -> int:
    from marl_part.config import load_config

    if args.plot_demand:
        check_output_file(args.plot_demand, "--plot-demand")
    config = load_config(args.config, args.set)
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    from marl_part.envs.parallel_env import make_parallel_env
    from marl_part.evaluation.plots import plot_demand
    from marl_part.evaluation.predictability import predictability

    env = make_parallel_env(config)
    print(f"{args.config}: scenario {config.scenario}, agents {env.possible_agents}")
    for agent in env.possible_agents:
        print(f"  {agent}: observation {env.observation_space(agent)}, "
              f"action {env.action_space(agent)}")
    world = env.unwrapped.simulation.world
    print(f"  {demand_summary(world.batches, config.episode_length)}")
    print(f"  periods: {world.batches.periods.describe(world.batches.batch_time)}")
    if (share := predictability(world.batches)) is not None:
        print(f"  predictability: {share.describe()}")
    if args.plot_demand:
        plot_demand(world, config.episode_length, config.name, args.plot_demand)
        print(f"  written: {args.plot_demand}")
    parallel_api_test(env, num_cycles=config.episode_length + 1)
    parallel_seed_test(lambda: make_parallel_env(config))
    steps, total = random_episode(env, seed=config.seed)
    print(f"  random actions: {steps} steps, team return {total:.3f}; API and seed tests passed")
    return 0


def random_episode(env, seed: int) -> tuple[int, float]:
    """Step one episode with uniformly random actions; (steps, team return)."""
    env.reset(seed=seed)
    for offset, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + offset)
    steps, total = 0, 0.0
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        _, rewards, _, _, _ = env.step(actions)
        steps, total = steps + 1, total + next(iter(rewards.values()))
    return steps, total


def demand_summary(batches, episode_length: int) -> str:
    """One line: work per batch, and its max / min within an episode over all starts."""
    import numpy as np

    work, swing = batches.batch_work, batches.episode_swing(episode_length)
    return (f"workload: {batches.n_batches:,} micro-batches, work per batch {work.min():.4g}"
            f"-{work.max():.4g} (mean {work.mean():.4g}); within a {episode_length}-batch "
            f"episode max/min is {swing.min():.2f}-{swing.max():.2f} (median "
            f"{np.median(swing):.2f})")
