"""Checkpoints hold everything to continue; warm starts and resumes refuse misfits."""

from __future__ import annotations

import dataclasses
import random
import shutil

import numpy as np
import pytest
import torch
from tianshou.data import Batch, Collector, VectorReplayBuffer
from tianshou.utils.torch_utils import policy_within_training_step
from trainer_cases import SMALL_CONFIGS, game_layout, vector_envs

from marl_part import snapshot
from marl_part.envs.joint import JointLayout
from marl_part.errors import InputError
from marl_part.trainers.acting import load_actor
from marl_part.trainers.checkpoint import (
    CHECKPOINT_FILE,
    buffer_data,
    load_checkpoint,
    load_replay_buffer,
    save_checkpoint,
    save_replay_buffer,
    set_rng_state,
)
from marl_part.trainers.registry import algorithm_spec
from marl_part.trainers.runner import TeamCollector, restore_collectors, train, warm_start
from marl_part.trainers.seeding import seed_everything

TINY_BUDGET = 1024


def _same(a, b) -> bool:
    """Deep equality of state dicts: tensors, dicts, lists and plain values."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _trained_algorithm(name: str):
    """An algorithm after a few real updates (optimizer moments, value-norm statistics,
    step counters and epsilon all away from their initial values)."""
    config, spec = SMALL_CONFIGS[name], algorithm_spec(name)
    algorithm = spec.build(config, game_layout())
    collector = Collector(algorithm, vector_envs(4)(), spec.make_buffer(config, 4),
                          exploration_noise=True)
    collector.reset()
    with policy_within_training_step(algorithm.policy):
        for _ in range(3):
            collector.collect(n_step=256)
            if config.on_policy:
                algorithm.update(collector.buffer, batch_size=128, repeat=2)
                collector.reset_buffer(keep_statistics=True)
            else:
                algorithm.policy.set_training_progress(collector.collect_step / 768)
                for _ in range(5):
                    algorithm.update(collector.buffer, sample_size=64)
    return config, algorithm


@pytest.mark.parametrize("name", ["mappo", "ippo", "qmix", "idqn"])
def test_checkpoint_round_trip_restores_everything(name, tmp_path):
    seed_everything(0)
    config, algorithm = _trained_algorithm(name)
    path = tmp_path / CHECKPOINT_FILE
    save_checkpoint(path, config=config, layout=game_layout(), algorithm=algorithm,
                    epoch=3, env_step=768, update_step=3,
                    cumulative={"metrics/deadline_miss": 7.0})
    draws = (random.random(), np.random.rand(), torch.rand(1).item())
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_FILE]  # no temp file left

    seed_everything(1)
    restored = algorithm_spec(name).build(config, game_layout())
    assert not _same(restored.state_dict(), algorithm.state_dict())
    checkpoint = load_checkpoint(path)
    restored.load_state_dict(checkpoint["algorithm_state"])
    set_rng_state(checkpoint["rng"])

    saved, loaded = algorithm.state_dict(), restored.state_dict()
    assert _same(loaded, saved)
    optimizer_state = loaded["_optimizers"][0]["state"]
    assert optimizer_state and all(s["step"] > 0 for s in optimizer_state.values())
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == draws
    assert checkpoint["progress"] == {"epoch": 3, "env_step": 768, "update_step": 3,
                                      "cumulative": {"metrics/deadline_miss": 7.0},
                                      "unwritten": None, "evaluation_due": True}
    if config.on_policy:
        assert restored.value_norm.debiasing_term > 0
        assert torch.equal(restored.value_norm.running_mean, algorithm.value_norm.running_mean)
    else:
        assert restored.gradient_steps == algorithm.gradient_steps == 15
        assert restored.policy.eps_training == algorithm.policy.eps_training < 1.0
        targets = {k: v for k, v in loaded.items() if k.startswith("model_old.")}
        assert targets and _same(targets, {k: saved[k] for k in targets})


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """A finished short run of MAPPO and of QMIX: their run directories."""
    runs = {}
    for name in ("mappo", "qmix"):
        run_dir = tmp_path_factory.mktemp("runs") / name
        train(SMALL_CONFIGS[name], game_layout(), vector_envs(4), vector_envs(4), run_dir,
              budget_env_steps=TINY_BUDGET, eval_every_env_steps=TINY_BUDGET // 2,
              eval_episodes=4, seed=0, show_progress=False)
        runs[name] = run_dir
    return runs


def _layout_with_partitioner_choices(nvec: tuple[int, ...]) -> JointLayout:
    return JointLayout.of({"partitioner": 4, "scheduler": 3},
                          {"partitioner": nvec, "scheduler": (3,)}, 7)


def test_warm_start_refuses_a_different_layout(tiny_runs, tmp_path):
    checkpoint = tiny_runs["mappo"] / CHECKPOINT_FILE
    with pytest.raises(InputError, match=r"agent 'partitioner' has action choices \[3, 2\], "
                                         r"this run's \[3, 3\]"):
        train(SMALL_CONFIGS["mappo"], _layout_with_partitioner_choices((3, 3)), vector_envs(2),
              vector_envs(2), tmp_path / "run", TINY_BUDGET, 512, 2, seed=0,
              init_from=checkpoint, show_progress=False)
    renamed = JointLayout.of({"partitioner": 4, "autoscaler": 3},
                             {"partitioner": (3, 2), "autoscaler": (3,)}, 7)
    with pytest.raises(InputError, match="agents"):
        warm_start(algorithm_spec("mappo").build(SMALL_CONFIGS["mappo"], renamed), checkpoint,
                   SMALL_CONFIGS["mappo"], renamed)
    with pytest.raises(InputError, match="trained with 'mappo', this run uses 'ippo'"):
        warm_start(algorithm_spec("ippo").build(SMALL_CONFIGS["ippo"], game_layout()),
                   checkpoint, SMALL_CONFIGS["ippo"], game_layout())


def test_warm_start_copies_weights_but_not_optimizers_or_counters(tiny_runs):
    config = dataclasses.replace(SMALL_CONFIGS["qmix"], lr=3e-4)  # other settings may differ
    checkpoint_path = tiny_runs["qmix"] / CHECKPOINT_FILE
    algorithm = algorithm_spec("qmix").build(config, game_layout())
    warm_start(algorithm, checkpoint_path, config, game_layout())
    saved = load_checkpoint(checkpoint_path)["algorithm_state"]
    state = algorithm.state_dict()
    weights = [k for k in saved if k.startswith(("policy.model.", "model_old."))]
    assert weights and all(torch.equal(state[k], saved[k]) for k in weights)
    assert saved["_extra_state"]["gradient_steps"] > 0 and algorithm.gradient_steps == 0
    assert state["_optimizers"][0]["state"] == {}


def test_resume_refuses_a_changed_config_and_fresh_runs_a_used_directory(tiny_runs):
    run_dir = tiny_runs["mappo"]
    changed = dataclasses.replace(SMALL_CONFIGS["mappo"], clip=0.1, ppo_epochs=3)
    with pytest.raises(InputError, match=r"changed algorithm config \(clip, ppo_epochs\)"):
        train(changed, game_layout(), vector_envs(2), vector_envs(2), run_dir, TINY_BUDGET,
              512, 2, seed=0, resume=True, show_progress=False)
    with pytest.raises(InputError, match="holds another run"):
        train(SMALL_CONFIGS["mappo"], game_layout(), vector_envs(2), vector_envs(2), run_dir,
              TINY_BUDGET, 512, 2, seed=0, show_progress=False)


def test_resume_without_checkpoint_and_foreign_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no checkpoint"):
        train(SMALL_CONFIGS["mappo"], game_layout(), vector_envs(2), vector_envs(2), tmp_path,
              TINY_BUDGET, 512, 2, seed=0, resume=True, show_progress=False)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(InputError, match="not a marl-part checkpoint"):
        load_actor(foreign, "partitioner")


def test_replay_buffer_is_kept_with_its_checkpoint(tiny_runs):
    run_dir = tiny_runs["qmix"]
    checkpoint = load_checkpoint(run_dir / CHECKPOINT_FILE)
    env_step = checkpoint["progress"]["env_step"]
    assert env_step >= TINY_BUDGET
    # the checkpoint names its own buffer; the buffers of earlier checkpoints are gone
    assert checkpoint["replay_buffer"]["file"] == f"replay_buffer-{env_step}.h5"
    assert [p.name for p in run_dir.glob("replay_buffer*")] == [f"replay_buffer-{env_step}.h5"]
    config, spec = SMALL_CONFIGS["qmix"], algorithm_spec("qmix")
    algorithm = spec.build(config, game_layout())
    collectors = {"train": TeamCollector(algorithm, vector_envs(4)(), spec.make_buffer(config, 4)),
                  "test": TeamCollector(algorithm, vector_envs(4)())}
    restore_collectors(collectors, checkpoint, run_dir)
    buffer = collectors["train"].buffer
    assert len(buffer) == env_step
    # every episode (8 steps) ended by its own truncation; none was cut by the checkpoint
    assert buffer.truncated.sum() == buffer.done.sum() == env_step // 8


def test_a_checkpoint_whose_envs_do_not_fit_is_refused(tiny_runs):
    checkpoint = load_checkpoint(tiny_runs["mappo"] / CHECKPOINT_FILE)
    config, spec = SMALL_CONFIGS["mappo"], algorithm_spec("mappo")
    algorithm = spec.build(config, game_layout())
    collectors = {"train": TeamCollector(algorithm, vector_envs(4)(), spec.make_buffer(config, 4)),
                  "test": TeamCollector(algorithm, vector_envs(4)())}
    collectors["test"].env.workers[2].env = None  # as if the envs had another structure
    with pytest.raises(InputError, match=r"checkpoint.pt: the checkpoint's envs do not fit "
                                         r"this run's: .*workers\[2\].env: holds a NoneType"):
        restore_collectors(collectors, checkpoint, tiny_runs["mappo"])


def _flip_bytes(path, count: int, rng: np.random.Generator, around: float | None = None):
    """Invert ``count`` bytes of ``path``: at random, or in a run at that fraction of it."""
    data = bytearray(path.read_bytes())
    if around is None:
        positions = rng.choice(len(data), count, replace=False)
    else:
        start = int(around * len(data))
        positions = range(start, start + count)
    for position in positions:
        data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_checkpoint_with_flipped_bytes_is_refused(tiny_runs, tmp_path):
    original = (tiny_runs["mappo"] / CHECKPOINT_FILE).read_bytes()
    path = tmp_path / CHECKPOINT_FILE
    rng = np.random.default_rng(0)
    for _ in range(20):  # 64 bytes anywhere: the checksum or the container refuses it
        path.write_bytes(original)
        _flip_bytes(path, 64, rng)
        with pytest.raises(InputError, match=rf"^{path}: (checkpoint is corrupt|not a readable)"):
            load_checkpoint(path)
    path.write_bytes(original)
    _flip_bytes(path, 64, rng, around=0.5)  # inside the networks' weights
    with pytest.raises(InputError, match=rf"^{path}: checkpoint is corrupt: its content does "
                                         "not match its SHA-256 checksum$"):
        load_checkpoint(path)
    path.write_bytes(original)
    assert load_checkpoint(path)["progress"]["env_step"] == TINY_BUDGET


def test_a_corrupt_or_missing_replay_buffer_is_refused(tiny_runs, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_runs["qmix"], run_dir)
    saved = load_checkpoint(run_dir / CHECKPOINT_FILE)["replay_buffer"]
    buffer_path = run_dir / saved["file"]
    _flip_bytes(buffer_path, 64, np.random.default_rng(1))
    buffer = algorithm_spec("qmix").make_buffer(SMALL_CONFIGS["qmix"], 4)
    with pytest.raises(InputError, match=rf"^{buffer_path}: replay buffer is corrupt"):
        load_replay_buffer(run_dir, saved, buffer)
    with pytest.raises(InputError, match=rf"^{buffer_path}: replay buffer is corrupt"):
        train(SMALL_CONFIGS["qmix"], game_layout(), vector_envs(4), vector_envs(4), run_dir,
              2 * TINY_BUDGET, TINY_BUDGET // 2, 4, seed=0, resume=True, show_progress=False)
    buffer_path.unlink()
    with pytest.raises(InputError, match="the replay buffer of this checkpoint is missing"):
        load_replay_buffer(run_dir, saved, buffer)


def test_replay_buffer_round_trip_keeps_slots_counters_and_sampling(tmp_path):
    """One env's sub-buffer has wrapped around, the other holds an unfinished episode;
    the file holds only written slots, the snapshot the counters, and the reloaded
    buffer samples as the original."""
    original, loaded = VectorReplayBuffer(16, 2), VectorReplayBuffer(16, 2)
    for step, env in [(s, 0) for s in range(11)] + [(s, 1) for s in range(3)]:
        original.add(Batch(obs=np.full((1, 3), step, np.float32), act=np.array([[step, env]]),
                           rew=np.array([step * 0.5]), terminated=np.array([step % 4 == 3]),
                           truncated=np.array([False]), obs_next=np.zeros((1, 3), np.float32),
                           info=Batch(scalars=np.full((1, 2), step, np.float32))),
                     buffer_ids=[env])
    counters = snapshot.capture(original, skip=buffer_data(original))
    saved = save_replay_buffer(tmp_path, original, env_step=14)
    snapshot.restore(loaded, counters)
    load_replay_buffer(tmp_path, saved, loaded)
    assert len(loaded) == len(original) == 8 + 3
    written = np.r_[0:8, 8:11]
    for key in ("obs", "act", "rew", "terminated", "truncated", "obs_next"):
        assert np.array_equal(getattr(loaded, key)[written], getattr(original, key)[written]), key
    assert np.array_equal(loaded.info.scalars[written], original.info.scalars[written])
    assert np.array_equal(loaded.last_index, original.last_index)
    # the episodes the checkpoint cut stay open, to continue where they were
    assert loaded.unfinished_index().tolist() == original.unfinished_index().tolist() == [2, 10]
    assert [sub._ep_len for sub in loaded.buffers] == [3, 3]
    assert np.array_equal(loaded.sample_indices(6), original.sample_indices(6))


def test_load_actor_checks_its_input(tiny_runs):
    actor = load_actor(tiny_runs["mappo"] / CHECKPOINT_FILE, "scheduler")
    obs = np.eye(3, dtype=np.float32)
    actions = actor(obs)
    assert actions.shape == (3, 1) and actions.dtype == np.int64
    assert np.array_equal(actor(obs), actions)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        actor(np.zeros((2, 4), np.float32))
    with pytest.raises(InputError, match="one of: partitioner, scheduler"):
        load_actor(tiny_runs["mappo"] / CHECKPOINT_FILE, "router")


def test_unknown_algorithm_lists_the_valid_ones():
    with pytest.raises(InputError, match="unknown algorithm 'maddpg'; one of: mappo, ippo, "
                                         "mappo_shared, qmix, idqn"):
        algorithm_spec("maddpg")


def test_off_policy_buffer_checks_each_new_transition_for_nan_once():
    """Tianshou's trainer asks ``hasnull()`` after every collection; the buffer checks
    what was added since the last question, so a NaN is reported when it arrives."""
    buffer = algorithm_spec("qmix").make_buffer(SMALL_CONFIGS["qmix"], 2)

    def add(value):
        buffer.add(Batch(obs=np.full((2, 3), value, np.float32), act=np.zeros((2, 2), np.int64),
                         rew=np.zeros(2), terminated=np.zeros(2, bool),
                         truncated=np.zeros(2, bool), obs_next=np.zeros((2, 3), np.float32),
                         info=Batch()))

    assert not buffer.hasnull()
    add(1.0)
    add(2.0)
    assert not buffer.hasnull()
    add(np.nan)
    assert buffer.hasnull() and VectorReplayBuffer.hasnull(buffer)
    add(3.0)
    assert not buffer.hasnull()  # the NaN was reported when it came in
    buffer.reset()
    add(np.nan)
    assert buffer.hasnull()
