"""``marl-part ablate``: several learners and baselines on one workload, over seeds.

Every variant of the config's ``ablate:`` section (an algorithm, a single-agent
ablation, ...: overrides of the config) is trained once per seed on the training
period; each trained team is evaluated on the same non-overlapping episodes of the test
period (``train.final_episodes`` x ``train.final_seeds``) and scores its mean team
reward; a row gives the mean over training seeds with a Student-t
95% interval (or, with 10 seeds or more, the interquartile mean with a percentile
bootstrap), and names the method. Baseline pairs are fixed policies with no training
seed: each appears at its defaults and tuned (:mod:`~marl_part.evaluation.tuning`),
beside the oracle static; a row gives the mean team reward on those same episodes,
with the Student-t 95% interval of that mean over the episodes (each an independent
stretch of the stream). Learning curves plot
the evaluation reward against env steps, mean and 95% band.

The output folder keeps the resolved config (``config.yaml``) and one run directory per
variant and seed, so a killed ablation resumes (``resume_ablation``): finished runs are
read back, a run with a checkpoint continues from it, a run killed before its first
checkpoint starts again. Each training run, and then each baseline pair, is one call of
a :data:`~marl_part.evaluation.tasks.Runner`: here in turn, or as Ray tasks
(:mod:`~marl_part.experiments.ray_tasks`), where a task retried after its worker died
continues its run the same way.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from marl_part.config import Config, load_config  # noqa: E402
from marl_part.errors import InputError  # noqa: E402
from marl_part.evaluation.policies import CHECKPOINT_FILE, RUN_CONFIG_FILE  # noqa: E402
from marl_part.evaluation.stats import describe_p, interval, mean_ci95, one_sample, welch  # noqa: E402
from marl_part.evaluation.tasks import Runner, run_in_turn  # noqa: E402
from marl_part.evaluation.tuning import HINDSIGHT, BarRow, best_row, classical_bar, tuning_note  # noqa: E402
from marl_part.experiments.comparison import PICTURE, draw_comparison, scored_on  # noqa: E402
from marl_part.experiments.ray_tasks import check_shared  # noqa: E402
from marl_part.experiments.rundir import held, new_run_dir, read_json, resume_config  # noqa: E402
from marl_part.experiments.training_run import (  # noqa: E402
    check_learnable,
    evaluate_team,
    start_run,
    train_run,
    write_resolved_config,
)
from marl_part.progress import log_above, run_shown  # noqa: E402


def run_ablation(config_path: str, overrides: list[str], log=log_above,
                 run_all: Runner = run_in_turn) -> Path:
    """Train and evaluate everything the config's ``ablate:`` lists; the output folder.
    ``run_all`` runs the training runs, then the baseline pairs (each one call)."""
    base = load_config(config_path, overrides)
    if base.ablate is None:
        raise InputError("the config has no 'ablate:' section listing variants", str(config_path))
    _check_variants(config_path, overrides, base)
    out = new_run_dir(f"{base.name}-ablate").resolve()  # tasks may run in another folder
    write_resolved_config(base, out, only_changed=True)
    with held(out):
        return _ablate(out, log, run_all)


def resume_ablation(out: Path, log=log_above, run_all: Runner = run_in_turn) -> Path:
    """Finish a killed ablation in its own folder ``out``."""
    if not (out / RUN_CONFIG_FILE).is_file():
        raise InputError(f"not an ablation folder (no {RUN_CONFIG_FILE})", str(out))
    base = None if (out / CHECKPOINT_FILE).is_file() else load_config(out / RUN_CONFIG_FILE)
    if base is None or base.ablate is None:
        raise InputError("a training run, not an ablation folder: resume it with "
                         "'marl-part train --resume'", str(out))
    _check_variants(out / RUN_CONFIG_FILE, [], base)
    with held(out.resolve()):
        return _ablate(out.resolve(), log, run_all)


def _check_variants(config_path: str | Path, overrides: list[str], base: Config) -> None:
    """Refuse the ablation if any variant cannot be trained, before any is."""
    for variant in base.ablate.variants:
        try:
            check_learnable(load_config(config_path, [*overrides, *variant.set, "ablate=null"]))
        except InputError as exc:
            raise InputError(f"variant '{variant.name}': {exc}", str(config_path)) from None


def _ablate(out: Path, log, run_all: Runner) -> Path:
    base_path = out / RUN_CONFIG_FILE
    base = load_config(base_path)
    settings = base.ablate
    runs = [(variant, seed, out / variant.name / f"seed{seed}")
            for variant in settings.variants for seed in range(settings.seeds)]
    calls = [partial(trained_score, base_path,
                     [*variant.set, f"seed={seed}", "train.compare_with=[]"], run_dir)
             for variant, seed, run_dir in runs]

    def done(index: int, outcome: TrainedScore) -> None:
        variant, seed, _ = runs[index]
        log(f"  {variant.name} seed {seed}: {outcome.text}")

    scores = [outcome.score for outcome in run_shown(run_all, calls, done, "training",
                                                        "runs")]
    check_shared([run_dir / "eval.json" for _, _, run_dir in runs])
    rows, curves, terms, teachers = [], {}, [], {}
    for variant in settings.variants:
        mine = [index for index, run in enumerate(runs) if run[0] is variant]
        config = load_config(runs[mine[0]][2] / RUN_CONFIG_FILE)
        evaluations = [read_json(runs[i][2] / "eval.json") for i in mine]
        rows.append(_row(variant.name, [scores[i] for i in mine], settings.statistic, config,
                         trained=True, metrics=_mean_metrics([e["metrics"] for e in evaluations])))
        curves[variant.name] = [eval_curve(runs[i][2]) for i in mine]
        terms.append((variant.name, {term: float(np.mean([e["reward_terms"][term]["mean"]
                                                          for e in evaluations]))
                                     for term in evaluations[0]["reward_terms"]}))
        if teacher := teacher_score(runs[mine[0]][2] / RUN_CONFIG_FILE, config):
            teachers[variant.name] = teacher
    bar = classical_bar(base, settings.baselines, base.tune, base.train.final_episodes,
                        base.train.final_seeds, log, run_all)
    for bar_row in bar:
        rows.append(_row(bar_row.label, bar_row.result.episode_returns,
                         "mean", base, trained=False,
                         fills={**bar_row.result.policies, **bar_row.pair},
                         metrics=_mean_metrics([bar_row.result.metrics])))
    notes = [gap_note(rows, bar, scored_on(bar[0].result))] if bar else []
    notes.append(significance_note(rows, teachers))
    first = runs[0]  # the first variant's first seed plays the pictured episode
    team = evaluate_team(load_config(first[2] / RUN_CONFIG_FILE), first[2], 1, 1)
    picture = draw_comparison(base, (f"{first[0].name}, seed {first[1]}", team), bar, terms,
                              out / PICTURE)
    write_table(rows, out, "\n\n".join(filter(None, [*notes, tuning_note(bar), picture])))
    plot_curves(curves, bar, out / "learning_curves.png")
    return out


def gap_note(rows: list[dict], bar: list[BarRow], scored: str) -> str:
    """Where each learner stands between the best causal pair and the hindsight plan:
    the share of that gap it closes, per training seed, as the table's interval."""
    best = best_row(bar)
    planned = next((row for row in bar if row.kind == HINDSIGHT), None)
    if best is None or planned is None:
        return ""
    theirs = best.result.team_reward["mean"]
    room = planned.result.team_reward["mean"] - theirs
    lines = [f"Scored on {scored}. The best causal pair, tuned: {best.label}, "
             f"{theirs:.4g}; the hindsight plan (not a policy): "
             f"{planned.result.team_reward['mean']:.4g}."]
    for row in rows:
        if not row["over"].endswith("training seeds") or room <= 0:
            continue
        shares = interval((np.array(row["scores"]) - theirs) / room, row["statistic"])
        lines.append(f"{row['name']} closes {shares['value']:.0%} [{shares['low']:.0%}, "
                     f"{shares['high']:.0%}] of the gap from that pair to the hindsight plan "
                     f"({shares['method']}, over {row['over']}).")
    return "\n".join(lines)


def teacher_score(config_path: Path, config: Config) -> tuple[str, float] | None:
    """Where every learned role of ``config`` was cloned from a teacher: the teachers'
    label and their score on the same test episodes (what learning started from)."""
    learned = [role for role, fill in config.role_fills().items() if fill == "learn"]
    teachers = config.teachers()
    if not learned or any(role not in teachers for role in learned):
        return None
    from marl_part.evaluation.evaluate import evaluate

    taught = load_config(config_path, [*(f"roles.{role}={teachers[role]}" for role in learned),
                                       "train.imitation=null"])
    result = evaluate(taught, {}, config.train.final_episodes, config.train.final_seeds)
    label = " + ".join(f"{role}={spec}" for role, spec in result.policies.items())
    return label, result.team_reward["mean"]


def significance_note(rows: list[dict], teachers: dict[str, tuple[str, float]]) -> str:
    """Whether the learners differ: Welch's t-test between every two learned rows'
    training seeds, and a one-sample t-test of each cloned learner's seeds against its
    teachers' score on the same episodes."""
    learned = [row for row in rows if row["over"].endswith("training seeds")]
    lines = []
    for index, first in enumerate(learned):
        for second in learned[index + 1:]:
            difference = np.mean(first["scores"]) - np.mean(second["scores"])
            lines.append(f"{first['name']} - {second['name']}: {difference:+.3g} (Welch's "
                         f"t-test over their seeds, "
                         f"{describe_p(welch(first['scores'], second['scores']))}).")
    for row in learned:
        if row["name"] in teachers:
            label, score = teachers[row["name"]]
            lines.append(f"{row['name']} - its teachers ({label}, {score:.4g} on the same "
                         f"episodes): {np.mean(row['scores']) - score:+.3g} (one-sample t-test "
                         f"over its seeds, {describe_p(one_sample(row['scores'], score))}).")
    return "\n".join(lines)


@dataclass(frozen=True)
class TrainedScore:
    """What one training run of an ablation reports: its score and a line to log."""

    score: float  # mean team reward of the final evaluation
    text: str
    resumed_from_env_step: int | None = None  # where it continued a checkpoint


def trained_score(base_path: Path, overrides: list[str], run_dir: Path,
                  on_evaluation: Callable[[int, float], None] | None = None) -> TrainedScore:
    """Train one run of an ablation or a sweep in ``run_dir``; if an earlier attempt (a
    killed ablation, a Ray worker that died) finished it, read it back; if one left a
    checkpoint, continue from it. ``on_evaluation`` hears each evaluation of training."""
    if (run_dir / "eval.json").is_file():
        score = read_json(run_dir / "eval.json")["team_reward"]["mean"]
        return TrainedScore(score, f"finished earlier, team reward {score:.4g}")
    if (run_dir / CHECKPOINT_FILE).is_file():
        config = resume_config(run_dir)
        summary = train_run(config, run_dir, resume=True, show_progress=False,
                            on_evaluation=on_evaluation)
    else:
        if run_dir.exists():  # killed before its first checkpoint: nothing to continue
            shutil.rmtree(run_dir)
        config = load_config(base_path, overrides)
        check_learnable(config)
        summary = train_run(config, start_run(config, run_dir), show_progress=False,
                            on_evaluation=on_evaluation)
    score = summary["eval"]["team_reward"]["mean"]
    resumed = summary["resumed_from_env_step"]
    return TrainedScore(score, (f"resumed from its checkpoint at env step {resumed:,}; "
                                if resumed is not None else "")
                        + f"{summary['env_steps']:,} steps in {summary['wall_time_s']:.0f} s, "
                          f"team reward {score:.4g}", resumed)


TABLE_METRICS = ("deadline_miss", "nodes_on")  # shown beside the team reward


def _mean_metrics(per_run: list[dict]) -> dict[str, float]:
    """The table's metrics, each the mean over runs (training seeds) of its mean over
    the evaluation episodes."""
    return {name: float(np.mean([metrics[name]["mean"] for metrics in per_run]))
            for name in TABLE_METRICS}


def _row(name: str, scores: list[float], statistic: str, config: Config, trained: bool,
         metrics: dict[str, float], fills: dict[str, str] | None = None):
    """A table row: ``scores`` are per training seed (``trained``) or per evaluation
    episode (a baseline pair, its roles' ``fills``); ``metrics``, the table's metrics."""
    if trained:
        fills = {role: (config.learner.algorithm if fill == "learn" else fill)
                 for role, fill in config.role_fills().items()}
    return {"name": name, "roles": fills, "scores": scores, "statistic": statistic,
            "over": f"{len(scores)} training seeds" if trained else f"{len(scores)} episodes",
            "estimate": interval(scores, statistic), "metrics": metrics,
            "budget_env_steps": config.train.budget_env_steps if trained else None}


def eval_curve(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, evaluation reward) read back from a run's TensorBoard events."""
    from marl_part.trainers.team_logger import EVAL_REWARD, read_scalars

    points = sorted(read_scalars(str(run_dir), EVAL_REWARD).items())
    return np.array([step for step, _ in points]), np.array([value for _, value in points])


def write_table(rows: list[dict], out: Path, note: str = "") -> None:
    """``ablation.md`` (the table, then ``note``: what the tuned rows were tuned over),
    ``ablation.csv`` and ``ablation.json``."""
    header = ["row", "partitioner", "scheduler", "team reward", "95% interval", "method",
              "over", *(name.replace("_", " ") for name in TABLE_METRICS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        e = row["estimate"]
        lines.append(f"| {row['name']} | {row['roles'].get('partitioner', '')} | "
                     f"{row['roles'].get('scheduler', '')} | {e['value']:.4g} | "
                     f"[{e['low']:.4g}, {e['high']:.4g}] | {e['method']} | {row['over']} | "
                     + " | ".join(f"{row['metrics'][name]:.3g}" for name in TABLE_METRICS)
                     + " |")
    (out / "ablation.md").write_text("\n".join(lines + (["", note] if note else [])) + "\n")
    with open(out / "ablation.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "partitioner", "scheduler", "statistic", "value", "low", "high",
                         "method", "over", "scores", *TABLE_METRICS])
        for row in rows:
            e = row["estimate"]
            writer.writerow([row["name"], row["roles"].get("partitioner", ""),
                             row["roles"].get("scheduler", ""), row["statistic"], e["value"],
                             e["low"], e["high"], e["method"], row["over"],
                             " ".join(f"{s:.6g}" for s in row["scores"]),
                             *(row["metrics"][name] for name in TABLE_METRICS)])
    (out / "ablation.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")


def plot_curves(curves: dict, bar: list[BarRow], path: Path) -> None:
    """Evaluation reward over env steps, on the validation period where training
    evaluates: mean over seeds with a 95% band per variant; the best tuned pair and its
    defaults, scored on the same period while tuning, as horizontal lines. The y-axis
    shows the curves from their second evaluation on (an untrained start lies far
    below)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    lowest, highest = [], []
    for index, (name, runs) in enumerate(curves.items()):
        steps = runs[0][0]
        values = np.array([v[:len(steps)] for _, v in runs if len(v) >= len(steps)])
        stats = [mean_ci95(values[:, i]) for i in range(values.shape[1])]
        mean = np.array([s["mean"] for s in stats])
        half = np.array([s["ci95"] for s in stats])
        ax.plot(steps, mean, label=name, color=f"C{index}")
        ax.fill_between(steps, mean - half, mean + half, alpha=0.2, color=f"C{index}")
        lowest.append((mean - half)[1:].min(initial=mean[-1]))
        highest.append((mean + half)[1:].max(initial=mean[-1]))
    tuned = [row for row in bar if row.tuning is not None and row.tuning.tuned_score]
    best = max(tuned, key=lambda r: r.tuning.tuned_score["mean"], default=None)
    references = [] if best is None else [
        (f"{best.label} on the validation period", best.tuning.tuned_score["mean"]),
        (f"its defaults: {' + '.join(best.tuning.pair.values())}",
         best.tuning.default_score["mean"])]
    for index, (label, value) in enumerate(references):
        ax.axhline(value, ls="--", lw=1, color=f"C{len(curves) + index}", label=label)
        lowest.append(value)
        highest.append(value)
    if lowest:
        low, high = min(lowest), max(highest)
        ax.set_ylim(low - 0.1 * (high - low), high + 0.1 * (high - low))
    ax.set(xlabel="env steps", ylabel="team reward (episode return)",
           title="learning curves on the validation period (mean, 95% band over seeds)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
