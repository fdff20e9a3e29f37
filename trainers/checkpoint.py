"""Checkpoints: everything needed to continue a run, written atomically.

A checkpoint (``checkpoint.pt`` in the run directory) holds the algorithm's state dict
(networks, target networks, optimizers, value-normalizer statistics, step counters and
epsilon), the trainer's progress (epoch, env step, update step, run totals the logger
keeps), the Python, numpy and
torch RNG states, the algorithm config and the joint layout. It contains only tensors
and plain data, so it loads with ``torch.load(weights_only=True)`` (no code runs).
Off-policy runs also keep their replay buffer beside it (``replay_buffer.h5``): the
filled slots of each env's sub-buffer, lzf-compressed, and the counters that place them
(its sampling RNG state is pickled, so read a buffer back only from your own runs).

Files are written to a temporary name, synced and moved into place with
``os.replace``: a run killed at any moment leaves the previous or the new checkpoint,
never a torn one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
import yaml
from tianshou.data import ReplayBufferManager
from tianshou.data.batch import create_value
from tianshou.data.utils.converter import from_hdf5, to_hdf5

from marl_part import typed_yaml
from marl_part.envs.joint import AgentLayout, JointLayout
from marl_part.errors import InputError

CHECKPOINT_FILE = "checkpoint.pt"
REPLAY_BUFFER_FILE = "replay_buffer.h5"
SUB_BUFFER_COUNTERS = ("_insertion_idx", "_size", "last_index", "_ep_return", "_ep_len",
                       "_ep_start_idx")
FORMAT_VERSION = 1


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w+b") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def layout_to_dict(layout: JointLayout) -> dict:
    return {
        "agents": [{"name": a.name, "obs": [a.obs.start, a.obs.stop],
                    "action": [a.action.start, a.action.stop], "nvec": list(a.nvec)}
                   for a in layout.agents],
        "state": [layout.state.start, layout.state.stop],
        "obs_dim": layout.obs_dim,
        "info_names": list(layout.info_names),
    }


def layout_from_dict(data: dict) -> JointLayout:
    return JointLayout(
        tuple(AgentLayout(a["name"], slice(*a["obs"]), slice(*a["action"]), tuple(a["nvec"]))
              for a in data["agents"]),
        slice(*data["state"]), data["obs_dim"], tuple(data.get("info_names", ())))


def layout_mismatch(ours: JointLayout, theirs: JointLayout) -> str | None:
    """What differs between two layouts, in words, or None if they match."""
    names, their_names = [a.name for a in ours.agents], [a.name for a in theirs.agents]
    if names != their_names:
        return f"agents {their_names} differ from this run's {names}"
    for a, b in zip(ours.agents, theirs.agents):
        if a.obs.stop - a.obs.start != b.obs.stop - b.obs.start:
            return (f"agent '{a.name}' observes {b.obs.stop - b.obs.start} values, "
                    f"this run's {a.obs.stop - a.obs.start}")
        if a.nvec != b.nvec:
            return f"agent '{a.name}' has action choices {list(b.nvec)}, this run's {list(a.nvec)}"
    if ours.state.stop - ours.state.start != theirs.state.stop - theirs.state.start:
        return (f"global state has {theirs.state.stop - theirs.state.start} values, "
                f"this run's {ours.state.stop - ours.state.start}")
    return None


def rng_state() -> dict:
    numpy_state = np.random.get_state(legacy=False)
    return {
        "python": random.getstate(),
        "numpy": {"bit_generator": numpy_state["bit_generator"],
                  "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
                  "pos": numpy_state["state"]["pos"],
                  "has_gauss": numpy_state["has_gauss"], "gauss": numpy_state["gauss"]},
        "torch": torch.get_rng_state(),
    }


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    numpy_state = state["numpy"]
    np.random.set_state({"bit_generator": numpy_state["bit_generator"],
                         "state": {"key": numpy_state["key"].numpy().astype(np.uint32),
                                   "pos": numpy_state["pos"]},
                         "has_gauss": numpy_state["has_gauss"], "gauss": numpy_state["gauss"]})
    torch.set_rng_state(state["torch"])


def save_checkpoint(path: Path, *, config: Any, layout: JointLayout, algorithm: torch.nn.Module,
                    epoch: int, env_step: int, update_step: int,
                    cumulative: dict[str, float]) -> None:
    payload = {
        "format_version": FORMAT_VERSION,
        "algorithm": config.algorithm,
        "config": typed_yaml.to_dict(config),
        "layout": layout_to_dict(layout),
        "algorithm_state": algorithm.state_dict(),
        "progress": {"epoch": epoch, "env_step": env_step, "update_step": update_step,
                     "cumulative": dict(cumulative)},
        "rng": rng_state(),
    }
    _write_atomically(Path(path), lambda f: torch.save(payload, f))


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint; a missing or foreign file is an :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no checkpoint here", str(path))
    try:
        checkpoint = torch.load(path, weights_only=True)
    except Exception as exc:
        raise InputError(f"not a readable marl-part checkpoint ({exc.__class__.__name__})",
                         str(path)) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format_version") != FORMAT_VERSION:
        raise InputError(f"not a marl-part checkpoint of format {FORMAT_VERSION}", str(path))
    return checkpoint


def checkpoint_config(checkpoint: dict, path: str | Path, config_class: type) -> Any:
    """The checkpoint's algorithm config, rebuilt (and checked) as ``config_class``."""
    node = yaml.compose(yaml.safe_dump(checkpoint["config"]), Loader=yaml.SafeLoader)
    return typed_yaml.build(config_class, node, f"{path} (config)")


def check_layout(checkpoint: dict, path: str | Path, layout: JointLayout) -> None:
    mismatch = layout_mismatch(layout, layout_from_dict(checkpoint["layout"]))
    if mismatch:
        raise InputError(f"checkpoint does not fit this run: {mismatch}", str(path))


def save_replay_buffer(path: Path, buffer: ReplayBufferManager, env_step: int) -> None:
    """Write the filled part of ``buffer`` (a pickle of the whole buffer holds every slot
    twice, once in the manager and once in its sub-buffers, empty slots included)."""
    saved = {"meta": buffer._meta[_filled_slots(buffer, [sub._size for sub in buffer.buffers])],
             "counters": {name: np.array([getattr(sub, name) for sub in buffer.buffers])
                          for name in SUB_BUFFER_COUNTERS},
             "last_index": buffer.last_index, "lengths": buffer._lengths,
             "random_state": buffer._random_state.get_state()}

    def write(f) -> None:
        with h5py.File(f, "w") as h5:
            h5.attrs["env_step"] = env_step
            to_hdf5(saved, h5, compression="lzf")

    _write_atomically(Path(path), write)


def load_replay_buffer(path: Path, env_step: int, into: ReplayBufferManager) -> bool:
    """Fill ``into`` (an empty buffer of the run's size) with the buffer saved with the
    checkpoint at ``env_step``; False, leaving it empty, if there is none (a run killed
    between writing the buffer and the checkpoint leaves a newer one).

    The episodes the kill cut short are marked truncated, so n-step returns stop at
    their last transition and bootstrap from its (valid) next observation instead of
    running on into the episodes the resumed run appends.
    """
    if not Path(path).is_file():
        return False
    with h5py.File(path, "r") as h5:
        if h5.attrs["env_step"] != env_step:
            return False
        saved = from_hdf5(h5)
    counters = saved["counters"]
    meta = saved["meta"]
    full = create_value(meta[0], into.maxsize)
    full[_filled_slots(into, counters["_size"])] = meta
    into.set_batch(full)
    for index, sub in enumerate(into.buffers):
        for name in SUB_BUFFER_COUNTERS:
            value = counters[name][index]
            setattr(sub, name, value if isinstance(value, np.ndarray) else value.item())
    into.last_index, into._lengths = saved["last_index"], saved["lengths"]
    into._random_state.set_state(saved["random_state"])
    cut = into.unfinished_index()
    into.truncated[cut] = True
    into.done[cut] = True
    for sub in into.buffers:  # Tianshou has no public call to start a new episode
        sub._ep_return, sub._ep_len = 0.0, 0
        sub._ep_start_idx = sub._insertion_idx
    return True


def _filled_slots(buffer: ReplayBufferManager, sizes) -> np.ndarray:
    """Indices of the slots each sub-buffer has written (its first ``size``; all once it
    has wrapped around)."""
    return np.concatenate([offset + np.arange(size)
                           for offset, size in zip(buffer._offset, sizes, strict=True)])
