"""Cooperative multi-agent learners on Tianshou 2.0 (see DESIGN.md, "Learning").

Entry points:

- :func:`trainers.runner.train` trains one algorithm on vector envs over joint envs,
  with TensorBoard logging, checkpoints, ``resume`` and ``init_from``;
- :data:`trainers.configs.AlgorithmConfig` is the YAML union of the algorithm configs
  (``algorithm: mappo | ippo | mappo_shared | qmix | idqn``);
- :func:`trainers.registry.algorithm_spec` maps a name to its config class and builder;
- :func:`trainers.acting.load_actor` / :func:`trainers.acting.load_team` act greedily
  with a trained checkpoint, one role or the whole team.
"""
