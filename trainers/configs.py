"""Typed configurations of the learning algorithms (loaded strictly from YAML).

Each algorithm has a frozen dataclass whose first field, ``algorithm``, is the tag
that selects it in a YAML union (:data:`AlgorithmConfig`). Every default is the
published one, with its source:

- the PPO family follows the MAPPO reference implementation of Yu et al., "The
  Surprising Effectiveness of PPO in Cooperative Multi-Agent Games" (NeurIPS 2022),
  ``onpolicy/config.py`` of github.com/marlbenchmark/on-policy;
- the Q-learning family follows the fine-tuned QMIX of Hu et al., "Rethinking the
  Implementation Tricks and Monotonicity Constraint in Cooperative Multi-Agent
  Reinforcement Learning" (2021), ``src/config/algs/qmix.yaml`` of
  github.com/hijkzzz/pymarl2, translated from episodes to transitions where noted.

This module imports no torch, so a CLI can load and check configs cheaply. (No
``from __future__ import annotations`` here: typed_yaml reads the union tags from the
field types at runtime.)
"""

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from marl_part.errors import FieldError, InputError

EVAL_REWARD = "eval/episode_reward"  # the evaluation reward training logs (a sweep's metric)


def _require(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise FieldError(field, message)


MAX_LAYERS, MAX_WIDTH = 16, 8192  # hidden layers and units per layer
MAX_TRANSITIONS = 2_000_000  # a replay buffer, a rollout or a batch


def _check_hidden_sizes(hidden_sizes: tuple[int, ...]) -> None:
    _require(0 < len(hidden_sizes) <= MAX_LAYERS and all(0 < h <= MAX_WIDTH for h in hidden_sizes),
             "hidden_sizes", f"needs 1 to {MAX_LAYERS} layers of 1 to {MAX_WIDTH} units, got "
             f"{list(hidden_sizes)}")


def _check_transitions(config, *names: str) -> None:
    """Buffers and batches are refused past :data:`MAX_TRANSITIONS`, before allocating."""
    for name in names:
        _require(getattr(config, name) <= MAX_TRANSITIONS, name,
                 f"at most {MAX_TRANSITIONS:,}, got {getattr(config, name):,}")


@dataclass(frozen=True)
class PPOFamilyConfig:
    """MAPPO and its ablations (IPPO, parameter sharing): PPO with a critic per column
    of value (one centralized or one per agent), per-agent ratio clipping and GAE."""

    algorithm: str
    lr: float = 5e-4  # `lr`: the actors' Adam
    critic_lr: float = 5e-4  # `critic_lr`: the critic's own Adam
    adam_eps: float = 1e-5  # `opti_eps`
    gamma: float = 0.99  # `gamma`
    gae_lambda: float = 0.95  # `gae_lambda`
    clip: float = 0.2  # `clip_param`, applied to each agent's own probability ratio
    ppo_epochs: int = 15  # `ppo_epoch`: 15 on easy tasks; the paper uses 10 hard, 5 super hard
    num_minibatches: int = 1  # `num_mini_batch`
    rollout_env_steps: int = 6400  # transitions per update: 32 rollout threads x 200 steps
    entropy_coef: float = 0.01  # `entropy_coef`, on the mean entropy of an agent's dimensions
    # agent -> its own entropy_coef (ours: an agent with few choices, such as the
    # scheduler, can keep exploring while its partner's many dimensions settle)
    agent_entropy_coef: dict[str, float] = field(default_factory=dict)
    value_clip: bool = True  # `use_clipped_value_loss`, clip range = `clip`
    huber_delta: float = 10.0  # `huber_delta` (`use_huber_loss` is on)
    max_grad_norm: float = 10.0  # `max_grad_norm`, for the actors and the critic apart
    value_normalization: bool = True  # `use_valuenorm`: running mean/std of value targets
    advantage_normalization: bool = True  # over the whole batch, as the reference does
    hidden_sizes: tuple[int, ...] = (64, 64)  # `hidden_size` 64, `layer_N` 1 (two hidden layers)
    input_layer_norm: bool = True  # `use_feature_normalization`
    actor_output_gain: float = 0.01  # `gain` of the last actor layer (orthogonal init)
    # an agent deciding for items alike (the partitioner's hot keys) scores each with one
    # network shared by the items (marl_part.trainers.nets.ItemNetwork), not one flat MLP
    item_network: bool = False
    # the advantage each of the partitioner's action dimensions learns from: the team's
    # (GAE of the shared reward), or its hot key's difference reward of the step
    # (marl_part.sim.credit), normalized over the rollout
    key_credit: Literal["team", "difference"] = "team"

    critic_input: ClassVar[Literal["state", "own_observation"]] = "state"
    shared_actor: ClassVar[bool] = False
    on_policy: ClassVar[bool] = True

    @property
    def env_steps_per_collection(self) -> int:
        return self.rollout_env_steps

    def __post_init__(self) -> None:
        _require(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        _require(self.critic_lr > 0, "critic_lr", f"must be > 0, got {self.critic_lr}")
        _require(self.adam_eps > 0, "adam_eps", f"must be > 0, got {self.adam_eps}")
        _require(0 <= self.gamma <= 1, "gamma", f"must be in [0, 1], got {self.gamma}")
        _require(0 <= self.gae_lambda <= 1, "gae_lambda",
                 f"must be in [0, 1], got {self.gae_lambda}")
        _require(self.clip > 0, "clip", f"must be > 0, got {self.clip}")
        _require(self.ppo_epochs >= 1, "ppo_epochs", f"must be >= 1, got {self.ppo_epochs}")
        _require(self.num_minibatches >= 1, "num_minibatches",
                 f"must be >= 1, got {self.num_minibatches}")
        _require(self.rollout_env_steps >= self.num_minibatches, "rollout_env_steps",
                 f"must be at least num_minibatches ({self.num_minibatches}), "
                 f"got {self.rollout_env_steps}")
        _require(self.entropy_coef >= 0, "entropy_coef", f"must be >= 0, got {self.entropy_coef}")
        for agent, coef in self.agent_entropy_coef.items():
            _require(coef >= 0, "agent_entropy_coef", f"{agent}: must be >= 0, got {coef}")
        _require(self.huber_delta > 0, "huber_delta", f"must be > 0, got {self.huber_delta}")
        _require(self.max_grad_norm > 0, "max_grad_norm", f"must be > 0, got {self.max_grad_norm}")
        _require(self.actor_output_gain > 0, "actor_output_gain",
                 f"must be > 0, got {self.actor_output_gain}")
        _check_hidden_sizes(self.hidden_sizes)
        _check_transitions(self, "rollout_env_steps")


@dataclass(frozen=True)
class MAPPOConfig(PPOFamilyConfig):
    """MAPPO: one actor per agent on its own observation, a centralized critic on the
    global state."""

    algorithm: Literal["mappo"] = "mappo"


@dataclass(frozen=True)
class IPPOConfig(PPOFamilyConfig):
    """IPPO (decentralized ablation): like MAPPO, but each agent has its own critic on
    its own observation."""

    algorithm: Literal["ippo"] = "ippo"
    critic_input: ClassVar[Literal["state", "own_observation"]] = "own_observation"


@dataclass(frozen=True)
class SharedMAPPOConfig(PPOFamilyConfig):
    """MAPPO with parameter sharing: one actor for all agents over padded observations
    with an agent indicator (the reference's default `share_policy`)."""

    algorithm: Literal["mappo_shared"] = "mappo_shared"
    shared_actor: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(not self.item_network, "item_network",
                 "one actor shared by all agents has no per-item network; use mappo")


@dataclass(frozen=True)
class QLearningConfig:
    """Value-factorized Q-learning over every agent's action dimensions."""

    algorithm: str
    lr: float = 1e-3  # Adam, `lr` 0.001 (Hu et al. replace RMSProp by Adam)
    gamma: float = 0.99  # `gamma`
    n_step: int = 3  # stands in for TD(lambda=0.6): mean lookahead 1/(1-lambda) = 2.5 steps
    batch_size: int = 128  # `batch_size` (episodes there, transitions here)
    gradient_steps_per_env_step: float = 0.25  # 128 x 0.25 = 32 replayed transitions per
    # env step, as 128 episodes per 4 collected episodes in pymarl2
    collect_env_steps: int = 16  # transitions collected between update steps
    buffer_size: int = 200_000  # transitions (pymarl2: 5000 episodes)
    target_update_interval: int = 200  # gradient steps between target copies
    # (pymarl2: every 200 episodes)
    double_q: bool = True  # `double_q`
    epsilon_start: float = 1.0  # `epsilon_start`
    epsilon_finish: float = 0.05  # `epsilon_finish`
    # the share of the training budget over which epsilon falls to epsilon_finish:
    # pymarl2's `epsilon_anneal_time` (100k of 10M steps, 1%) would leave our 100k-step
    # runs mostly random; CleanRL's DQN anneals over half its budget (exploration_fraction)
    epsilon_anneal_fraction: float = 0.5
    max_grad_norm: float = 10.0  # `grad_norm_clip`
    hidden_sizes: tuple[int, ...] = (64, 64)  # `rnn_hidden_dim` 64 (feed-forward here)
    item_network: bool = False  # utilities of items alike from one shared network

    on_policy: ClassVar[bool] = False
    mixer: ClassVar[Literal["monotonic", "agent_sum"]] = "monotonic"

    @property
    def env_steps_per_collection(self) -> int:
        return self.collect_env_steps

    def __post_init__(self) -> None:
        _require(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        _require(0 <= self.gamma <= 1, "gamma", f"must be in [0, 1], got {self.gamma}")
        _require(self.n_step >= 1, "n_step", f"must be >= 1, got {self.n_step}")
        _require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        _require(self.collect_env_steps >= 1, "collect_env_steps",
                 f"must be >= 1, got {self.collect_env_steps}")
        _require(self.gradient_steps_per_env_step * self.collect_env_steps >= 0.5,
                 "gradient_steps_per_env_step",
                 f"{self.gradient_steps_per_env_step} x collect_env_steps "
                 f"({self.collect_env_steps}) rounds to 0 gradient steps per update")
        _require(self.buffer_size >= self.batch_size, "buffer_size",
                 f"must be at least batch_size ({self.batch_size}), got {self.buffer_size}")
        _require(self.target_update_interval >= 1, "target_update_interval",
                 f"must be >= 1, got {self.target_update_interval}")
        for name in ("epsilon_start", "epsilon_finish"):
            value = getattr(self, name)
            _require(0 <= value <= 1, name, f"must be in [0, 1], got {value}")
        _require(0 < self.epsilon_anneal_fraction <= 1, "epsilon_anneal_fraction",
                 f"must be in (0, 1], got {self.epsilon_anneal_fraction}")
        _require(self.max_grad_norm > 0, "max_grad_norm", f"must be > 0, got {self.max_grad_norm}")
        _check_hidden_sizes(self.hidden_sizes)
        _check_transitions(self, "buffer_size", "batch_size", "collect_env_steps")


@dataclass(frozen=True)
class QMIXConfig(QLearningConfig):
    """QMIX: every action dimension of every agent is a utility; a monotonic mixer
    conditioned on the global state combines them into the team value."""

    algorithm: Literal["qmix"] = "qmix"
    mixing_embed_dim: int = 32  # `mixing_embed_dim`
    hypernet_embed_dim: int = 64  # `hypernet_embed`

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.mixing_embed_dim >= 1, "mixing_embed_dim",
                 f"must be >= 1, got {self.mixing_embed_dim}")
        _require(self.hypernet_embed_dim >= 1, "hypernet_embed_dim",
                 f"must be >= 1, got {self.hypernet_embed_dim}")


@dataclass(frozen=True)
class IDQNConfig(QLearningConfig):
    """Independent DQN (decentralized ablation): each agent learns its own value, the sum
    of its dimensions' utilities, from the team reward; no mixer."""

    algorithm: Literal["idqn"] = "idqn"
    mixer: ClassVar[Literal["monotonic", "agent_sum"]] = "agent_sum"


AlgorithmConfig = MAPPOConfig | IPPOConfig | SharedMAPPOConfig | QMIXConfig | IDQNConfig
"""The YAML union: the ``algorithm`` key picks the dataclass."""


MAX_IMITATION_STEPS = 1_000_000  # gradient steps or teacher episode rounds


@dataclass(frozen=True)
class ImitationConfig:
    """``train.imitation``: behaviour cloning of fixed policies before training, who
    teaches and how long the clone learns (:mod:`marl_part.trainers.imitation`; the
    settings follow its research runs for issue 10: four rounds of episodes, 500
    steps, 10% noise, 0.2 label smoothing)."""

    # learned role -> the fixed policy it imitates (NAME or NAME:knob=value,...); a
    # learned role without one plays uniformly at random, as a fresh actor does
    teacher: dict[str, str]
    episodes: int = 4  # rounds of teacher episodes in every training env
    gradient_steps: int = 500
    batch_size: int = 512
    action_noise: float = 0.1  # share of random actions played (labels stay the teachers')
    label_smoothing: float = 0.2  # of the cross-entropy targets, over each dimension's choices
    lr: float = 1e-3  # Adam, for actors and critic together

    def __post_init__(self) -> None:
        _require(bool(self.teacher), "teacher", "name a teacher for at least one learned role")
        for name in ("episodes", "gradient_steps", "batch_size"):
            _require(1 <= getattr(self, name) <= MAX_IMITATION_STEPS, name,
                     f"must lie in [1, {MAX_IMITATION_STEPS:,}], got {getattr(self, name)}")
        for name in ("action_noise", "label_smoothing"):
            _require(0 <= getattr(self, name) < 1, name,
                     f"must lie in [0, 1), got {getattr(self, name)}")
        _require(self.lr > 0, "lr", f"must be > 0, got {self.lr}")


def check_agent_names(config, roles: list[str]) -> None:
    """Refuse a per-agent setting (``learner.agent_entropy_coef``) for a name that is no
    role of the scenario (one a baseline fills here is allowed: an ablation's variant)."""
    if unknown := sorted(set(getattr(config, "agent_entropy_coef", {})) - set(roles)):
        raise InputError(f"agent_entropy_coef names {unknown}, not roles of this scenario: "
                         f"{roles}", "learner.agent_entropy_coef")


def check_item_network(item_network: bool, item_agents: list[str]) -> None:
    """Refuse ``learner.item_network`` where no learned agent decides for items."""
    if item_network and not item_agents:
        raise InputError("no agent here decides for items (a scenario's ITEM_FEATURES, "
                         "not available with wrappers): set learner.item_network=false",
                         "learner.item_network")
