"""Cooperative multi-agent learners on Tianshou 2.0 (see DESIGN.md, "Learning").

Installed as ``marl_part.trainers``. Entry points:

- :func:`~marl_part.trainers.runner.train` trains one algorithm on vector envs over
  joint envs, with TensorBoard logging, checkpoints, ``resume`` and ``init_from``;
- :data:`~marl_part.trainers.configs.AlgorithmConfig` is the YAML union of the
  algorithm configs (``algorithm: mappo | ippo | mappo_shared | qmix | idqn``);
- :func:`~marl_part.trainers.registry.algorithm_spec` maps a name to its config class
  and builder;
- :func:`~marl_part.trainers.acting.load_actor` and
  :func:`~marl_part.trainers.acting.load_team` act greedily with a trained checkpoint,
  one role or the whole team.
"""
