"""What a baseline is: a fixed policy that fills one role of a scenario."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from marl_part.baselines.knobs import Knob, Value, knob_arrays, knob_section
from marl_part.errors import InputError
from marl_part.sim.routing import Routing
from marl_part.sim.settings import WorldSettings
from marl_part.sim.world import World


class Baseline(ABC):
    """A named fixed policy for the ``partitioner`` or the ``scheduler`` role.

    A partitioner returns a :data:`~marl_part.sim.routing.Routing` for the current batch of
    every env (``world.view``), never to a partition >= ``world.n_active[env]``, which
    the scheduler may change between batches; a scheduler returns its action
    (n_envs, dims) in the scheduler's action space (see
    :meth:`World.scheduler_action_sizes`), reading what the last batch did from
    ``world.last``. ``act`` is called once per micro-batch for all envs at once; a
    per-tuple router runs one compiled kernel over the gathered tuples of all envs.
    Each baseline's docstring cites its paper and states what we had to assume.

    ``knobs`` declares the tunable parameters (:class:`~marl_part.baselines.knobs.Knob`,
    listed at the end of the docstring); the constructor takes them as keywords, each
    a scalar or a per-env array, and sets every knob as an attribute holding one value
    per env (the default where none is given).
    """

    role: ClassVar[str]
    name: ClassVar[str]
    knobs: ClassVar[tuple[Knob, ...]] = ()
    per_tuple: ClassVar[bool] = False  # a partitioner that routes tuples, not keys

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("knobs"):  # declared here, not inherited: list them once
            cls.__doc__ = (cls.__doc__ or "").rstrip() + knob_section(cls.knobs)

    def __init__(self, world: World, **knobs):
        self.world = world
        for name, values in knob_arrays(self.knobs, world.settings, world.n_envs, knobs).items():
            setattr(self, name, values)

    def reset(self, env_ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        """New episodes start in ``env_ids``; a stateful baseline forgets them there."""

    @abstractmethod
    def act(self) -> Routing | np.ndarray:
        """The decision for the current micro-batch of every env."""

    @classmethod
    def teaching_problem(cls, knobs: Mapping[str, Value], settings: WorldSettings) -> str | None:
        """Why a learner in ``settings`` could not imitate this baseline with ``knobs``
        (None: it can, if it decides in the learned action space at all)."""
        return None

    def action(self) -> np.ndarray:
        """The decision as an action of the learned role (n_envs, dims), for a learner
        to imitate; a router that decides per key or per tuple has none."""
        raise InputError(f"{self.name} decides per key or per tuple, not in the learned "
                         f"{self.role}'s action space; a teacher is a scheduler, or lpt")
