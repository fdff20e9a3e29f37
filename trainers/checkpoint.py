"""Checkpoints: everything needed to continue a run, written atomically.

A checkpoint (``checkpoint.pt`` in the run directory) holds the algorithm's state dict
(networks, target networks, optimizers, value-normalizer statistics, step counters and
epsilon), the trainer's progress (epoch, env step, update step, run totals the logger
keeps), the Python, numpy and
torch RNG states, the algorithm config and the joint layout. It contains only tensors
and plain data, so it loads with ``torch.load(weights_only=True)`` (no code runs).
Off-policy runs also keep their replay buffer beside it (``replay_buffer.pkl``, pickled,
so only ever read back from one's own run directory).

Files are written to a temporary name, synced and moved into place with
``os.replace``: a run killed at any moment leaves the previous or the new checkpoint,
never a torn one.
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from marl_part import typed_yaml
from marl_part.errors import InputError
from marl_part.joint import AgentLayout, JointLayout

CHECKPOINT_FILE = "checkpoint.pt"
REPLAY_BUFFER_FILE = "replay_buffer.pkl"
FORMAT_VERSION = 1


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
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


def save_replay_buffer(path: Path, buffer, env_step: int) -> None:
    saved = {"env_step": env_step, "buffer": buffer}
    _write_atomically(Path(path), lambda f: pickle.dump(saved, f))


def load_replay_buffer(path: Path, env_step: int):
    """The buffer saved with the checkpoint at ``env_step``, or None if there is none
    (a run killed between writing the buffer and the checkpoint leaves a newer one).

    The episodes the kill cut short are marked truncated, so n-step returns stop at
    their last transition and bootstrap from its (valid) next observation instead of
    running on into the episodes the resumed run appends.
    """
    if not Path(path).is_file():
        return None
    with open(path, "rb") as f:
        saved = pickle.load(f)
    if saved["env_step"] != env_step:
        return None
    buffer = saved["buffer"]
    cut = buffer.unfinished_index()
    buffer.truncated[cut] = True
    buffer.done[cut] = True
    for sub_buffer in buffer.buffers:  # Tianshou has no public call to start a new episode
        sub_buffer._ep_return, sub_buffer._ep_len = 0.0, 0
        sub_buffer._ep_start_idx = sub_buffer._insertion_idx
    return buffer
