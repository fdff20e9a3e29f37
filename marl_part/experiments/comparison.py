"""The comparison table that ``tune`` and ``train`` write: learned teams (if any) beside
every baseline pair at its defaults, tuned, and the oracle static, each on the same
episodes of the test period, with a note saying what was tuned over what; and the
picture that ``train`` and ``ablate`` draw of one of those episodes
(:func:`draw_comparison`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marl_part.config import EnvConfig
from marl_part.evaluation.evaluate import EvalResult, period_episodes
from marl_part.evaluation.plots import nodes_worth, plot_comparison
from marl_part.evaluation.stats import mean_ci95
from marl_part.evaluation.tuning import HINDSIGHT, BarRow, best_row, tuning_note
from marl_part.workloads import load_batches

PICTURE = "comparison.png"

COMPARISON_METRICS = ("imbalance", "deadline_miss", "nodes_on", "dedup_ratio")


def comparison_rows(learned: list[tuple[str, EvalResult]], bar: list[BarRow]) -> list[dict]:
    """One dict per row: policy label, kind (learned, default, tuned, no knobs, oracle,
    hindsight), team reward and :data:`COMPARISON_METRICS` (mean and 95% interval over
    episodes), and the result itself."""
    entries = [(label, "learned", result) for label, result in learned]
    entries += [(" + ".join(f"{r}={s}" for r, s in {**row.result.policies, **row.pair}.items()),
                 row.kind, row.result) for row in bar]
    return [{"policy": label, "kind": kind, "team_reward": result.team_reward,
             **{m: result.metrics[m] for m in COMPARISON_METRICS}, "result": result}
            for label, kind, result in entries]


def comparison_markdown(rows: list[dict], bar: list[BarRow], scored: EvalResult) -> str:
    """The table, which pair is the best classical one, and the tuning note; every row
    was scored on the episodes ``scored`` names."""
    header = ["policy", "row", "team_reward", *COMPARISON_METRICS]
    lines = [f"Scored on {scored_on(scored)}: mean ± 95% Student-t interval over those "
             "episodes.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join([row["policy"], row["kind"]] + [
            _cell(row[c]) for c in header[2:]]) + " |")
    best = best_row(bar)
    if best is not None:
        lines += ["", f"Best classical pair (tuned): {best.label}, team reward "
                      f"{_cell(best.result.team_reward)}."]
    gaps = [(row["policy"], gap) for row in rows if row["kind"] == "learned"
            and (gap := gap_to_hindsight(row["result"], bar)) is not None]
    lines += [f"{label}: {describe_gap(gap)}" for label, gap in gaps]
    note = tuning_note(bar)
    return "\n".join(lines + (["", note] if note else [])) + "\n"


@dataclass
class Gap:
    """A learned team against the best causal bar and the hindsight plan, on the same
    episodes."""

    bar: BarRow
    hindsight: BarRow
    paired: dict[str, float]  # learned - bar, per episode: mean and 95% interval
    share: float | None  # of the gap from the bar to the hindsight plan, closed
    bound: dict[str, float]  # no policy pair scores more (mean and interval)


def gap_to_hindsight(learned: EvalResult, bar: list[BarRow]) -> Gap | None:
    """How far ``learned`` got from the best causal pair toward the hindsight plan
    (None without both rows)."""
    best = best_row(bar)
    planned = next((row for row in bar if row.kind == HINDSIGHT), None)
    if best is None or planned is None:
        return None
    theirs = best.result.team_reward["mean"]
    room = planned.result.team_reward["mean"] - theirs
    paired = np.subtract(learned.episode_returns, best.result.episode_returns)
    return Gap(best, planned, mean_ci95(paired),
               (learned.team_reward["mean"] - theirs) / room if room > 0 else None,
               mean_ci95(planned.hindsight.bound))


def describe_gap(gap: Gap) -> str:
    """One sentence: the paired difference to the bar and the share of the gap closed."""
    share = ("no gap to close: the hindsight plan does not beat the bar" if gap.share is None
             else f"it closes {gap.share:.0%} of the gap from the bar to the hindsight plan "
                  f"({_cell(gap.hindsight.result.team_reward)})")
    return (f"{gap.paired['mean']:+.4g} ± {gap.paired['ci95']:.2g} per episode against the "
            f"best causal pair (paired over the same episodes); {share}; no policy pair "
            f"scores more than {_cell(gap.bound)}.")


def scored_on(result: EvalResult) -> str:
    """Which episodes a result was scored on, in words (with the split's periods)."""
    seeds = f", each under {result.seeds} seeds" if result.seeds > 1 else ""
    return (f"the {result.episodes} non-overlapping episodes of the {result.period} "
            f"period{seeds} ({result.periods})")


def _cell(stat: dict) -> str:
    if not np.isfinite(stat["ci95"]):  # one episode: no interval
        return f"{stat['mean']:.4g}"
    return f"{stat['mean']:.4g} ± {stat['ci95']:.2g}"


def draw_comparison(config: EnvConfig, learned: tuple[str, EvalResult], bar: list[BarRow],
                    terms: list[tuple[str, dict[str, float]]], path: Path) -> str:
    """The picture of a comparison (:func:`~marl_part.evaluation.plots.plot_comparison`)
    at ``path``: the first episode of the test period, as the learned team (``(label,
    result)``), the best classical pair of ``bar`` and its hindsight plan played it, and
    the reward terms of every row of ``terms`` (learned rows, then :func:`bar_terms`);
    the markdown line that shows it."""
    shown = [row for row in (best_row(bar), next((r for r in bar if r.kind == HINDSIGHT),
                                                 None)) if row is not None]
    start = period_episodes(config, "test", 1, 1).starts[0]
    batches = load_batches(config.workload, config.cluster.batch_interval,
                           Path(config.base_dir))
    work = batches.batch_work[start:start + config.episode_length] * config.rate_scale
    plot_comparison(nodes_worth(work, config.cluster),
                    [learned, *((short_label(row), row.result) for row in shown)],
                    terms + bar_terms(bar),
                    f"{config.name}: the first episode of the test period, played by each",
                    path)
    return (f"![The load and the nodes each policy held over the first episode of the test "
            f"period, deadline misses marked; below, every row's reward terms]({path.name})")


def mean_terms(result: EvalResult) -> dict[str, float]:
    """A result's reward terms: each its mean episode return."""
    return {term: stat["mean"] for term, stat in result.reward_terms.items()}


def bar_terms(bar: list[BarRow]) -> list[tuple[str, dict[str, float]]]:
    """Every row of ``bar``, labelled short, with its reward terms."""
    return [(short_label(row), mean_terms(row.result)) for row in bar]


def short_label(row: BarRow) -> str:
    """``pkg + threshold (tuned)``: the row's baselines without their knobs, its kind."""
    pair = {**row.result.policies, **row.pair}
    return f"{' + '.join(spec.split(':')[0] for spec in pair.values())} ({row.kind})"
