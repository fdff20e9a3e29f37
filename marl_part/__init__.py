"""marl-part: cooperative multi-agent RL for stream partitioning and scheduling.

The package is in layers, each importing only the ones below it (docs/architecture.md):
``cli`` > ``experiments`` > ``evaluation`` > ``config`` > ``trainers`` > ``envs`` >
``scenarios`` > ``baselines`` > ``sim`` > ``workloads`` > ``errors``/``typed_yaml``/
``interrupts``/``progress``.
"""
