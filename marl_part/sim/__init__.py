"""The simulator: the micro-batch stream-processing world, for n envs at once.

:mod:`~marl_part.sim.world` steps the world (routing, loads and times, backlog and
deadlines, dedup, scaling); :mod:`~marl_part.sim.routing` places a batch by key or by
tuple; :mod:`~marl_part.sim.cluster` holds the nodes; :mod:`~marl_part.sim.dedup` the
fingerprint stores; :mod:`~marl_part.sim.rewards` and :mod:`~marl_part.sim.features`
are the reward terms and observation features that scenarios compose. It reads
micro-batches from :mod:`marl_part.workloads` and knows nothing of agents.
"""
