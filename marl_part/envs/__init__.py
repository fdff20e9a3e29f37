"""Environments: a scenario's world with every role filled, as agents see it.

:class:`~marl_part.envs.simulation.Simulation` fills each role with a learned agent
(actions from outside) or a baseline; :mod:`~marl_part.envs.parallel_env` is its
PettingZoo ``ParallelEnv`` view (one env, SuperSuit wrappers from
:mod:`~marl_part.envs.wrappers`); :mod:`~marl_part.envs.joint` and
:mod:`~marl_part.envs.vector_env` present the whole team as one gymnasium env and as a
batched Tianshou vector env.
"""
