"""``marl-part train``: one learning run, from config to compared result.

A run lives in a fresh directory ``runs/<name>-<timestamp>/``: the resolved config
(``config.yaml``), TensorBoard events, the checkpoint, the final evaluation of the
learned team in ``marl-part eval``'s schema (``eval.json``) and, when the config lists
``train.compare_with`` baseline pairs, the same evaluation of each pair at its defaults
and tuned (:mod:`~marl_part.evaluation.tuning`, with the config's ``tune:`` settings),
and of the oracle static, in a comparison table (``comparison.md``, ``comparison.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from marl_part import typed_yaml
from marl_part.config import Config
from marl_part.envs.vector_env import make_vector_env
from marl_part.errors import InputError
from marl_part.evaluation.evaluate import EvalResult, evaluate, period_episodes
from marl_part.evaluation.policies import RUN_CONFIG_FILE, checkpoint_actors
from marl_part.evaluation.tuning import BarRow, classical_bar
from marl_part.experiments.comparison import (
    PICTURE,
    comparison_markdown,
    comparison_rows,
    draw_comparison,
    mean_terms,
)
from marl_part.experiments.rundir import held, new_run_dir, write_json_atomic
from marl_part.progress import log_above
from marl_part.scenarios import load_scenario
from marl_part.trainers.configs import check_agent_names, check_item_network


def check_learnable(config: Config) -> list[str]:
    """The roles this config learns; refuse configs the learner cannot train."""
    fills = config.role_fills()
    agents = [role for role, fill in fills.items() if fill == "learn"]
    if not agents:
        raise InputError(f"no role is set to learn in scenario '{config.scenario}' "
                         f"(roles: {fills}); set roles.<role>=learn", key="roles")
    if config.learner.algorithm == "mappo_shared" and len(agents) < 2:
        raise InputError(f"mappo_shared shares one actor among agents, but this config "
                         f"learns only {agents[0]}; use mappo or ippo", key="learner.algorithm")
    item_features = {} if config.wrappers else getattr(
        load_scenario(config.scenario, Path(config.base_dir)), "ITEM_FEATURES", {})
    check_item_network(getattr(config.learner, "item_network", False),
                       [role for role in agents if role in item_features])
    check_agent_names(config.learner, list(fills))
    if getattr(config.learner, "key_credit", "team") != "team" and "partitioner" not in agents:
        raise InputError("learner.key_credit credits the partitioner's hot keys, but this "
                         f"config learns only {', '.join(agents)}; set learner.key_credit=team",
                         key="learner.key_credit")
    if config.train.imitation is not None and not config.teachers():
        raise InputError(f"imitation.teacher teaches {sorted(config.train.imitation.teacher)}, "
                         f"none of the learned roles {agents}", key="train.imitation")
    for pair in config.train.compare_with:
        if missing := [role for role in agents if role not in pair]:
            raise InputError(f"the baseline pair {pair} leaves {', '.join(missing)} to "
                             "learn; name a baseline for every learned role",
                             key="train.compare_with")
    return agents


def start_run(config: Config, run_dir: Path | None = None) -> Path:
    """A run directory (fresh under ``runs/`` unless given) holding the resolved config."""
    if run_dir is None:
        run_dir = new_run_dir(config.name)
    else:
        run_dir.mkdir(parents=True)
    write_resolved_config(config, run_dir)
    return run_dir


def write_resolved_config(config: Config, folder: Path, only_changed: bool = False,
                          file_name: str = RUN_CONFIG_FILE) -> None:
    """``folder/config.yaml`` (or ``file_name``): ``config``, loadable on its own; every
    setting, or only those that differ from the defaults (a base for overrides that
    switch algorithm)."""
    data = typed_yaml.to_dict(config, only_changed=only_changed)
    (folder / file_name).write_text(yaml.safe_dump(data, sort_keys=False))


def train_run(config: Config, run_dir: Path, resume: bool = False,
              init_from: str | None = None, show_progress: bool = True,
              on_evaluation: Callable[[int, float], None] | None = None) -> dict:
    """Train ``config``'s learner in ``run_dir``, then evaluate it (``summary["eval"]``,
    with the result object under ``"result"``) and compare it with the baselines;
    ``on_evaluation(env_step, eval_reward)`` hears every evaluation during training. No
    other process may work in ``run_dir`` meanwhile (:func:`held`)."""
    with held(run_dir):
        summary = train_only(config, run_dir, resume, init_from, show_progress, on_evaluation)
        learned = final_evaluation(config, run_dir)
        summary["eval"], summary["result"] = learned.to_json(), learned
        summary["comparison"], summary["bar"] = compare(config, run_dir, learned,
                                                        log_above if show_progress else _quiet)
    return summary


def train_only(config: Config, run_dir: Path, resume: bool = False,
               init_from: str | None = None, show_progress: bool = True,
               on_evaluation: Callable[[int, float], None] | None = None) -> dict:
    """Train ``config``'s learner in ``run_dir`` (as :func:`train_run`, which then
    evaluates and compares); the trainer's summary."""
    from marl_part.trainers.runner import train

    check_learnable(config)
    settings = config.train
    train_envs = make_vector_env(config, settings.n_envs, config.teachers(), key_credit=getattr(
        config.learner, "key_credit", "team") == "difference")
    return train(config.learner, train_envs.get_env_attr("layout")[0], lambda: train_envs,
                 lambda: make_vector_env(config, settings.eval_episodes, period="validation",
                                         starts=validation_starts(config)),
                 run_dir, settings.budget_env_steps, settings.eval_every_env_steps,
                 settings.eval_episodes, config.seed, resume=resume, init_from=init_from,
                 imitation=settings.imitation, show_progress=show_progress,
                 on_evaluation=on_evaluation)


def validation_starts(config: Config) -> np.ndarray:
    """Where the evaluations during training begin: ``train.eval_episodes``
    non-overlapping episodes spread over the validation period, the same at every
    evaluation (repeated where the period holds fewer)."""
    plan = period_episodes(config, "validation", config.train.eval_episodes, 1)
    return np.resize(plan.starts, config.train.eval_episodes)


def final_evaluation(config: Config, run_dir: Path) -> EvalResult:
    """The learned team on ``train.final_episodes`` x ``train.final_seeds``, written to
    ``eval.json``."""
    result = evaluate_team(config, run_dir, config.train.final_episodes,
                           config.train.final_seeds)
    write_json_atomic(run_dir / "eval.json", result.to_json())
    return result


def evaluate_team(config: Config, run_dir: Path, episodes: int | None,
                  seeds: int) -> EvalResult:
    """The learned team, every learned role from the run's checkpoint, as ``eval`` does."""
    policies = {role: str(run_dir) for role, fill in config.role_fills().items()
                if fill == "learn"}
    actors = checkpoint_actors(config, policies)
    labels = {**config.role_fills(), **{role: f"{config.learner.algorithm} ({run_dir.name})"
                                        for role in policies}}
    return evaluate(config, actors, episodes, seeds, labels)


def compare(config: Config, run_dir: Path, learned: EvalResult,
            log=log_above) -> tuple[list[dict], list[BarRow]]:
    """The learned team beside each ``train.compare_with`` pair at its defaults and
    tuned, the oracle static and the hindsight plan; ``comparison.md`` (showing
    ``comparison.png``) and ``comparison.json``."""
    settings = config.train
    bar = (classical_bar(config, settings.compare_with, config.tune, settings.final_episodes,
                         settings.final_seeds, log) if settings.compare_with else [])
    label = f"learned {config.learner.algorithm}"
    rows = comparison_rows([(label, learned)], bar)
    picture = draw_comparison(config, (label, learned), bar, [(label, mean_terms(learned))],
                              run_dir / PICTURE)
    (run_dir / "comparison.md").write_text(
        f"{comparison_markdown(rows, bar, learned)}\n{picture}\n")
    (run_dir / "comparison.json").write_text(
        json.dumps([row.to_json() for row in bar], indent=2, default=str) + "\n")
    return rows, bar


def _quiet(_text: str) -> None:
    """A log that prints nothing."""
