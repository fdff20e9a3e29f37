"""The comparison table that ``tune`` and ``train`` write: learned teams (if any) beside
every baseline pair at its defaults, tuned, and the oracle static, each on the same
episodes of the test period, with a note saying what was tuned over what."""

from __future__ import annotations

import numpy as np

from marl_part.evaluation.evaluate import EvalResult
from marl_part.evaluation.tuning import BarRow, best_row, tuning_note

COMPARISON_METRICS = ("imbalance", "deadline_miss", "nodes_on", "dedup_ratio")


def comparison_rows(learned: list[tuple[str, EvalResult]], bar: list[BarRow]) -> list[dict]:
    """One dict per row: policy label, kind (learned, default, tuned, no knobs, oracle),
    team reward and :data:`COMPARISON_METRICS` (mean and 95% interval over episodes)."""
    entries = [(label, "learned", result) for label, result in learned]
    entries += [(" + ".join(f"{r}={s}" for r, s in {**row.result.policies, **row.pair}.items()),
                 row.kind, row.result) for row in bar]
    return [{"policy": label, "kind": kind, "team_reward": result.team_reward,
             **{m: result.metrics[m] for m in COMPARISON_METRICS}}
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
    note = tuning_note(bar)
    return "\n".join(lines + (["", note] if note else [])) + "\n"


def scored_on(result: EvalResult) -> str:
    """Which episodes a result was scored on, in words (with the split's periods)."""
    seeds = f", each under {result.seeds} seeds" if result.seeds > 1 else ""
    return (f"the {result.episodes} non-overlapping episodes of the {result.period} "
            f"period{seeds} ({result.periods})")


def _cell(stat: dict) -> str:
    if not np.isfinite(stat["ci95"]):  # one episode: no interval
        return f"{stat['mean']:.4g}"
    return f"{stat['mean']:.4g} ± {stat['ci95']:.2g}"
