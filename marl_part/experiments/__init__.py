"""Experiments: work that writes a run directory under ``runs/``.

One training run and its comparison (:mod:`~marl_part.experiments.training_run`), an
ablation over variants and seeds (:mod:`~marl_part.experiments.ablation`), a grid of
policy pairs over workloads (:mod:`~marl_part.experiments.grid`) and the speed
benchmark (:mod:`~marl_part.experiments.bench`); :mod:`~marl_part.experiments.rundir`
makes the fresh directories.
"""
