"""A comparison grid: every listed policy pair on every listed workload, one table.

A grid file (``marl-part eval --grid GRID.yaml``) lists workload entries, each a config
with optional ``--set`` overrides and the pairs to run on it; the result is a markdown
and a CSV table (mean ± 95% CI per column) and a bar plot, in a fresh run directory.
Every entry is scored on its workload's test period (``workload.periods``). An entry
with ``tune: true`` also shows each pair tuned on the validation period and, where
the scheduler is part of the task, the oracle static
(:mod:`~marl_part.evaluation.tuning`), and says what was tuned over what. A pair given
beside the grid (``--policy``, for example a trained team) is run on every entry too:
a transfer table, the team on workloads it was not trained on against the pairs there.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from marl_part import typed_yaml  # noqa: E402
from marl_part.config import Config, load_config  # noqa: E402
from marl_part.errors import FieldError  # noqa: E402
from marl_part.evaluation.capacity import max_sustainable_throughput, whole_trace_objectives  # noqa: E402
from marl_part.evaluation.evaluate import check_actors, evaluate  # noqa: E402
from marl_part.evaluation.policies import checkpoint_actors, role_overrides  # noqa: E402
from marl_part.evaluation.tuning import HINDSIGHT, BarRow, classical_bar, tuning_note, with_pair  # noqa: E402
from marl_part.progress import log_above, progress  # noqa: E402
from marl_part.sim.world import StepRecord  # noqa: E402

SPECIAL_COLUMNS = ("team_reward", "max_throughput", "makespan", "average_utilization",
                   "total_node_cost")


def _check_columns(columns: tuple[str, ...]) -> None:
    allowed = SPECIAL_COLUMNS + StepRecord.METRICS
    for column in columns:
        if column not in allowed and not column.startswith("reward_terms/"):
            raise FieldError("columns", f"unknown column '{column}'; allowed: "
                             f"{', '.join(allowed)} or reward_terms/<term>")


@dataclass(frozen=True)
class GridEntry:
    name: str  # the heading of this workload's table
    config: str  # a config file, relative to the grid file
    # role -> baseline or checkpoint (run directory); roles not named keep the config's
    pairs: tuple[dict[str, str], ...]
    set: tuple[str, ...] = ()  # overrides, as --set key=value
    columns: tuple[str, ...] | None = None  # this table's columns (default: the grid's)
    max_throughput: bool = False  # also bisect the maximum sustainable throughput
    whole_trace: bool = False  # also play the whole trace once (makespan, utilization)
    tune: bool = False  # also each pair tuned (the config's tune:) and the oracle static
    note: str = ""  # a sentence under the heading: what the table shows

    def __post_init__(self):
        if not self.pairs:
            raise FieldError("pairs", "list at least one policy pair")
        if self.columns is not None:
            _check_columns(self.columns)


@dataclass(frozen=True)
class Grid:
    entries: tuple[GridEntry, ...]
    title: str = "Results"  # the heading of its results page
    columns: tuple[str, ...] = ("team_reward", "imbalance", "deadline_miss", "nodes_on")
    episodes: int | None = None  # the test period's episodes, spread over it (null: all)
    seeds: int = 1  # per episode

    def __post_init__(self):
        if not self.entries:
            raise FieldError("entries", "list at least one entry")
        _check_columns(self.columns)
        if (self.episodes is not None and self.episodes < 1) or self.seeds < 1:
            raise FieldError("episodes", "episodes and seeds must be at least 1")

    def columns_of(self, entry: GridEntry) -> tuple[str, ...]:
        return entry.columns or self.columns


@dataclass
class GridRow:
    workload: str
    pair: dict[str, str]
    values: dict[str, dict[str, float]]  # column -> {"mean", "ci95"}
    kind: str = "default"  # default, GIVEN, or with tune: tuned, no knobs or oracle


GIVEN = "given"  # the kind of a row whose pair was given beside the grid (--policy)


def plan_grid(path: Path, given: dict[str, str] | None = None
              ) -> tuple[Grid, list[tuple[GridEntry, dict[str, str], Config, dict]]]:
    """The grid at ``path`` and, for each of its (entry, pair), the config and the
    checkpoint actors, all loaded (so checked) before any is run; ``given``, a pair
    (role -> baseline or checkpoint), is planned on every entry after its own pairs."""
    grid = typed_yaml.load(Grid, path)
    plan = []
    for entry in grid.entries:
        for pair in entry.pairs + ((given,) if given else ()):
            config = load_config(Path(path).parent / entry.config,
                                 role_overrides(pair) + list(entry.set))
            actors = checkpoint_actors(config, pair)
            if actors:
                check_actors(config, actors)
            plan.append((entry, pair, config, actors))
    return grid, plan


def evaluate_entry(grid: Grid, entry: GridEntry, planned: list[tuple], config_path: Path,
                   log, given: dict[str, str] | None = None) -> list[tuple]:
    """(row, its config, its learned actors) of every ``planned`` (pair, config, actors)
    of an entry, evaluated; with ``tune``, each of the entry's pairs at its defaults and
    tuned, and the oracle static, from the entry's config. The ``given`` pair's row is
    last, of kind GIVEN."""
    rows = []
    if entry.tune:
        base = load_config(config_path, list(entry.set))
        rows = [(row, None if row.kind == HINDSIGHT else with_pair(base, row.pair), {})
                for row in classical_bar(base, entry.pairs, base.tune, grid.episodes,
                                         grid.seeds, lambda text: log(f"  {entry.name}:{text}"))]
    for pair, config, actors in planned:
        if pair is given or not entry.tune:
            result = evaluate(config, actors, grid.episodes, grid.seeds,
                              {**config.role_fills(), **pair})
            rows.append((BarRow(GIVEN if pair is given else "default", pair, result),
                         config, actors))
    return rows


def run_grid(path: Path, out_dir: Path, log=log_above,
             given: dict[str, str] | None = None) -> list[GridRow]:
    """Run every pair of every entry of the grid at ``path``, and the ``given`` pair on
    each; write results in ``out_dir``."""
    grid, plan = plan_grid(path, given)
    rows, notes = [], {}
    with progress("grid", len(grid.entries), "workloads") as shown:
        for entry in grid.entries:
            planned = [(pair, config, actors) for e, pair, config, actors in plan if e is entry]
            entry_results = evaluate_entry(grid, entry, planned,
                                           Path(path).parent / entry.config, log, given)
            if entry.tune:
                notes[entry.name] = tuning_note([row for row, _, _ in entry_results])
            for bar_row, config, actors in entry_results:
                result = bar_row.result
                data = bar_row.to_json()
                values = {"team_reward": result.team_reward, **result.metrics,
                          **{f"reward_terms/{k}": v for k, v in result.reward_terms.items()}}
                if config is not None:  # the hindsight plan is no policy to replay otherwise
                    values.update(capacity_figures(entry, grid, config, actors, data))
                label = "+".join(f"{r}={p}" for r, p in result.policies.items())
                slug = re.sub(r"[^A-Za-z0-9._=+-]+", "_",
                              f"{entry.name}--{label}--{bar_row.kind}")
                (out_dir / f"{slug}.json").write_text(json.dumps(data, indent=2))
                rows.append(GridRow(entry.name, {**result.policies, **bar_row.pair}, values,
                                    bar_row.kind))
                log(f"  {entry.name}: {bar_row.label}: team reward "
                    f"{result.team_reward['mean']:.4g}")
            shown.update()
    write_tables(grid, rows, out_dir, notes)
    plot_grid(grid, rows, out_dir / "grid.png")
    return rows


def capacity_figures(entry: GridEntry, grid: Grid, config: Config, actors: dict,
                     data: dict) -> dict:
    """The entry's capacity columns of a policy pair (also recorded in ``data``)."""
    values = {}
    if entry.max_throughput:
        data["max_throughput"] = max_sustainable_throughput(config, actors, grid.episodes)
        values["max_throughput"] = data["max_throughput"]["tuples_per_second"]
    if entry.whole_trace:
        data["whole_trace"] = whole_trace_objectives(config, actors, grid.seeds)
        values.update(makespan=data["whole_trace"]["makespan"],
                      average_utilization=data["whole_trace"]["average_utilization"],
                      total_node_cost=data["whole_trace"]["node_cost"])
    return values


def _cell(values: dict, column: str) -> str:
    """``mean ± ci95`` of a column, or a dash where it was not measured."""
    if column not in values:
        return "–"
    stat = values[column]
    if not np.isfinite(stat["ci95"]):  # one sample: no interval
        return f"{stat['mean']:.4g}"
    ci = stat["ci95"] if stat["ci95"] > 1e-9 * max(1.0, abs(stat["mean"])) else 0.0
    return f"{stat['mean']:.4g} ± {ci:.2g}"


def markdown_table(grid: Grid, rows: list[GridRow], notes: dict[str, str] | None = None) -> str:
    """One table per grid entry, under its name; where not every row is a default pair,
    the rows say what they are (default, given, tuned, no knobs, oracle), and a tuned
    entry's note says what was tuned over what."""
    parts = []
    for entry in grid.entries:
        columns = grid.columns_of(entry)
        entry_rows = [r for r in rows if r.workload == entry.name]
        kinds = any(r.kind != "default" for r in entry_rows)
        header = ["partitioner", "scheduler", *columns] + (["row"] if kinds else [])
        lines = [f"### {entry.name}", ""] + ([entry.note, ""] if entry.note else [])
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in entry_rows:
            cells = [row.pair.get("partitioner", ""), row.pair.get("scheduler", "")]
            cells += [_cell(row.values, c) for c in columns] + ([row.kind] if kinds else [])
            lines.append("| " + " | ".join(cells) + " |")
        if notes and entry.name in notes:
            lines += ["", notes[entry.name]]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def write_tables(grid: Grid, rows: list[GridRow], out_dir: Path,
                 notes: dict[str, str] | None = None) -> None:
    """``grid.md`` (a table per entry) and ``grid.csv`` (one line per row and column)."""
    (out_dir / "grid.md").write_text(markdown_table(grid, rows, notes))
    with open(out_dir / "grid.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["workload", "partitioner", "scheduler", "row", "column", "mean",
                         "ci95"])
        for row in rows:
            for column, stat in row.values.items():
                writer.writerow([row.workload, row.pair.get("partitioner", ""),
                                 row.pair.get("scheduler", ""), row.kind, column, stat["mean"],
                                 stat["ci95"]])


def plot_grid(grid: Grid, rows: list[GridRow], path: Path) -> None:
    """One panel per entry: its first column, a bar per pair, with 95% CIs."""
    fig, axes = plt.subplots(len(grid.entries), 1, squeeze=False,
                             figsize=(8, 2.8 * len(grid.entries)))
    for ax, entry in zip(axes[:, 0], grid.entries):
        column = grid.columns_of(entry)[0]
        entry_rows = [r for r in rows if r.workload == entry.name]
        stats = [r.values.get(column, {"mean": np.nan, "ci95": np.nan}) for r in entry_rows]
        ax.bar(range(len(entry_rows)), [s["mean"] for s in stats],
               yerr=[s["ci95"] for s in stats], color="tab:blue")
        ax.set_xticks(range(len(entry_rows)),
                      ["/".join(r.pair.values()) + (f" ({r.kind})" if r.kind != "default" else "")
                       for r in entry_rows],
                      fontsize=7, rotation=30, ha="right")
        ax.set_title(f"{entry.name}: {column}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
