"""``marl-part sweep``: a learner's (or the world's) settings searched on Ray Tune.

The config's ``sweep:`` section names the keys to vary and their values
(:class:`~marl_part.config.SweepSettings`). The trials are drawn here, before any runs
(random search: from a generator seeded by the config's ``seed``; grid: every
combination), so a sweep is reproducible; Ray Tune (Liaw et al., "Tune: A Research
Platform for Distributed Model Selection and Training", 2018) runs them, one CPU each,
and ASHA (Li et al., MLSys 2020) stops the trials behind at each rung of evaluations,
on the evaluation reward training logs. Every trial is a training run in
``OUT/trial<k>/``, trained as an ablation's runs are
(:func:`~marl_part.experiments.ablation.trained_score`), so a trial re-run after its
worker died continues from its checkpoint.

``OUT = runs/<name>-sweep-<time>/`` holds the base config, ``sweep.md`` and
``sweep.json`` (every trial: its values, whether it completed or ASHA stopped it, its
env steps, last evaluation reward and, completed, its final team reward) and
``best.yaml``: the config of the completed trial with the highest last evaluation
reward, which ``marl-part train`` takes as it is. Tune's own records are in ``OUT/tune/``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from marl_part.config import Config, SweepRange, SweepSettings, load_config, setting
from marl_part.errors import InputError
from marl_part.evaluation.policies import RUN_CONFIG_FILE
from marl_part.experiments.ablation import eval_curve, trained_score
from marl_part.experiments.ray_tasks import CPUS_PER_TASK, MAX_RETRIES, connect
from marl_part.experiments.rundir import held, new_run_dir, read_json
from marl_part.experiments.training_run import check_learnable, write_resolved_config
from marl_part.progress import advance, log_above, progress
from marl_part.trainers.team_logger import EVAL_REWARD

ENV_STEP = "env_step"  # ASHA's time axis: env steps at each evaluation
TRIAL_OVERRIDES = ("sweep=null", "train.compare_with=[]")
BEST_FILE = "best.yaml"
TUNE_FOLDER = "tune"  # Tune's records of the sweep, in its folder


def draw_trials(settings: SweepSettings, seed: int) -> list[dict[str, Any]]:
    """Every trial's values by key: the whole grid, or ``trials`` random draws."""
    if settings.search == "grid":
        keys = list(settings.params)
        return [dict(zip(keys, values)) for values in
                itertools.product(*(settings.params[key].values for key in keys))]
    rng = np.random.default_rng(seed)
    return [{key: _draw(values, rng) for key, values in settings.params.items()}
            for _ in range(settings.trials)]


def _draw(values: SweepRange, rng: np.random.Generator) -> Any:
    if values.kind == "values":
        return values.values[int(rng.integers(len(values.values)))]
    low, high = getattr(values, values.kind)
    if values.kind == "integers":
        return int(rng.integers(low, high + 1))
    if values.kind == "log_uniform":
        return float(f"{math.exp(rng.uniform(math.log(low), math.log(high))):.4g}")
    return float(f"{rng.uniform(low, high):.4g}")


def run_sweep(config_path: str, overrides: list[str], address: str | None,
              log=log_above) -> Path:
    """Run the config's sweep on the Ray cluster at ``address``; the output folder."""
    base = load_config(config_path, overrides)
    if base.sweep is None:
        raise InputError("the config has no 'sweep:' section naming keys to vary",
                         str(config_path))
    check_learnable(base)
    connect(address)
    out = new_run_dir(f"{base.name}-sweep").resolve()  # trials run in other folders
    write_resolved_config(base, out, only_changed=True)
    with held(out):
        return _sweep(out, log)


def resume_sweep(out: Path, address: str | None, log=log_above) -> Path:
    """Finish a killed sweep in its folder ``out``: Tune keeps the trials it finished
    (completed or stopped), runs the others again, each from its checkpoint."""
    if not (out / RUN_CONFIG_FILE).is_file() or load_config(out / RUN_CONFIG_FILE).sweep is None:
        raise InputError("not a sweep folder (no config.yaml with a sweep: section)", str(out))
    connect(address)
    with held(out.resolve()):
        return _sweep(out.resolve(), log)


def _sweep(out: Path, log) -> Path:
    base = load_config(out / RUN_CONFIG_FILE)
    trials = draw_trials(base.sweep, base.seed)
    log(f"sweep: {len(trials)} trials ({base.sweep.search}) in {out}")
    with progress("sweep", len(trials), "trials"):
        errors = _fit(out, base, trials)
    rows = [_row(out / name, values, errors.get(name)) for name, values in
            zip(_names(trials), trials)]
    completed = [row for row in rows if row["status"] == "completed"]
    if not completed:
        raise RuntimeError(f"no trial of the sweep completed; Tune's records are in "
                           f"{out / TUNE_FOLDER}")
    best = max(completed, key=lambda row: row["eval_reward"])
    best_config = load_config(out / RUN_CONFIG_FILE, [*_settings(best["values"]), "sweep=null"])
    write_resolved_config(best_config, out, file_name=BEST_FILE)
    _write_table(rows, best, base, out)
    return out


def _names(trials: list) -> list[str]:
    return [f"trial{index:03d}" for index in range(len(trials))]


def _settings(values: dict[str, Any]) -> list[str]:
    return [setting(key, value) for key, value in values.items()]


def _trial(config: dict, base_path: str, out: str) -> None:
    """One trial, in a Tune worker: train (or continue) its run, reporting every
    evaluation to Tune."""
    from ray import tune

    reported = []

    def report(env_step: int, eval_reward: float) -> None:
        tune.report({EVAL_REWARD: eval_reward, ENV_STEP: env_step})
        reported.append(env_step)

    point = config["point"]
    run_dir = Path(out) / point["name"]
    trained_score(Path(base_path), [*point["set"], *TRIAL_OVERRIDES], run_dir,
                  on_evaluation=report)
    if not reported:  # finished by an earlier attempt: Tune hears its last evaluation
        steps, rewards = eval_curve(run_dir)
        report(int(steps[-1]), float(rewards[-1]))


def _fit(out: Path, base: Config, trials: list[dict]) -> dict[str, Exception | None]:
    """Run the trials on Ray Tune with ASHA, or finish those of an earlier attempt
    whose state Tune saved in ``out/tune``, counting each that ends on the innermost
    progress bar; each trial's error (or None), by name."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    class Finished(tune.Callback):
        """Counts each trial that ends: completed, stopped or failed (of this attempt:
        a resumed sweep's bar does not count the trials an earlier one finished)."""

        def on_trial_complete(self, iteration, trials, trial, **info):
            advance()

        on_trial_error = on_trial_complete

    sweep, train = base.sweep, base.train
    points = [{"name": name, "set": _settings(values)}
              for name, values in zip(_names(trials), trials)]
    trainable = tune.with_resources(
        tune.with_parameters(_trial, base_path=str(out / RUN_CONFIG_FILE), out=str(out)),
        {"cpu": CPUS_PER_TASK})
    # past the budget: ASHA stops a trial at max_t, before its final evaluation
    scheduler = ASHAScheduler(time_attr=ENV_STEP, max_t=train.budget_env_steps + 1,
                              grace_period=sweep.grace_evaluations * train.eval_every_env_steps,
                              reduction_factor=sweep.reduction_factor)
    # a signal stops the driver as any command's (marl_part.interrupts), not Tune's way,
    # which would return as if the sweep were done; sweep --resume finishes it
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    if tune.Tuner.can_restore(out / TUNE_FOLDER):
        tuner = tune.Tuner.restore(str(out / TUNE_FOLDER), trainable, resume_unfinished=True,
                                   resume_errored=True)
        return _errors(tuner.fit())
    tuner = tune.Tuner(
        trainable,
        param_space={"point": tune.grid_search(points)},
        # a trial's process imports the training stack once and runs the next trials too
        tune_config=tune.TuneConfig(metric=sweep.metric, mode="max", scheduler=scheduler,
                                    reuse_actors=True),
        run_config=tune.RunConfig(name=TUNE_FOLDER, storage_path=str(out), verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=MAX_RETRIES),
                                  callbacks=[Finished()]))
    return _errors(tuner.fit())


def _errors(results) -> dict[str, Exception | None]:
    return {result.config["point"]["name"]: result.error for result in results}


def _row(run_dir: Path, values: dict[str, Any], error: Exception | None) -> dict:
    """A trial's line of the table, read from its run directory (a resumed trial's
    curve continues there)."""
    eval_file = run_dir / "eval.json"
    final = read_json(eval_file)["team_reward"]["mean"] if eval_file.is_file() else None
    steps, rewards = eval_curve(run_dir) if run_dir.is_dir() else ((), ())
    if final is not None:
        status = "completed"
    elif error is not None:
        status = f"failed: {str(error).splitlines()[0][:120]}"
    else:
        status = "stopped by ASHA"
    return {"trial": run_dir.name, "values": values, "status": status,
            "env_steps": int(steps[-1]) if len(steps) else None,
            "eval_reward": float(rewards[-1]) if len(rewards) else None,
            "final_team_reward": final, "run_dir": str(run_dir)}


def _write_table(rows: list[dict], best: dict, base: Config, out: Path) -> None:
    """``sweep.md`` (a line on the search, then one row per trial) and ``sweep.json``."""
    sweep = base.sweep
    keys = list(sweep.params)
    lines = [f"{len(rows)} trials ({sweep.search} search), each up to "
             f"{base.train.budget_env_steps:,} env steps; ASHA on `{sweep.metric}` (the "
             f"evaluation reward, maximised) stopped trials behind after "
             f"{sweep.grace_evaluations} evaluation(s) or more, keeping 1/"
             f"{sweep.reduction_factor} at each rung. Best completed trial: {best['trial']} "
             f"(`{BEST_FILE}`).", "",
             "| trial | " + " | ".join(keys) + " | status | env steps | eval reward (last) "
             "| final team reward |", "|---" * (len(keys) + 5) + "|"]
    for row in rows:
        cells = [row["trial"], *(_text(row["values"][key]) for key in keys), row["status"],
                 _text(row["env_steps"]), _text(row["eval_reward"]),
                 _text(row["final_team_reward"])]
        lines.append("| " + " | ".join(cells) + " |")
    (out / "sweep.md").write_text("\n".join(lines) + "\n")
    (out / "sweep.json").write_text(json.dumps({
        "search": sweep.search, "metric": sweep.metric, "best": best["trial"],
        "best_config": str(out / BEST_FILE), "trials": rows}, indent=2, default=str) + "\n")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) else str(value)
