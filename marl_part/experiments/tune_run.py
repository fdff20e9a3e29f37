"""``marl-part tune``: the classical bar of a config's workload, in a fresh run directory.

Every pair of ``tune.pairs`` (default ``train.compare_with``) is searched on the
validation period and scored at its defaults and tuned on the test period's episodes
(``train.final_episodes`` x ``train.final_seeds``), beside the oracle static
(:mod:`~marl_part.evaluation.tuning`). ``runs/<name>-tune-<time>/`` holds the resolved
config, ``tune.md`` (the table and what was tuned over what) and ``tune.json`` (every
row's evaluation, the chosen knobs and the search).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from marl_part.config import load_config
from marl_part.errors import InputError
from marl_part.evaluation.tasks import Runner, run_in_turn
from marl_part.evaluation.tuning import best_row, classical_bar
from marl_part.experiments.comparison import comparison_markdown, comparison_rows
from marl_part.experiments.rundir import new_run_dir
from marl_part.experiments.training_run import write_resolved_config
from marl_part.progress import log_above


def run_tune(config_path: str, overrides: list[str], log=log_above,
             run_all: Runner = run_in_turn) -> Path:
    """Tune the config's pairs (each pair one call of ``run_all``); the run directory."""
    config = load_config(config_path, overrides)
    if not config.tune_pairs:
        raise InputError("no pairs to tune: list them under tune.pairs (or "
                         "train.compare_with)", str(config_path))
    episodes, seeds = config.train.final_episodes, config.train.final_seeds
    started = time.perf_counter()
    bar = classical_bar(config, config.tune_pairs, config.tune, episodes, seeds, log, run_all)
    wall_time = time.perf_counter() - started
    out = new_run_dir(f"{config.name}-tune")  # after the bar: a refused pair leaves none
    write_resolved_config(config, out)
    (out / "tune.md").write_text(comparison_markdown(comparison_rows([], bar), bar,
                                                     bar[0].result))
    best = best_row(bar)
    (out / "tune.json").write_text(json.dumps({
        "config": str(config_path), "overrides": overrides,
        "evaluation": {"period": "test", "episodes": bar[0].result.episodes, "seeds": seeds,
                       "periods": bar[0].result.periods},
        "wall_time_s": wall_time, "best": best and best.pair,
        "rows": [row.to_json() for row in bar]}, indent=2, default=str) + "\n")
    return out
