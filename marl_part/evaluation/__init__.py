"""Scoring policies: roles filled by baselines or checkpoints, run over seeds.

:mod:`~marl_part.evaluation.evaluate` runs episodes and summarizes them;
:mod:`~marl_part.evaluation.policies` fills roles by name;
:mod:`~marl_part.evaluation.capacity` finds the maximum sustainable throughput and the
whole-trace objectives; :mod:`~marl_part.evaluation.stats` holds the interval methods;
:mod:`~marl_part.evaluation.plots` draws an episode.
"""
