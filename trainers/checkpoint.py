"""Checkpoints: everything needed to continue a run exactly, written atomically, checksummed.

A checkpoint (``checkpoint.pt`` in the run directory) holds the algorithm's state dict
(networks, target networks, optimizers, value-normalizer statistics, step counters and
epsilon), the trainer's progress (epoch, env step, update step, run totals the logger
keeps), the Python, numpy and torch RNG states, the algorithm config, the joint layout,
and the collectors' state as a :mod:`marl_part.snapshot` record: the training and
evaluation envs (every world, cluster, fingerprint store and baseline array, each
env's seed sequence), the observations the next collection starts from, and the
replay buffer's counters and sampling generator. It contains only tensors and plain
data (numpy arrays are stored as byte tensors), so it loads with
``torch.load(weights_only=True)`` (no code runs). Off-policy runs also keep their
replay buffer's transitions beside it (``replay_buffer-<env step>.h5``, named in the
checkpoint): the filled slots of each env's sub-buffer, lzf-compressed.

Integrity: the checkpoint file is a container of the serialized payload and its
SHA-256, and the checkpoint holds the SHA-256 of its replay buffer; both are verified
on load, and a file that does not match is refused, named, before anything is used.

Files are written to a temporary name, synced and moved into place with
``os.replace``: a run killed at any moment leaves the previous or the new checkpoint,
never a torn one. The buffer is written before the checkpoint that names it, and the
previous buffer is removed only after, so either checkpoint finds its own buffer.
"""

from __future__ import annotations

import hashlib
import io
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
from marl_part.envs.joint import AgentLayout, Items, JointLayout
from marl_part.errors import InputError

CHECKPOINT_FILE = "checkpoint.pt"
REPLAY_BUFFER_GLOB = "replay_buffer-*.h5"
FORMAT_VERSION = 2
ARRAY_TAG = "__ndarray__"
NUMPY_PARTS = ("rng", "collectors")  # the parts that hold numpy arrays


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
                    "action": [a.action.start, a.action.stop], "nvec": list(a.nvec),
                    "items": [a.items.count, a.items.features] if a.items else None}
                   for a in layout.agents],
        "state": [layout.state.start, layout.state.stop],
        "obs_dim": layout.obs_dim,
        "info_names": list(layout.info_names),
    }


def layout_from_dict(data: dict) -> JointLayout:
    return JointLayout(
        tuple(AgentLayout(a["name"], slice(*a["obs"]), slice(*a["action"]), tuple(a["nvec"]),
                          Items(*a["items"]) if a.get("items") else None)
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
    return {"python": random.getstate(), "numpy": np.random.get_state(legacy=False),
            "torch": torch.get_rng_state()}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def _storable(value: Any) -> Any:
    """``value`` (dicts, lists, tuples and plain values) with every numpy array as a
    byte tensor, its dtype and shape."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
        return {ARRAY_TAG: torch.from_numpy(data.copy()), "dtype": value.dtype.str,
                "shape": list(value.shape)}
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_storable(item) for item in value)
    return value


def _from_storable(value: Any) -> Any:
    if isinstance(value, dict):
        if ARRAY_TAG in value:
            return value[ARRAY_TAG].numpy().view(np.dtype(value["dtype"])).reshape(value["shape"])
        return {key: _from_storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_from_storable(item) for item in value)
    return value


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save_checkpoint(path: Path, *, config: Any, layout: JointLayout, algorithm: torch.nn.Module,
                    epoch: int, env_step: int, update_step: int,
                    cumulative: dict[str, float], unwritten: dict | None = None,
                    evaluation_due: bool = True, collectors: dict | None = None,
                    replay_buffer: dict | None = None) -> None:
    """Write the checkpoint; ``cumulative`` and ``unwritten`` are the logger's run totals
    and what it has not written yet, ``evaluation_due`` whether the run evaluates next (at
    an epoch's end) or goes on training (stopped by a signal); ``collectors`` is the
    snapshot record of the run's collectors, ``replay_buffer`` what
    :func:`save_replay_buffer` returned for the buffer saved with it (off-policy runs)."""
    payload = {
        "algorithm": config.algorithm,
        "config": typed_yaml.to_dict(config),
        "layout": layout_to_dict(layout),
        "algorithm_state": algorithm.state_dict(),
        "progress": {"epoch": epoch, "env_step": env_step, "update_step": update_step,
                     "cumulative": dict(cumulative), "unwritten": unwritten,
                     "evaluation_due": evaluation_due},
        "rng": _storable(rng_state()),
        "collectors": _storable(collectors),
        "replay_buffer": replay_buffer,
    }
    serialized = io.BytesIO()
    torch.save(payload, serialized)
    data = serialized.getbuffer()
    container = {"format_version": FORMAT_VERSION, "sha256": hashlib.sha256(data).hexdigest(),
                 "payload": torch.frombuffer(data, dtype=torch.uint8)}
    _write_atomically(Path(path), lambda f: torch.save(container, f))


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint; a missing, foreign or corrupt file is an :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no checkpoint here", str(path))
    container = _load_plain(path, path)
    if not isinstance(container, dict) or container.get("format_version") != FORMAT_VERSION:
        raise InputError(f"not a marl-part checkpoint of format {FORMAT_VERSION}", str(path))
    payload = container.get("payload")
    data = payload.numpy().tobytes() if isinstance(payload, torch.Tensor) else b""
    if hashlib.sha256(data).hexdigest() != container.get("sha256"):
        raise InputError("checkpoint is corrupt: its content does not match its SHA-256 "
                         "checksum", str(path))
    checkpoint = _load_plain(io.BytesIO(data), path)
    return checkpoint | {key: _from_storable(checkpoint[key]) for key in NUMPY_PARTS}


def _load_plain(source, path: Path):
    try:
        return torch.load(source, weights_only=True)
    except Exception as exc:
        raise InputError(f"not a readable marl-part checkpoint ({exc.__class__.__name__})",
                         str(path)) from None


def checkpoint_config(checkpoint: dict, path: str | Path, config_class: type) -> Any:
    """The checkpoint's algorithm config, rebuilt (and checked) as ``config_class``."""
    node = yaml.compose(yaml.safe_dump(checkpoint["config"]), Loader=yaml.SafeLoader)
    return typed_yaml.build(config_class, node, f"{path} (config)")


def check_layout(checkpoint: dict, path: str | Path, layout: JointLayout) -> None:
    mismatch = layout_mismatch(layout, layout_from_dict(checkpoint["layout"]))
    if mismatch:
        raise InputError(f"checkpoint does not fit this run: {mismatch}", str(path))


def buffer_data(buffer: ReplayBufferManager) -> list:
    """The transition arrays of ``buffer`` and its sub-buffers (the counters beside
    them are collector state, in the checkpoint's snapshot)."""
    return [buffer._meta, *(sub._meta for sub in buffer.buffers)]


def save_replay_buffer(run_dir: Path, buffer: ReplayBufferManager, env_step: int) -> dict:
    """Write the transitions in the filled slots of ``buffer`` (a pickle of the whole
    buffer holds every slot twice, once in the manager and once in its sub-buffers,
    empty slots included) to ``run_dir``; returns the file's name and SHA-256, for the
    checkpoint to hold."""
    filled = buffer._meta[_filled_slots(buffer)]

    def write(f) -> None:
        with h5py.File(f, "w") as h5:
            to_hdf5({"meta": filled}, h5, compression="lzf")

    path = Path(run_dir) / REPLAY_BUFFER_GLOB.replace("*", str(env_step))
    _write_atomically(path, write)
    return {"file": path.name, "sha256": _sha256(path)}


def remove_other_replay_buffers(run_dir: Path, keep: str) -> None:
    """Delete the replay buffers of earlier checkpoints (once a newer one names its own)."""
    for path in Path(run_dir).glob(REPLAY_BUFFER_GLOB):
        if path.name != keep:
            path.unlink()


def load_replay_buffer(run_dir: Path, saved: dict, into: ReplayBufferManager) -> None:
    """Fill the slots of ``into`` (a buffer whose counters the checkpoint's snapshot has
    restored) with the transitions of the file a checkpoint names (``saved``: its name
    and SHA-256); a missing or corrupt file is an :class:`InputError`. Episodes the
    checkpoint cut continue in the restored envs, so they are left open."""
    path = Path(run_dir) / saved["file"]
    if not path.is_file():
        raise InputError("the replay buffer of this checkpoint is missing", str(path))
    if _sha256(path) != saved["sha256"]:
        raise InputError("replay buffer is corrupt: its content does not match the SHA-256 "
                         "checksum in its checkpoint", str(path))
    with h5py.File(path, "r") as h5:
        meta = from_hdf5(h5)["meta"]
    full = create_value(meta[0], into.maxsize)
    full[_filled_slots(into)] = meta
    into.set_batch(full)


def _filled_slots(buffer: ReplayBufferManager) -> np.ndarray:
    """Indices of the slots each sub-buffer has written (its first ``_size``; all once
    it has wrapped around)."""
    return np.concatenate([offset + np.arange(sub._size)
                           for offset, sub in zip(buffer._offset, buffer.buffers, strict=True)])
