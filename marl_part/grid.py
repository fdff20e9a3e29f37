"""A comparison grid: every listed policy pair on every listed workload, one table.

A grid file (``marl-part eval --grid GRID.yaml``) lists workload entries, each a config
with optional ``--set`` overrides and the pairs to run on it; the result is a markdown
and a CSV table (mean ± 95% CI per column) and a bar plot, in a fresh run directory.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from marl_part import typed_yaml  # noqa: E402
from marl_part.capacity import max_sustainable_throughput, whole_trace_objectives  # noqa: E402
from marl_part.config import load_config  # noqa: E402
from marl_part.evaluation import evaluate  # noqa: E402
from marl_part.typed_yaml import FieldError  # noqa: E402
from marl_part.world import StepRecord  # noqa: E402

SPECIAL_COLUMNS = ("team_reward", "max_throughput", "makespan", "average_utilization",
                   "total_node_cost")


@dataclass(frozen=True)
class GridEntry:
    name: str  # the row label of this workload
    config: str  # a config file, relative to the grid file
    pairs: tuple[dict[str, str], ...]  # role -> baseline; roles not named keep the config's
    set: tuple[str, ...] = ()  # overrides, as --set key=value
    max_throughput: bool = False  # also bisect the maximum sustainable throughput
    whole_trace: bool = False  # also play the whole trace once (makespan, utilization)


@dataclass(frozen=True)
class Grid:
    entries: tuple[GridEntry, ...]
    columns: tuple[str, ...] = ("team_reward", "imbalance", "deadline_miss", "nodes_on")
    episodes: int = 3
    seeds: int = 3

    def __post_init__(self):
        allowed = SPECIAL_COLUMNS + StepRecord.METRICS
        for column in self.columns:
            if column not in allowed and not column.startswith("reward_terms/"):
                raise FieldError("columns", f"unknown column '{column}'; allowed: "
                                 f"{', '.join(allowed)} or reward_terms/<term>")
        if self.episodes < 1 or self.seeds < 1:
            raise FieldError("episodes", "episodes and seeds must be at least 1")


@dataclass
class GridRow:
    workload: str
    pair: dict[str, str]
    values: dict[str, dict[str, float]]  # column -> {"mean", "ci95"}


def run_grid(path: Path, out_dir: Path, log=print) -> list[GridRow]:
    """Run every pair of every entry of the grid at ``path``; write results in ``out_dir``."""
    grid = typed_yaml.load(Grid, path)
    rows = []
    for entry in grid.entries:
        for pair in entry.pairs:
            overrides = [f"roles.{role}={name}" for role, name in pair.items()] + list(entry.set)
            config = load_config(Path(path).parent / entry.config, overrides)
            result = evaluate(config, {}, grid.episodes, grid.seeds)
            data = result.to_json()
            values = {"team_reward": result.team_reward, **result.metrics,
                      **{f"reward_terms/{k}": v for k, v in result.reward_terms.items()}}
            if entry.max_throughput:
                data["max_throughput"] = max_sustainable_throughput(config, {}, grid.episodes)
                values["max_throughput"] = {"mean": data["max_throughput"]["tuples_per_second"],
                                            "ci95": 0.0}
            if entry.whole_trace:
                data["whole_trace"] = whole_trace_objectives(config, {}, grid.seeds)
                values.update(makespan=data["whole_trace"]["makespan"],
                              average_utilization=data["whole_trace"]["average_utilization"],
                              total_node_cost=data["whole_trace"]["node_cost"])
            label = "+".join(f"{r}={p}" for r, p in result.policies.items())
            (out_dir / f"{entry.name}--{label}.json").write_text(json.dumps(data, indent=2))
            rows.append(GridRow(entry.name, result.policies, values))
            log(f"  {entry.name}: {label}: team reward {result.team_reward['mean']:.3f}")
    write_tables(grid, rows, out_dir)
    plot_grid(grid, rows, out_dir / "grid.png")
    return rows


def _cell(values: dict, column: str) -> str:
    if column not in values:
        return "–"
    stat = values[column]
    return f"{stat['mean']:.4g} ± {stat['ci95']:.2g}"


def markdown_table(grid: Grid, rows: list[GridRow]) -> str:
    header = ["workload", "partitioner", "scheduler", *grid.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.workload, row.pair.get("partitioner", ""), row.pair.get("scheduler", "")]
        cells += [_cell(row.values, c) for c in grid.columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_tables(grid: Grid, rows: list[GridRow], out_dir: Path) -> None:
    (out_dir / "grid.md").write_text(markdown_table(grid, rows))
    with open(out_dir / "grid.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["workload", "partitioner", "scheduler"]
                        + [f"{c}{s}" for c in grid.columns for s in ("", "_ci95")])
        for row in rows:
            stats = [row.values.get(c, {"mean": float("nan"), "ci95": float("nan")})
                     for c in grid.columns]
            writer.writerow([row.workload, row.pair.get("partitioner", ""),
                             row.pair.get("scheduler", "")]
                            + [x for s in stats for x in (s["mean"], s["ci95"])])


def plot_grid(grid: Grid, rows: list[GridRow], path: Path) -> None:
    """One panel per column: a bar per pair, grouped by workload, with 95% CIs."""
    workloads = list(dict.fromkeys(r.workload for r in rows))
    fig, axes = plt.subplots(len(grid.columns), 1, figsize=(max(6, 1.2 * len(rows)),
                                                            2.6 * len(grid.columns)),
                             squeeze=False)
    for ax, column in zip(axes[:, 0], grid.columns):
        x, labels = 0, []
        for workload in workloads:
            for row in (r for r in rows if r.workload == workload):
                stat = row.values.get(column, {"mean": np.nan, "ci95": 0.0})
                ax.bar(x, stat["mean"], yerr=stat["ci95"], color=f"C{workloads.index(workload)}")
                labels.append(f"{workload}\n" + "/".join(row.pair.values()))
                x += 1
            x += 0.5
        ax.set_title(column, fontsize=9)
        positions = [i + 0.5 * workloads.index(r.workload) for i, r in enumerate(rows)]
        ax.set_xticks(positions, labels, fontsize=6, rotation=60, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


