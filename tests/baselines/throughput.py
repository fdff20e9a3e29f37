"""Routing throughput of the compiled per-tuple routers (not a test; run by hand):

    python tests/baselines/throughput.py [n_envs] [steps] [names...]

Builds the headline config (Shakespeare word stream, 10,000 tuples per micro-batch)
with n_envs envs and times ``act()`` alone, i.e. gathering the batch's tuples of all
envs and routing them, after one warm-up call that compiles or loads the kernels.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from marl_part.baselines import BASELINES
from marl_part.config import load_config
from marl_part.simulation import Simulation

CONFIG = Path(__file__).parents[2] / "configs" / "partition_schedule.yaml"


def main(n_envs=64, steps=20, names=("pkg", "w_choices")):
    config = load_config(CONFIG, ["roles.partitioner=hash", "roles.scheduler=static"])
    sim = Simulation(config, n_envs)
    sim.reset(np.arange(n_envs), list(range(n_envs)))
    world = sim.world
    for name in names:
        router = BASELINES["partitioner"][name](world)
        router.reset(np.arange(n_envs), [np.random.default_rng(e) for e in range(n_envs)])
        router.act()  # compile / load from the numba cache
        elapsed, tuples = 0.0, 0
        for _ in range(steps):
            start = time.perf_counter()
            routing = router.act()
            elapsed += time.perf_counter() - start
            tuples += len(routing.tuple_partition)
            world.step(routing, world.hold_action())
        print(f"{name:10s} {n_envs} envs x {tuples / steps / n_envs:,.0f} tuples/batch: "
              f"{tuples / elapsed / 1e6:6.1f} M tuples/s ({elapsed / steps * 1e3:.1f} ms per step)")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 64, int(args[1]) if len(args) > 1 else 20,
         tuple(args[2:]) or ("pkg", "w_choices"))
