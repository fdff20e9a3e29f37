"""The multi-agent pieces: per-agent ratios, padding, monotonic mixing, exploration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tianshou.data import Batch
from trainer_cases import SMALL_CONFIGS, game_layout

from marl_part.errors import InputError
from marl_part.trainers.action_dims import ActionDims
from marl_part.trainers.distributions import FactorizedCategorical
from marl_part.trainers.nets import AgentScorers, SharedScorer
from marl_part.trainers.qmix import MonotonicMixer
from marl_part.trainers.registry import algorithm_spec
from marl_part.trainers.value_norm import ValueNorm


def test_action_dims_of_the_game():
    dims = ActionDims.of(game_layout())
    assert dims.nvec == (3, 2, 3) and dims.agent_of_dim == (0, 0, 1)
    assert dims.valid_choices().tolist() == [[True, True, True], [True, True, False],
                                             [True, True, True]]
    assert dims.dims_of(0) == slice(0, 2) and dims.dims_of(1) == slice(2, 3)


def test_factorized_categorical_gives_each_agent_its_own_log_probability():
    dims = ActionDims.of(game_layout())
    probs = torch.tensor([[[0.2, 0.3, 0.5], [0.6, 0.4, 0.0], [0.1, 0.1, 0.8]]])
    logits = probs.clamp(min=1e-30).log()
    dist = FactorizedCategorical(logits, dims.membership())
    actions = torch.tensor([[2, 0, 1]])
    expected = [np.log(0.5 * 0.6), np.log(0.1)]  # partitioner: product over its two dims
    assert dist.agent_log_prob(actions)[0].tolist() == pytest.approx(expected, rel=1e-5)
    assert dist.log_prob(actions).item() == pytest.approx(sum(expected), rel=1e-5)
    assert dist.mode.tolist() == [[2, 0, 2]]
    entropy = [-(p * np.log(p)).sum() for p in ([0.2, 0.3, 0.5], [0.6, 0.4], [0.1, 0.1, 0.8])]
    assert dist.dimension_entropy()[0].tolist() == pytest.approx(entropy, rel=1e-5)
    std_second = np.sqrt(0.6 * 0.4**2 + 0.4 * 0.6**2)  # index mean 0.4
    assert dist.stddev[0, 1].item() == pytest.approx(std_second, rel=1e-5)
    samples = FactorizedCategorical(logits.expand(4000, -1, -1), dims.membership()).sample()
    assert samples[:, 1].max() == 1  # the padded third choice of dim 1 is never drawn


def actors_moved_by_one_update(algorithm, batch: Batch) -> list[bool]:
    """Whether each agent's actor changed in one update on ``batch``."""
    actors = algorithm.policy.actor.nets
    before = [[p.clone() for p in net.parameters()] for net in actors]
    algorithm._update_with_batch(batch, batch_size=None, repeat=1)
    return [any(not torch.equal(p, q) for p, q in zip(net.parameters(), old))
            for net, old in zip(actors, before)]


def test_ratio_clipping_stops_only_the_agent_that_moved_too_far():
    """With a positive advantage, an agent whose ratios (one per action dimension, as
    in the MAPPO reference) are above 1 + clip gets no gradient from MAPPO's update;
    the other agent still learns."""
    config = dataclasses.replace(SMALL_CONFIGS["mappo"], entropy_coef=0.0)
    algorithm = algorithm_spec("mappo").build(config, game_layout())
    obs = np.random.default_rng(0).random((64, game_layout().obs_dim)).astype(np.float32)
    act = torch.zeros(64, 3, dtype=torch.long)
    with torch.no_grad():
        logp = algorithm.policy(Batch(obs=obs, info={})).dist.dimension_log_prob(act)
    # the partitioner's two dimensions moved (ratios e^0.5), the scheduler's did not
    batch = Batch(obs=obs, act=act, logp_old=logp - torch.tensor([0.5, 0.5, 0.0]),
                  adv=torch.ones(64, 1), v_s=torch.zeros(64, 1), value_targets=torch.zeros(64, 1),
                  info={})
    assert actors_moved_by_one_update(algorithm, batch) == [False, True]


def test_each_agent_has_its_own_entropy_coefficient():
    """With no advantage, only the entropy bonus moves an actor: here only the
    scheduler's, the one agent given a coefficient."""
    config = dataclasses.replace(SMALL_CONFIGS["mappo"], entropy_coef=0.0,
                                 agent_entropy_coef={"scheduler": 0.1})
    algorithm = algorithm_spec("mappo").build(config, game_layout())
    obs = np.random.default_rng(0).random((64, game_layout().obs_dim)).astype(np.float32)
    act = torch.zeros(64, 3, dtype=torch.long)
    with torch.no_grad():
        logp = algorithm.policy(Batch(obs=obs, info={})).dist.dimension_log_prob(act)
    batch = Batch(obs=obs, act=act, logp_old=logp, adv=torch.zeros(64, 1),
                  v_s=torch.zeros(64, 1), value_targets=torch.zeros(64, 1), info={})
    assert actors_moved_by_one_update(algorithm, batch) == [False, True]


@pytest.mark.parametrize("scorer_class", [AgentScorers, SharedScorer])
def test_each_agent_scores_from_its_own_observation_only(scorer_class):
    layout = game_layout()
    scorer = scorer_class(layout, (16,))
    obs = torch.randn(5, layout.obs_dim)
    scores, _ = scorer(obs)
    assert scores.shape == (5, 3, 3)
    assert (scores[:, 1, 2] == torch.finfo(scores.dtype).min).all()  # padded choice
    changed = obs.clone()
    changed[:, layout.agents[1].obs] += 1.0  # the scheduler's observation
    changed[:, layout.state] += 1.0
    new_scores, _ = scorer(changed)
    assert torch.equal(new_scores[:, :2], scores[:, :2])  # partitioner unaffected
    assert not torch.equal(new_scores[:, 2], scores[:, 2])


def test_shared_scorer_tells_agents_apart_by_the_indicator():
    layout = game_layout()
    scorer = SharedScorer(layout, (16,))
    obs = torch.zeros(1, 3)  # the same (padded) observation for both agents
    assert not torch.equal(scorer.agent_scores(0, obs)[0, 0], scorer.agent_scores(1, obs)[0, 0])
    assert sum(p.numel() for p in scorer.parameters()) == sum(
        p.numel() for p in scorer.net.parameters())  # one network for all


def test_mixer_is_monotonic_in_every_utility():
    torch.manual_seed(0)
    mixer = MonotonicMixer(n_utilities=3, state_dim=7, embed_dim=8, hypernet_embed_dim=16)
    chosen = torch.randn(256, 3, requires_grad=True)
    mixer(chosen, torch.randn(256, 7)).sum().backward()
    assert (chosen.grad >= 0).all() and (chosen.grad > 0).any()


def test_exploration_is_per_dimension_and_only_while_training():
    algorithm = algorithm_spec("qmix").build(SMALL_CONFIGS["qmix"], game_layout())
    policy = algorithm.policy
    policy.set_training_progress(SMALL_CONFIGS["qmix"].epsilon_anneal_fraction / 2)
    assert policy.eps_training == pytest.approx(0.525)
    greedy = np.zeros((20000, 3), np.int64)
    policy.is_within_training_step = True
    explored = policy.add_exploration_noise(greedy.copy(), None)
    changed = (explored != 0).mean(axis=0)  # a random choice differs from 0 w.p. (n-1)/n
    assert changed == pytest.approx(0.525 * np.array([2 / 3, 1 / 2, 2 / 3]), abs=0.02)
    assert explored[:, 1].max() == 1
    policy.is_within_training_step = False
    assert np.array_equal(policy.add_exploration_noise(greedy.copy(), None), greedy)


def test_value_norm_tracks_mean_and_variance():
    norm = ValueNorm(2)
    targets = torch.randn(10000, 2) * torch.tensor([3.0, 0.5]) + torch.tensor([10.0, -2.0])
    norm.update(targets)
    mean, var = norm.mean_var()
    assert mean.tolist() == pytest.approx([10.0, -2.0], abs=0.1)
    assert var.sqrt().tolist() == pytest.approx([3.0, 0.5], rel=0.05)
    assert torch.allclose(norm.denormalize(norm.normalize(targets)), targets, atol=1e-4)


def test_tianshou_kernels_are_cached_and_index_as_tianshou_does():
    from tianshou.data import Batch, VectorReplayBuffer

    from marl_part.trainers.numba_cache import CACHED, KERNELS, cache_tianshou_kernels

    cache_tianshou_kernels()
    assert all(getattr(module, name) is CACHED[module.__name__, name]
               for module, names in KERNELS.items() for name in names)
    buffer = VectorReplayBuffer(8, 2)
    for step in range(3):
        buffer.add(Batch(obs=[[step], [step]], act=[0, 0], rew=[1.0, 1.0], obs_next=[[1], [1]],
                         terminated=[False, False], truncated=[step == 2, False],
                         info=[{}, {}]), buffer_ids=[0, 1])
    assert buffer.prev(np.array([1, 4])).tolist() == [0, 4]
    assert buffer.next(np.array([1, 2])).tolist() == [2, 2]  # the episode ends at 2


def test_mappo_steps_actors_and_critic_with_their_own_adam():
    config = dataclasses.replace(SMALL_CONFIGS["mappo"], lr=1e-3, critic_lr=2e-3)
    algorithm = algorithm_spec("mappo").build(config, game_layout())
    actor_optim, critic_optim = algorithm._optimizers
    assert [g["lr"] for g in actor_optim._optim.param_groups] == [1e-3]
    assert [g["lr"] for g in critic_optim._optim.param_groups] == [2e-3]
    actor_params = {id(p) for p in algorithm.policy.actor.parameters()}
    critic_params = {id(p) for p in algorithm.critic.parameters()}
    assert {id(p) for g in actor_optim._optim.param_groups for p in g["params"]} == actor_params
    assert {id(p) for g in critic_optim._optim.param_groups for p in g["params"]} == critic_params


def test_an_item_network_scores_every_hot_key_with_one_function():
    from marl_part.envs.joint import Items, JointLayout
    from marl_part.trainers.nets import ItemNetwork

    k, features, ways, choices = 5, 3, 2, 4
    layout = JointLayout.of({"partitioner": k * features + 7, "scheduler": 4},
                            {"partitioner": (choices,) * (k * ways), "scheduler": (3,)}, 6,
                            items={"partitioner": Items(k, features)})
    torch.manual_seed(0)
    scorers = AgentScorers(layout, (16, 16), item_network=True)
    assert isinstance(scorers.nets[0], ItemNetwork) and not isinstance(scorers.nets[1],
                                                                       ItemNetwork)
    obs = torch.rand(2, layout.obs_dim)
    assert scorers.agent_scores(0, obs[:, layout.agents[0].obs]).shape == (2, k * ways, choices)
    # without the position feature, swapping the features of keys 1 and 3 swaps their scores
    scorers.nets[0].position.zero_()
    scores = scorers.agent_scores(0, obs[:, layout.agents[0].obs])
    swapped = obs.clone()
    for f in range(features):
        swapped[:, [f * k + 1, f * k + 3]] = obs[:, [f * k + 3, f * k + 1]]
    again = scorers.agent_scores(0, swapped[:, layout.agents[0].obs])
    torch.testing.assert_close(again[:, 2:4], scores[:, 6:8])
    torch.testing.assert_close(again[:, 6:8], scores[:, 2:4])
    torch.testing.assert_close(again[:, :2], scores[:, :2])
    from marl_part.trainers.checkpoint import layout_from_dict, layout_to_dict
    assert layout_from_dict(layout_to_dict(layout)) == layout  # checkpoints keep the items


def test_item_network_needs_an_agent_with_items():
    with pytest.raises(InputError, match="no agent here decides for items"):
        AgentScorers(game_layout(), (8,), item_network=True)
