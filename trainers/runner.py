"""Train a team with Tianshou's trainers: build, log, checkpoint, resume, warm-start.

:func:`train` is the one entry point the CLI calls. An epoch of Tianshou's trainer is
``eval_every_env_steps`` of training followed by an evaluation; a checkpoint is written
at the end of every epoch, just before that evaluation. A killed run resumed with
``resume=True`` restores everything the checkpoint holds (networks, optimizers, envs,
collectors, replay buffer, every random generator), evaluates as its predecessor was
about to, and continues exactly as the unkilled run would have: the same TensorBoard
scalars (wall-clock rates aside) and the same final evaluation. A SIGINT or SIGTERM
(:mod:`marl_part.interrupts`) stops the run at the start of its next training step with
a checkpoint written there, which a resumed run continues in the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from math import ceil, inf
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from tianshou.algorithm import Algorithm
from tianshou.data import Collector
from tianshou.env import BaseVectorEnv
from tianshou.trainer import (
    OffPolicyTrainer,
    OffPolicyTrainerParams,
    OnPolicyTrainer,
    OnPolicyTrainerParams,
)
from torch.utils.tensorboard import SummaryWriter

from marl_part import interrupts, snapshot, typed_yaml
from marl_part.envs.joint import JointLayout
from marl_part.errors import InputError
from marl_part.trainers.checkpoint import (
    CHECKPOINT_FILE,
    buffer_data,
    check_layout,
    checkpoint_config,
    load_checkpoint,
    load_replay_buffer,
    remove_other_replay_buffers,
    save_checkpoint,
    save_replay_buffer,
    set_rng_state,
)
from marl_part.trainers.configs import ImitationConfig
from marl_part.trainers.imitation import imitate
from marl_part.trainers.numba_cache import cache_tianshou_kernels
from marl_part.trainers.registry import algorithm_spec
from marl_part.trainers.seeding import RunStreams, seed_everything
from marl_part.trainers.team_logger import TeamLogger
from marl_part.trainers.training_stats import TeamCollectStats


@runtime_checkable
class ProgressScheduled(Protocol):
    """A policy whose exploration follows the share of the budget done (e.g. epsilon)."""

    def set_training_progress(self, progress: float) -> None: ...


class TeamCollector(Collector):
    """Tianshou's Collector without autograd bookkeeping while acting, whose statistics
    carry the sums of the step scalars its vector env kept (``take_scalar_sums``, as
    :mod:`marl_part.envs.vector_env`'s envs have it)."""

    def _collect(self, *args, **kwargs):
        with torch.no_grad():
            stats = super()._collect(*args, **kwargs)
        stats.info_sums, stats.info_steps = self.env.take_scalar_sums()
        return stats


class StopsWhole:
    """Mixed into Tianshou's trainers: when a signal is pending, a training step writes a
    checkpoint (``save_stopped(epochs done, env step, update step)``) and raises
    :class:`~marl_part.interrupts.Interrupted` before it collects. A run resumed from
    such a checkpoint does not evaluate first (``evaluation_due`` False: the stopped run
    had evaluated already) and ends its first epoch where the stopped one would have
    (``carried``: the env steps of that epoch done before the checkpoint)."""

    save_stopped: Callable[[int, int, int], None]
    carried = 0
    evaluation_due = True

    def _test_step(self, force_update_best: bool = False, log_msg_prefix: str | None = None):
        if not self.evaluation_due:  # the start of a resumed run: none is due here
            self.evaluation_due, self._best_score = True, -inf
            return None, False
        return super()._test_step(force_update_best, log_msg_prefix)

    def _training_step(self):
        if (signum := interrupts.pending()) is not None:
            self.save_stopped(self._epoch - 1, self._env_step, self._current_update_step - 1)
            budget = self.params.max_epochs * self.params.epoch_num_steps
            raise interrupts.Interrupted(signum).at(
                f"env step {self._env_step:,} of {budget:,} (checkpoint written)")
        result = super()._training_step()
        if self.carried:
            result, self.carried = _Carried(result, self.carried), 0
        return result


class _Carried:
    """A training step's result that also counts the ``carried`` steps of its epoch."""

    def __init__(self, result, carried: int):
        self._result, self._carried = result, carried

    def __getattr__(self, name: str):
        return getattr(self._result, name)

    def get_steps_in_epoch_advancement(self) -> int:
        return self._carried + self._result.get_steps_in_epoch_advancement()


class _OnPolicy(StopsWhole, OnPolicyTrainer):
    """Tianshou's on-policy trainer that stops whole."""


class _OffPolicy(StopsWhole, OffPolicyTrainer):
    """Tianshou's off-policy trainer that stops whole."""


TRAINERS = {OnPolicyTrainerParams: _OnPolicy, OffPolicyTrainerParams: _OffPolicy}


def collector_state(collectors: dict[str, Collector]) -> dict:
    """The snapshot record of ``collectors``: their envs, the observations the next
    collection starts from, their buffers' counters and sampling generators; not their
    policy (a callable, so code to a snapshot) nor the transitions (the replay buffer
    file holds those)."""
    return snapshot.capture(collectors, skip=[data for collector in collectors.values()
                                              for data in buffer_data(collector.buffer)])


def restore_collectors(collectors: dict[str, Collector], checkpoint: dict,
                       run_dir: Path) -> None:
    """Put ``collectors`` (built as the run built them) back in the state the
    checkpoint holds, with the transitions of its replay buffer file, if it names one."""
    try:
        snapshot.restore(collectors, checkpoint["collectors"])
    except snapshot.SnapshotError as exc:  # e.g. written by a version whose envs held other objects
        raise InputError(f"the checkpoint's envs do not fit this run's: {exc}",
                         str(run_dir / CHECKPOINT_FILE)) from None
    if checkpoint["replay_buffer"] is not None:
        load_replay_buffer(run_dir, checkpoint["replay_buffer"], collectors["train"].buffer)


def warm_start(algorithm: Algorithm, path: str | Path, config: Any, layout: JointLayout) -> None:
    """Load another run's network weights (not its optimizers, counters or epsilon)."""
    checkpoint = load_checkpoint(path)
    if checkpoint["algorithm"] != config.algorithm:
        raise InputError(f"checkpoint was trained with '{checkpoint['algorithm']}', "
                         f"this run uses '{config.algorithm}'", str(path))
    check_layout(checkpoint, path, layout)
    weights = {key: value for key, value in checkpoint["algorithm_state"].items()
               if key != Algorithm._STATE_DICT_KEY_OPTIMIZERS and not key.endswith("_extra_state")}
    try:
        torch.nn.Module.load_state_dict(algorithm, weights, strict=False)
    except RuntimeError as exc:
        raise InputError(f"checkpoint's networks do not fit this config: {exc}",
                         str(path)) from None


def _check_resumable(checkpoint: dict, path: Path, config: Any, layout: JointLayout) -> None:
    check_layout(checkpoint, path, layout)
    saved = checkpoint_config(checkpoint, path, type(config))
    if saved != config:
        changed = [key for key, value in typed_yaml.to_dict(config).items()
                   if typed_yaml.to_dict(saved)[key] != value]
        raise InputError(f"cannot resume with a changed algorithm config ({', '.join(changed)})",
                         str(path))


def _hparams(config: Any, seed: int, budget_env_steps: int, num_train_envs: int) -> dict:
    values = {f"algo/{key}": value if isinstance(value, (bool, int, float, str)) else str(value)
              for key, value in typed_yaml.to_dict(config).items()}
    return values | {"seed": seed, "budget_env_steps": budget_env_steps,
                     "num_train_envs": num_train_envs}


def train(algo_config: Any, layout: JointLayout, make_train_envs: Callable[[], BaseVectorEnv],
          make_test_envs: Callable[[], BaseVectorEnv], run_dir: str | Path, budget_env_steps: int,
          eval_every_env_steps: int, eval_episodes: int, seed: int, resume: bool = False,
          init_from: str | Path | None = None, *, imitation: ImitationConfig | None = None,
          log_every_env_steps: int = 1000, show_progress: bool = True,
          torch_threads: int = 1,
          on_evaluation: Callable[[int, float], None] | None = None) -> dict:
    """Train ``algo_config``'s algorithm on the team described by ``layout``.

    ``make_train_envs``/``make_test_envs`` build vector envs over joint envs that keep
    their step scalars (:mod:`marl_part.envs.vector_env`)
    (any ``BaseVectorEnv``; each env is seeded through ``seed()``). The evaluation
    interval is rounded up to whole collections (the config's env steps per collection,
    rounded up to a multiple of the number of train envs), the budget to whole
    intervals. ``resume`` continues the run in ``run_dir`` exactly from its
    checkpoint; ``init_from`` warm-starts a fresh run's networks from another run's
    checkpoint; ``imitation`` clones the train envs' teachers into a fresh run's
    networks before its first collection (:mod:`~marl_part.trainers.imitation`).
    ``on_evaluation(env_step, eval_reward)`` is called after every evaluation (a
    sweep reports it to its scheduler).
    Returns a summary dict: env steps of the whole run, last eval reward, best eval
    reward since this (re)start, checkpoint path, wall time, and the env step a resumed
    run continued from (None for a fresh one).

    ``torch_threads`` defaults to 1: the 64-unit networks gain ~15% from a second
    thread on an idle 2-core machine, but lose up to 7x when the cores are shared
    (OpenMP threads spin while waiting), and the env steps run in this process too.
    """
    started = time.time()
    spec = algorithm_spec(algo_config.algorithm)
    for name, value in (("budget_env_steps", budget_env_steps),
                        ("eval_every_env_steps", eval_every_env_steps),
                        ("eval_episodes", eval_episodes),
                        ("log_every_env_steps", log_every_env_steps)):
        if value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")
    if resume and init_from is not None:
        raise InputError("init_from warm-starts a fresh run; "
                         "a resumed run continues its own weights")
    run_dir = Path(run_dir)
    checkpoint_path = run_dir / CHECKPOINT_FILE
    restored, progress = None, {}
    if resume:
        checkpoint = load_checkpoint(checkpoint_path)
        _check_resumable(checkpoint, checkpoint_path, algo_config, layout)
        progress = checkpoint["progress"]
        restored = (progress["epoch"], progress["env_step"], progress["update_step"])
    elif checkpoint_path.exists() or any(run_dir.glob("events.out.tfevents.*")):
        raise InputError("run directory holds another run; use a fresh directory per run, "
                         "or resume the run that is there", str(run_dir))
    evaluation_due = progress.get("evaluation_due", True)  # False: stopped by a signal
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(torch_threads)
    seed_everything(seed)

    cache_tianshou_kernels()
    algorithm = spec.build(algo_config, layout)
    if init_from is not None:
        warm_start(algorithm, init_from, algo_config, layout)
    if restored:
        algorithm.load_state_dict(checkpoint["algorithm_state"])

    train_envs, test_envs = make_train_envs(), make_test_envs()
    imitated = {}
    buffer = spec.make_buffer(algo_config, len(train_envs))
    train_collector = TeamCollector(algorithm, train_envs, buffer, exploration_noise=True,
                                    collect_stats_class=TeamCollectStats)
    test_collector = TeamCollector(algorithm, test_envs, collect_stats_class=TeamCollectStats)
    collectors = {"train": train_collector, "test": test_collector}
    if restored:
        restore_collectors(collectors, checkpoint, run_dir)
    else:
        streams = RunStreams.of(seed, len(train_envs), len(test_envs))
        train_envs.seed(list(streams.train_envs))
        test_envs.seed(list(streams.test_envs))
        buffer._random_state = np.random.RandomState(streams.buffer_sampling)
        if imitation is not None:
            imitated = imitate(algorithm, train_envs, imitation, algo_config.gamma,
                               np.random.default_rng(streams.imitation))
    start_step = restored[1] if restored else 0

    writer = SummaryWriter(str(run_dir), purge_step=start_step + 1 if restored else None)
    logger = TeamLogger(writer, info_names=layout.info_names,
                        log_every_env_steps=log_every_env_steps,
                        budget_env_steps=budget_env_steps, show_progress=show_progress,
                        restored=restored, cumulative=progress.get("cumulative"),
                        unwritten=progress.get("unwritten"),
                        evaluation_due=evaluation_due,
                        on_evaluation=on_evaluation)
    if not restored:
        logger.write_hparams(_hparams(algo_config, seed, budget_env_steps, len(train_envs)))
        logger.write_scalars(0, imitated)

    def save(epoch: int, env_step: int, update_step: int, evaluation_due: bool = True) -> str:
        replay_buffer = (None if algo_config.on_policy else
                         save_replay_buffer(run_dir, train_collector.buffer, env_step))
        save_checkpoint(checkpoint_path, config=algo_config, layout=layout, algorithm=algorithm,
                        epoch=epoch, env_step=env_step, update_step=update_step,
                        cumulative=logger.cumulative, unwritten=logger.unwritten(),
                        evaluation_due=evaluation_due,
                        collectors=collector_state(collectors),
                        replay_buffer=replay_buffer)
        if replay_buffer is not None:
            remove_other_replay_buffers(run_dir, keep=replay_buffer["file"])
        return str(checkpoint_path)

    def save_stopped(epoch: int, env_step: int, update_step: int) -> None:
        logger.writer.flush()  # on disk before the checkpoint, as at every checkpoint
        save(epoch, env_step, update_step, evaluation_due=False)

    def on_training_step(epoch: int, env_step: int) -> None:
        if isinstance(algorithm.policy, ProgressScheduled):
            algorithm.policy.set_training_progress(env_step / budget_env_steps)

    collection = ceil(algo_config.env_steps_per_collection / len(train_envs)) * len(train_envs)
    eval_every = ceil(eval_every_env_steps / collection) * collection
    params = spec.trainer_params(
        algo_config, training_collector=train_collector, test_collector=test_collector,
        test_step_num_episodes=eval_episodes, max_epochs=ceil(budget_env_steps / eval_every),
        epoch_num_steps=eval_every, training_fn=on_training_step, save_checkpoint_fn=save,
        resume_from_log=restored is not None, logger=logger, verbose=False, show_progress=False)
    trainer = TRAINERS[type(params)](algorithm, params)
    trainer.save_stopped = save_stopped
    if restored:
        trainer.carried = restored[1] - restored[0] * eval_every
        trainer.evaluation_due = evaluation_due
        set_rng_state(checkpoint["rng"])  # last, so that building nothing above draws from them
    try:  # a resumed run's collectors continue where they were: no reset
        with interrupts.deferred():
            info = trainer.run(reset_collectors=restored is None)
    finally:
        logger.finalize()
        train_envs.close()
        test_envs.close()
    return {"algorithm": algo_config.algorithm, "env_steps": info.train_step,
            "last_eval_reward": logger.last_eval_reward, "best_eval_reward": info.best_reward,
            "checkpoint": str(checkpoint_path), "wall_time_s": time.time() - started,
            "resumed_from_env_step": start_step if restored else None}
