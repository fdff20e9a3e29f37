"""A Tianshou vector env that advances N envs of the batched world in one call.

Tianshou's ``DummyVectorEnv`` steps N Python env objects one after another; this one
holds one :class:`~marl_part.envs.simulation.Simulation` with ``n_envs = N`` and steps all of
them with a fixed number of numpy calls. Observations, actions and rewards are the
joint ones of :mod:`marl_part.envs.joint` (same layout as ``JointEnv``), so trainers take
either. With the same seeds it replays the same trajectories as N separate envs.

All envs step together: ``step`` takes an action for every env. Episodes have a fixed
length, so envs reset together and Tianshou's Collector never asks for a subset, as
long as it collects by steps or by a multiple of N episodes.

Both vector envs here keep the sums of their envs' step scalars (every reward term and
metric, named by ``layout.info_names``) and hand Tianshou empty info dicts: its
Collector turns each env's info dict into a ``Batch`` at every step, which cost a sixth
of a MAPPO run's CPU at 64 envs. A trainer reads the sums with ``take_scalar_sums``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from tianshou.env import BaseVectorEnv, DummyVectorEnv

from marl_part.envs.joint import JointEnv, JointLayout
from marl_part.envs.parallel_env import make_parallel_env
from marl_part.envs.simulation import Simulation
from marl_part.errors import InputError

if TYPE_CHECKING:  # a type only: the config layer sits above the envs
    from marl_part.config import EnvConfig


class ScalarSums:
    """Sums of the step scalars of all envs, and the env steps they cover."""

    def _add_scalars(self, values: np.ndarray) -> None:
        """``values`` (n_envs, len(info_names)): one step of every env."""
        sums = values.sum(axis=0, dtype=np.float64)
        self._scalar_sums = sums if getattr(self, "_scalar_sums", None) is None \
            else self._scalar_sums + sums
        self._scalar_steps = getattr(self, "_scalar_steps", 0) + len(values)

    def take_scalar_sums(self) -> tuple[np.ndarray | None, int]:
        """The sums since the last take (None before any step) and their env steps."""
        taken = getattr(self, "_scalar_sums", None), getattr(self, "_scalar_steps", 0)
        self._scalar_sums, self._scalar_steps = None, 0
        return taken


class BatchedVectorEnv(ScalarSums, BaseVectorEnv):
    """``teachers`` (learned role -> a baseline spec): fixed policies whose actions
    :meth:`teacher_action` gives, for imitation."""

    def __init__(self, config: EnvConfig, n_envs: int, teachers: dict[str, str] | None = None,
                 period: str = "train", starts: np.ndarray | None = None,
                 key_credit: bool = False):
        # BaseVectorEnv.__init__ builds one worker per env; there are none here
        self.simulation = Simulation(config, n_envs, teachers=teachers, period=period,
                                     starts=starts, key_credit=key_credit)
        self.env_num = self.wait_num = n_envs
        self.timeout, self.is_async, self.is_closed = None, False, False
        self.waiting_conn, self.waiting_id, self.ready_id = [], [], list(range(n_envs))
        simulation = self.simulation
        simulation.reset(np.arange(n_envs), [0] * n_envs)  # to size the spaces
        observations, state = simulation.observations(), simulation.state()
        self.layout = JointLayout.of({a: o.shape[1] for a, o in observations.items()},
                                     {a: simulation.action_nvec(a) for a in simulation.agents},
                                     state.shape[1], simulation.info_names,
                                     simulation.observation_items())
        self._spaces = {
            "observation_space": gym.spaces.Box(-np.inf, np.inf, (self.layout.obs_dim,),
                                                np.float32),
            "action_space": gym.spaces.MultiDiscrete(self.layout.nvec),
        }

    def get_env_attr(self, key: str, id=None) -> list[Any]:
        ids = self._wrap_id(id)
        if key in self._spaces:
            return [self._spaces[key]] * len(ids)
        if key == "layout":  # as JointEnv has it
            return [self.layout] * len(ids)
        return [getattr(self.simulation, key)] * len(ids)

    def set_env_attr(self, key: str, value: Any, id=None) -> None:
        raise AttributeError("the envs of a BatchedVectorEnv share one simulation")

    def seed(self, seed=None) -> list:
        """Reseed every env and start a new episode there, as Tianshou's workers do (an
        int seeds env i with ``seed + i``); later resets continue each env's sequence."""
        if seed is None or isinstance(seed, (int, np.integer)):
            seeds = [None if seed is None else int(seed) + i for i in range(self.env_num)]
        else:
            seeds = list(seed)
        self.simulation.reset(np.arange(self.env_num), seeds)
        return seeds

    def joint_observation(self) -> np.ndarray:
        observations = self.simulation.observations()
        parts = [observations[a.name] for a in self.layout.agents] + [self.simulation.state()]
        return np.concatenate(parts, axis=1).astype(np.float32)

    def teacher_action(self) -> np.ndarray:
        """The teachers' joint action now (n_envs, dims); -1 in the dimensions of a
        learned role that has no teacher."""
        actions = self.simulation.teacher_actions()
        return np.concatenate([actions.get(a.name, np.full((self.env_num, len(a.nvec)), -1))
                               for a in self.layout.agents], axis=1)

    def reset(self, env_id=None, **kwargs) -> tuple[np.ndarray, np.ndarray]:
        """New episodes in ``env_id``; ``seed=`` reseeds them (one int for all, as
        Tianshou's workers pass it, or one per env)."""
        ids = np.asarray(self._wrap_id(env_id), dtype=np.int64)
        seed = kwargs.get("seed")
        seeds = list(seed) if isinstance(seed, (list, tuple, np.ndarray)) else [seed] * len(ids)
        self.simulation.reset(ids, seeds)
        return self.joint_observation()[ids], np.array([{} for _ in ids], dtype=object)

    def step(self, action, id=None):
        ids = self._wrap_id(id)
        if len(ids) != self.env_num or np.any(np.asarray(ids) != np.arange(self.env_num)):
            raise ValueError("a BatchedVectorEnv steps all its envs together; collect by "
                             "steps or by a multiple of its env count in episodes")
        action = np.asarray(action)
        outcome = self.simulation.step({a.name: action[:, a.action] for a in self.layout.agents})
        n = self.env_num
        self._add_scalars(np.column_stack([*outcome.reward_terms.values(),
                                           *outcome.metrics.values()]))
        infos = np.empty(n, dtype=object)
        infos[:] = ([{} for _ in range(n)] if outcome.key_credit is None
                    else [{"key_credit": credit.copy()} for credit in outcome.key_credit])
        return (self.joint_observation(), outcome.reward.astype(np.float64), np.zeros(n, bool),
                outcome.truncated, infos)

    def render(self, **kwargs) -> list:
        return []

    def close(self) -> None:
        self.is_closed = True


class JointDummyVectorEnv(ScalarSums, DummyVectorEnv):
    """Tianshou's ``DummyVectorEnv`` over joint envs (:class:`~marl_part.envs.joint.JointEnv`),
    which keeps their ``info["scalars"]`` as sums and passes empty infos on."""

    def step(self, action, id=None):
        obs, reward, terminated, truncated, infos = super().step(action, id)
        self._add_scalars(np.stack([info.pop("scalars") for info in infos]))
        return obs, reward, terminated, truncated, infos


def make_vector_env(config: EnvConfig, n_envs: int, teachers: dict[str, str] | None = None,
                    period: str = "train", starts: np.ndarray | None = None,
                    key_credit: bool = False) -> BaseVectorEnv:
    """The fastest vector env for ``config``, playing episodes of ``period`` (of the
    workload's split; env i always from batch ``starts[i]`` if given): batched, unless
    SuperSuit wrappers (which work on single PettingZoo envs) are configured; then N
    wrapped single envs (which take no teachers and give no key credit). With
    ``key_credit``, every step's info holds the hot keys' difference rewards."""
    if config.wrappers:
        if teachers:
            raise InputError("imitation runs on the batched envs; drop wrappers: or "
                             "train.imitation", "train.imitation")
        if key_credit:
            raise InputError("per-key credit runs on the batched envs; drop wrappers: or "
                             "set learner.key_credit=team", "learner.key_credit")
        return JointDummyVectorEnv([
            partial(_joint_env, config, period, None if starts is None else starts[i:i + 1])
            for i in range(n_envs)])
    return BatchedVectorEnv(config, n_envs, teachers, period, starts, key_credit)


def _joint_env(config: EnvConfig, period: str, starts: np.ndarray | None) -> JointEnv:
    return JointEnv(make_parallel_env(config, period, starts))
