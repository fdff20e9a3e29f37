"""What a run writes: namespaced TensorBoard keys, hparams, evaluation steps."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import (
    SCALARS,
    TENSORS,
    EventAccumulator,
)
from trainer_cases import SMALL_CONFIGS, game_layout, vector_envs

from marl_part.errors import InputError
from marl_part.trainers.runner import train


def _events(run_dir) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance={SCALARS: 0, TENSORS: 0})
    events.Reload()
    return events


def test_evaluations_fall_on_whole_rollouts_and_keys_are_namespaced(tmp_path):
    # rollouts of 512 env steps: an eval interval of 100 becomes 512, not 100 rollouts
    result = train(SMALL_CONFIGS["ippo"], game_layout(), vector_envs(8), vector_envs(4),
                   tmp_path / "run", budget_env_steps=1024, eval_every_env_steps=100,
                   eval_episodes=4, seed=0, log_every_env_steps=256, show_progress=False)
    assert result["env_steps"] == 1024
    events = _events(tmp_path / "run")
    scalars = set(events.Tags()[SCALARS])
    assert [e.step for e in events.Scalars("eval/episode_reward")] == [0, 512, 1024]
    assert {"train/episode_reward", "train/env_steps_per_second", "reward_terms/key",
            "reward_terms/convention", "metrics/step", "eval/reward_terms/convention",
            "losses/partitioner/policy_loss", "losses/scheduler/entropy",
            "losses/partitioner/value_loss", "losses/scheduler/value_loss",
            "losses/partitioner/approx_kl", "losses/scheduler/clip_fraction",
            "losses/partitioner/explained_variance", "losses/team/actor_grad_norm",
            "losses/team/critic_grad_norm"} <= scalars
    assert all(e.value >= 0 for e in events.Scalars("losses/partitioner/approx_kl"))
    assert all(e.value <= 1 for e in events.Scalars("losses/partitioner/explained_variance"))
    assert all(tag.split("/")[0] in {"train", "eval", "reward_terms", "metrics", "losses"}
               for tag in scalars)
    # per-step means of the env's reward terms: a hit rate lies in [0, 1]
    assert all(0 <= e.value <= 1 for e in events.Scalars("reward_terms/convention"))
    # misses summed over all training steps: growing, and at most one per step
    misses = [(e.step, e.value) for e in events.Scalars("train/cumulative_deadline_miss")]
    assert [v for _, v in misses] == sorted(v for _, v in misses)
    assert all(0 < v <= step for step, v in misses)
    hparams = events.summary_metadata  # the hparams plugin's session summaries
    assert any(meta.plugin_data.plugin_name == "hparams" for meta in hparams.values())


def test_qmix_logs_its_team_loss_and_epsilon(tmp_path):
    train(SMALL_CONFIGS["qmix"], game_layout(), vector_envs(4), vector_envs(4), tmp_path / "run",
          budget_env_steps=512, eval_every_env_steps=256, eval_episodes=4, seed=0,
          log_every_env_steps=128, show_progress=False)
    events = _events(tmp_path / "run")
    epsilon = [e.value for e in events.Scalars("train/epsilon")]
    assert {"losses/team/td_loss", "losses/team/q_taken",
            "losses/team/grad_norm"} <= set(events.Tags()[SCALARS])
    assert epsilon == sorted(epsilon, reverse=True) and epsilon[0] < 1.0


@pytest.mark.parametrize("override,message", [
    (dict(budget_env_steps=0), "budget_env_steps must be at least 1"),
    (dict(eval_episodes=0), "eval_episodes must be at least 1"),
    (dict(resume=True, init_from="elsewhere.pt"), "init_from warm-starts a fresh run"),
])
def test_bad_run_arguments_are_input_errors(override, message, tmp_path):
    arguments = dict(budget_env_steps=512, eval_every_env_steps=256, eval_episodes=4, seed=0,
                     show_progress=False) | override
    with pytest.raises(InputError, match=message):
        train(SMALL_CONFIGS["mappo"], game_layout(), vector_envs(2), vector_envs(2),
              tmp_path / "run", **arguments)
