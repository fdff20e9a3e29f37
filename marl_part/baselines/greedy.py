"""Greedy placement of the hot keys: LPT, in the learned partitioner's own action space."""

from __future__ import annotations

import numpy as np

from marl_part.baselines.base import Baseline
from marl_part.baselines.knobs import HOT_KEYS, Knob
from marl_part.errors import InputError
from marl_part.sim.routing import Routing


class LPT(Baseline):
    """Longest processing time first (Graham, "Bounds on Multiprocessing Timing
    Anomalies", SIAM J. Appl. Math. 17(2), 1969), on the K hottest keys of each batch:
    in decreasing order of work, each goes whole to the least busy active partition,
    counting the load the tail router (``partitioner.tail``, hash by default) sends
    of the other keys and the hot keys placed before it. The ``split`` hottest keys are
    split instead over the two least busy partitions, as PartLy's split action and
    PKG's two choices do for the head of the distribution.

    With ``stay`` > 0, a key that already has state keeps it: it stays on its home
    partition (load rank 0) as long as that partition's busy time, the key's work
    included, stays within ``stay`` times the batch's fair share (its work over the
    active partitions' speed), so LPT moves a key only to relieve an overloaded
    partition (our addition, for the migration and dedup costs Graham's model lacks).
    This is load rank 0 under ``partitioner.stay_below`` = ``stay``, the setting a
    learned partitioner needs to imitate it.

    It decides in the learned partitioner's action space (load rank 1 for every
    dimension; rank 2 for a split key's second), so :meth:`action` is also what a
    learned partitioner imitates when warm-started from it. Needs
    ``partitioner.choices: load_rank`` and, to split, ``split_ways`` >= 2 and
    ``rank_choices`` >= 3.
    """

    role, name = "partitioner", "lpt"
    knobs = (Knob("split", int, 0, HOT_KEYS, 0, (0, 2, 4, 8, 16),
                  "hottest keys split over the two least busy partitions"),
             Knob("stay", float, 0.0, 2.0, 0.0, (0.0, 1.02, 1.05, 1.1),
                  "a key stays home while its partition is within this x its fair share "
                  "(0: never; Graham's LPT)"))

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        config = world.settings.partitioner
        if config.choices != "load_rank":
            raise InputError("lpt places hot keys by load rank; set partitioner.choices: "
                             "load_rank", "partitioner.choices")
        if self.split.any() and (config.split_ways < 2 or world.partitioner_choice_count() < 3):
            raise InputError("lpt:split needs partitioner.split_ways >= 2 and "
                             "partitioner.rank_choices >= 3", "partitioner")

    @classmethod
    def teaching_problem(cls, knobs, settings):
        stay = knobs.get("stay", 0.0)
        if stay > 0 and settings.partitioner.stay_below != stay:
            return (f"a learner imitates lpt:stay={stay} only where load rank 0 means the "
                    f"same; set partitioner.stay_below: {stay}")
        return None

    def action(self) -> np.ndarray:
        """(n_envs, K x S) load ranks: 1 everywhere, 2 in a split key's second
        dimension; with ``stay``, 0 (both dimensions) for an unsplit key with state."""
        world = self.world
        ranks = np.ones((world.n_envs, world.hot_keys, world.split_ways), dtype=np.int64)
        split = np.arange(world.hot_keys)[None, :] < self.split[:, None]
        if world.split_ways > 1:
            ranks[:, :, 1] = np.where(split, 2, 1)
        _, has_home = world.state_homes(world.view.hot)
        stays = (self.stay[:, None] > 0) & has_home & ~split
        ranks[stays] = 0
        return ranks.reshape(world.n_envs, -1)

    def act(self) -> Routing:
        return self.world.hot_key_routing(self.action(), stay_below=self.stay)
