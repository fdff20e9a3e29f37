"""TensorBoard logging and the progress bar, fed by Tianshou's trainer.

:class:`TeamLogger` is Tianshou's ``TensorboardLogger`` with marl-part's key names and
every curve on one axis, the env step (so a resumed run can purge what its killed
predecessor wrote after the last checkpoint, and its curves continue):

- ``train/episode_reward``, ``train/episode_length``, ``train/env_steps_per_second``,
  ``train/updates`` and what updates report beside losses (``train/epsilon``);
- ``reward_terms/<term>`` and ``metrics/<name>``: per-step means of the env's info;
- ``train/cumulative_deadline_miss``: deadline misses summed over all training steps,
  the price a live system pays for exploration (the "sacrifice period" of Thonglek et
  al.'s Spark auto-scaler); kept in checkpoints, so it continues across a resume;
- ``losses/<agent or team or critic>/<loss>``: means over the updates since the last
  write;
- ``eval/episode_reward`` (and ``_std``), ``eval/episode_length``,
  ``eval/reward_terms/<term>``, ``eval/metrics/<name>``.

Training data is written every ``log_every_env_steps`` and at every checkpoint;
evaluations always. The
progress bar shows env steps, their rate and the latest eval reward.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator
from tianshou.utils import TensorboardLogger
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from marl_part.progress import progress_bar
from marl_part.trainers.configs import EVAL_REWARD

EVAL_EPISODES = (EVAL_REWARD, f"{EVAL_REWARD}_std", "eval/episode_length")
CUMULATIVE_INFO = ("metrics/deadline_miss",)  # info entries also summed over the whole run
STEPS_PER_SECOND = "train/env_steps_per_second"
WALL_CLOCK = (STEPS_PER_SECOND,)  # the scalars that depend on the machine's speed


def read_all_scalars(log_dir: str, wall_clock: bool = True) -> dict[str, dict[int, float]]:
    """Every tag's value at each step in the event files of ``log_dir`` (without the
    wall-clock rates, which no two runs share, unless ``wall_clock``). A resumed run
    logs again the steps its killed predecessor logged after the checkpoint; the value
    written last wins (what TensorBoard's purge keeps, read without its warning)."""
    events = EventAccumulator(log_dir, size_guidance={SCALARS: 0}, purge_orphaned_data=False)
    events.Reload()
    return {tag: {e.step: e.value for e in sorted(events.Scalars(tag), key=lambda e: e.wall_time)}
            for tag in events.Tags()[SCALARS] if wall_clock or tag not in WALL_CLOCK}


def read_scalars(log_dir: str, tag: str) -> dict[int, float]:
    """``tag``'s value at each step in ``log_dir`` (see :func:`read_all_scalars`)."""
    return read_all_scalars(log_dir).get(tag, {})


def logged_at(log_dir: str, step: int, tags: tuple[str, ...]) -> bool:
    """Whether every one of ``tags`` has a value at ``step`` in ``log_dir``."""
    scalars = read_all_scalars(log_dir)
    return all(step in scalars.get(tag, {}) for tag in tags)


class TeamLogger(TensorboardLogger):
    """Writes the namespaced scalars; ``restored`` (epoch, env step, update step),
    ``cumulative`` (run totals of :data:`CUMULATIVE_INFO`), ``unwritten`` (what the
    stopped run had not written yet, :meth:`unwritten`) and ``evaluation_due`` (whether
    the resumed run evaluates first) are what a resumed run continues from."""

    def __init__(self, writer: SummaryWriter, *, info_names: tuple[str, ...],
                 log_every_env_steps: int, budget_env_steps: int, show_progress: bool,
                 restored: tuple[int, int, int] | None = None,
                 cumulative: dict[str, float] | None = None, unwritten: dict | None = None,
                 evaluation_due: bool = True,
                 on_evaluation: Callable[[int, float], None] | None = None):
        super().__init__(writer, training_interval=log_every_env_steps, test_interval=0,
                         update_interval=0, save_interval=1, write_flush=False)
        self.restored, self.info_names = restored, info_names
        start = restored[1] if restored else 0
        unwritten = unwritten or {}
        self.last_log_training_step = unwritten.get("since", start)
        self.progress = progress_bar("train", budget_env_steps, "env steps", initial=start,
                                     shown=show_progress)
        self.last_eval_reward: float | None = None
        self.on_evaluation = on_evaluation  # told (env step, eval reward) after each one
        self._pending_returns: list[float] = unwritten.get("returns", [])
        self._pending_lengths: list[int] = unwritten.get("lengths", [])
        self._pending_info: dict[str, float] = defaultdict(float, unwritten.get("info", {}))
        self._pending_info_steps = unwritten.get("info_steps", 0)
        self._pending_updates: dict[str, list[float]] = defaultdict(
            list, unwritten.get("updates", {}))
        self._updates = restored[2] if restored else 0
        self.cumulative: dict[str, float] = dict(cumulative or {})
        self._last_write = (start, time.time())
        # Resuming, the trainer first re-evaluates the restored weights, as the killed run
        # did right after its checkpoint; written again (the same values) unless the
        # killed run wrote all of it before the kill
        self._eval_tags = EVAL_EPISODES + tuple(f"eval/{name}" for name in info_names)
        self._skip_restored_eval = restored is not None and evaluation_due and logged_at(
            writer.log_dir, restored[1], self._eval_tags)

    def unwritten(self) -> dict:
        """The training data heard since the last write, and that write's step: a
        checkpoint between two writes keeps it, so that the resumed run writes what the
        unstopped one does."""
        return {"since": self.last_log_training_step, "returns": self._pending_returns,
                "lengths": self._pending_lengths, "info": dict(self._pending_info),
                "info_steps": self._pending_info_steps, "updates": dict(self._pending_updates)}

    def _named(self, sums) -> dict[str, float]:
        """The collected sums of ``info["scalars"]``, by their names."""
        return {} if sums is None else dict(zip(self.info_names, np.asarray(sums).tolist()))

    def write_hparams(self, values: dict[str, bool | int | float | str]) -> None:
        """Record the run's hyper-parameters, linked to the eval reward curve."""
        for summary in hparams(values, {EVAL_REWARD: 0.0}):
            self.writer.file_writer.add_summary(summary)

    def write_scalars(self, step: int, scalars: dict[str, float]) -> None:
        """Write ``scalars`` at ``step`` now (e.g. a warm start's, before training)."""
        self._scalars(step, scalars)
        self.writer.flush()

    def _scalars(self, step: int, scalars: dict[str, float]) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, global_step=step)

    def log_training_data(self, log_data: dict, step: int) -> None:
        self.progress.update(step - self.progress.n)
        self._pending_returns.extend(np.asarray(log_data["returns"], float).ravel().tolist())
        self._pending_lengths.extend(np.asarray(log_data["lens"], int).ravel().tolist())
        for key, total in self._named(log_data["info_sums"]).items():
            self._pending_info[key] += total
            if key in CUMULATIVE_INFO:
                self.cumulative[key] = self.cumulative.get(key, 0.0) + total
        self._pending_info_steps += log_data["info_steps"]
        if step - self.last_log_training_step >= self.training_interval:
            self._write_training(step)

    def _write_training(self, step: int) -> None:
        last_step, last_time = self._last_write
        seconds = max(time.time() - last_time, 1e-9)
        scalars = {STEPS_PER_SECOND: (step - last_step) / seconds,
                   "train/updates": self._updates}
        if self._pending_returns:
            scalars["train/episode_reward"] = float(np.mean(self._pending_returns))
            scalars["train/episode_length"] = float(np.mean(self._pending_lengths))
        for key, total in self._pending_info.items():
            scalars[key] = total / max(self._pending_info_steps, 1)
        for key, values in self._pending_updates.items():
            scalars[key] = float(np.mean(values))
        for key, total in self.cumulative.items():
            scalars[f"train/cumulative_{key.split('/')[-1]}"] = total
        self._scalars(step, scalars)
        self._pending_returns, self._pending_lengths = [], []
        self._pending_info, self._pending_info_steps = defaultdict(float), 0
        self._pending_updates = defaultdict(list)
        self.last_log_training_step, self._last_write = step, (step, time.time())

    def log_update_data(self, log_data: dict, step: int) -> None:
        self._updates = step
        for key, value in log_data["losses"].items():
            self._pending_updates[f"losses/{key}"].append(value)
        for key, value in log_data["train_values"].items():
            self._pending_updates[f"train/{key}"].append(value)

    def log_test_data(self, log_data: dict, step: int) -> None:
        returns = np.asarray(log_data["returns"], float)
        self.last_eval_reward = float(returns.mean())
        self.progress.set_postfix(eval_reward=f"{self.last_eval_reward:.3f}")
        if self._skip_restored_eval:  # written (and told) before the kill
            self._skip_restored_eval = False
            return
        steps = max(log_data["info_steps"], 1)
        values = [self.last_eval_reward, float(returns.std()), float(np.mean(log_data["lens"]))]
        values += [total / steps for total in self._named(log_data["info_sums"]).values()]
        self._scalars(step, dict(zip(self._eval_tags, values)))
        self.writer.flush()
        if self.on_evaluation is not None:
            self.on_evaluation(step, self.last_eval_reward)

    def log_info_data(self, log_data: dict, step: int) -> None:
        """Tianshou's per-epoch timing summary is not written: every curve here is on
        the env-step axis."""

    def save_data(self, epoch: int, env_step: int, update_step: int,
                  save_checkpoint_fn: Callable[[int, int, int], str] | None = None) -> None:
        if env_step > self.last_log_training_step:  # every checkpoint step gets a point
            self._write_training(env_step)
        self.writer.flush()  # on disk before the checkpoint: a resumed run writes it no more
        if save_checkpoint_fn is not None:
            save_checkpoint_fn(epoch, env_step, update_step)

    def restore_data(self) -> tuple[int, int, int]:
        """The progress stored in the checkpoint being resumed (not the event file, which
        may run ahead of the checkpoint if the run was killed between the two)."""
        assert self.restored is not None, "restore_data needs the checkpoint's progress"
        return self.restored

    def finalize(self) -> None:
        self.progress.close()
        super().finalize()
