"""The PyFlink job: a replay routed as the partitioner says, counted word by word.

    ticks (Flink's datagen source, one a second)
      -> emit (tick j releases window j - WARM_UP: its tuples in arrival order, then
         one end marker per subtask)
      -> route (partition_custom by the router's table of the window; or Flink's keyBy)
      -> count (P subtasks: per-key counts in operator state, the configured work per
         tuple, a report per window: tuples, busy time, when it finished)
      -> merge (keyed by word: a split key's partial counts summed)

Only the routing differs between partitioners. One batch interval of the simulator is
one wall second. A tuple's work is emulated: the count subtask owes ``work x
rate_scale / speed`` simulated seconds per tuple (its slot's speed in the simulator)
from its first tuple on, and sleeps at the window's end marker until they are done:
P subtasks work side by side on a 2-core machine, each waking once a window. Emit and
the router run as one subtask, in arrival order, as the simulator's router does. The
source's clock is Java's: a Python function that slept to pace the stream would hold
back its output.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from pyflink.common import Types
from pyflink.datastream.functions import (
    FlatMapFunction,
    KeyedProcessFunction,
    Partitioner,
    ProcessFunction,
)
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import get_field_value

from marl_part.deploy.engine import MAX_PARALLELISM, flink_subtask
from marl_part.deploy.flink import local_environment, quiet_pyflink
from marl_part.deploy.windows import KEYBY, LEAST_LOADED, Replay

PARTIAL, REPORT, MERGED = 0, 1, 2
# (kind, window, key, count, subtask, busy seconds, first tuple's release, done)
OUT = Types.TUPLE([Types.INT(), Types.INT(), Types.LONG(), Types.LONG(), Types.INT(),
                   Types.DOUBLE(), Types.DOUBLE(), Types.DOUBLE()])
WARM_UP = 3  # ticks (seconds) from the warm-up markers to the first window
RECORD = Types.TUPLE([Types.INT(), Types.LONG(), Types.DOUBLE(), Types.DOUBLE()])


@dataclass
class Measured:
    """What the job counted, per window and subtask (times in wall seconds)."""

    loads: np.ndarray  # (W, P) tuples
    busy: np.ndarray  # (W, P) seconds: the emulated work and the time in the count function
    release: np.ndarray  # (W,) when the window's first tuple left the pacer
    done: np.ndarray  # (W,) when its last subtask had counted it
    counts: dict[int, int]  # key -> count, merged over subtasks and windows
    seconds: float  # the job, submission to end

    def latency(self, interval: float) -> np.ndarray:
        """(W,) seconds from a window's release to its end, in simulated time."""
        return (self.done - self.release) * interval


class Emit(FlatMapFunction):
    """Tick j (one a second) releases window j - WARM_UP: its tuples, stamped, then one
    end marker per subtask; tick 0 releases the warm-up window -1's markers only, which
    start every subtask's Python functions before the first window."""

    def __init__(self, windows: list[tuple[np.ndarray, np.ndarray]], markers: list[int]):
        self.windows, self.markers = windows, markers

    def flat_map(self, tick):
        window = tick[0] - WARM_UP
        if window < -1 or window >= len(self.windows):
            return
        now = time.time()
        if window >= 0:
            keys, work = self.windows[window]
            for key, units in zip(keys.tolist(), work.tolist()):
                yield window, key, units, now
        for marker in self.markers:
            yield window, marker, 0.0, now


class Router(Partitioner):
    """The partitioner's table of each window: a key's tuples dealt round-robin over its
    subtasks from the window's start, or (PKG) each to the less loaded of its two by
    the work sent in the window. An end marker (key -1 - p) goes to subtask p."""

    def __init__(self, tables: list[dict[int, tuple[int, ...]]], rule: str):
        self.tables, self.rule, self.window = tables, rule, -1

    def partition(self, record, n: int) -> int:
        window, key, work, _ = record
        if key < 0:
            return -1 - key
        if window != self.window:
            self.window, self.dealt, self.load = window, {}, [0.0] * n
        subtasks = self.tables[window][key]
        if self.rule != LEAST_LOADED:
            i = self.dealt.get(key, 0)
            self.dealt[key] = i + 1
            return subtasks[i % len(subtasks)]
        first, second = subtasks
        chosen = second if self.load[second] < self.load[first] else first
        self.load[chosen] += work
        return chosen


class _Counting:
    """Word count with per-key state in the subtask, and the window's report at its end
    marker; ``seconds_per_work[w][p]``: seconds subtask p works per work unit."""

    def __init__(self, seconds_per_work: list[list[float]]):
        self.seconds_per_work = seconds_per_work

    def open(self, context):
        self.subtask = context.get_index_of_this_subtask()
        self._next_window()

    def _next_window(self):
        self.partial, self.tuples, self.busy, self.owed = {}, 0, 0.0, 0.0
        self.first = self.started = math.inf  # the first tuple's release; when it came

    def process_element(self, record, context):
        start = time.perf_counter()
        window, key, work, released = record
        if key >= 0:
            self.partial[key] = self.partial.get(key, 0) + 1
            self.tuples += 1
            self.first = min(self.first, released)
            self.started = min(self.started, start)
            self.owed += work * self.seconds_per_work[window][self.subtask]
            self.busy += time.perf_counter() - start
            return
        if self.tuples:
            time.sleep(max(0.0, self.started + self.owed - time.perf_counter()))
        busy = self.busy + self.owed
        for word, count in self.partial.items():
            yield PARTIAL, window, word, count, self.subtask, 0.0, 0.0, 0.0
        yield REPORT, window, -1, self.tuples, self.subtask, busy, self.first, time.time()
        self._next_window()


class Count(_Counting, ProcessFunction):
    pass


class KeyedCount(_Counting, KeyedProcessFunction):
    pass


class Merge(KeyedProcessFunction):
    """Sums a key's partial counts (keyed state); emits the running total."""

    def open(self, context):
        self.total = context.get_state(ValueStateDescriptor("total", Types.LONG()))

    def process_element(self, record, context):
        total = (self.total.value() or 0) + record[3]
        self.total.update(total)
        yield MERGED, record[1], record[2], total, record[4], 0.0, 0.0, 0.0


def run_jobs(replays: list[Replay], interval: float) -> list[Measured]:
    """Each replay's job (:func:`run_job`), one after the other, in a fresh process:
    PyFlink's loopback workers leave about a dozen threads per subtask behind when a
    job ends, which slow the jobs after it; the process takes them, and its JVM, along
    when it ends."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_run_jobs, replays, interval).result()


def _run_jobs(replays: list[Replay], interval: float) -> list[Measured]:
    quiet_pyflink()
    return [run_job(replay, interval) for replay in replays]


def run_job(replay: Replay, interval: float) -> Measured:
    """Run the replay in a local Flink mini cluster, one window a second: a batch
    interval of the simulator lasts one wall second."""
    parallelism = replay.parallelism
    env = local_environment(MAX_PARALLELISM)
    markers = marker_keys(replay.rule, parallelism)
    released = ticks(env, WARM_UP + len(replay.windows)).flat_map(
        Emit([(w.keys, w.work) for w in replay.windows], markers), output_type=RECORD)
    seconds_per_work = [(replay.rate_scale / interval / np.resize(w.speed, parallelism)
                         ).tolist() for w in replay.windows]
    if replay.rule == KEYBY:
        counted = released.key_by(lambda r: r[1], key_type=Types.LONG()).process(
            KeyedCount(seconds_per_work), output_type=OUT)
    else:
        counted = released.partition_custom(
            Router([w.table for w in replay.windows], replay.rule), lambda r: r).process(
            Count(seconds_per_work), output_type=OUT)
    counted = counted.set_parallelism(parallelism)
    merged = counted.filter(lambda r: r[0] == PARTIAL).set_parallelism(parallelism).key_by(
        lambda r: r[2], key_type=Types.LONG()).process(Merge(), output_type=OUT)
    reports = counted.filter(lambda r: r[0] == REPORT).set_parallelism(parallelism)
    out = merged.union(reports)
    _fix_partition_count(env, out)
    start = time.time()
    with out.execute_and_collect(f"marl-part deploy {replay.partitioner}") as results:
        rows = [tuple(r) for r in results]
    return _measured(rows, len(replay.windows), parallelism, time.time() - start)


def ticks(env, count: int):
    """A stream of ``count`` ticks 0, 1, ..., one a second: Flink's datagen source,
    whose rate limiter releases a second's rows at once (so one row a second)."""
    from pyflink.table import StreamTableEnvironment

    tables = StreamTableEnvironment.create(env)
    tables.execute_sql(
        "CREATE TEMPORARY TABLE ticks (tick BIGINT) WITH ('connector' = 'datagen', "
        "'rows-per-second' = '1', 'fields.tick.kind' = 'sequence', "
        f"'fields.tick.start' = '0', 'fields.tick.end' = '{count - 1}')")
    return tables.to_data_stream(tables.from_path("ticks"))


def marker_keys(rule: str, parallelism: int) -> list[int]:
    """One end-marker key per subtask that the job's routing sends there: -1 - p through
    the router; under keyBy, negative keys whose key group lands on p."""
    if rule != KEYBY:
        return [-1 - p for p in range(parallelism)]
    candidates = -np.arange(1, 64 * parallelism * MAX_PARALLELISM)
    subtask = flink_subtask(candidates, parallelism)
    return [int(candidates[np.argmax(subtask == p)]) for p in range(parallelism)]


def _fix_partition_count(env, out) -> None:
    """``execute_and_collect`` skips telling the custom partitioner its partition count
    (``execute`` does it): set it on the environment's transformations, chained as the
    job will run them."""
    util = get_gateway().jvm.org.apache.flink.python.util.PythonConfigUtil
    util.configPythonOperator(env._j_stream_execution_environment)
    out._apply_chaining_optimization()
    util.setPartitionCustomOperatorNumPartitions(
        get_field_value(env._j_stream_execution_environment, "transformations"))


def _measured(rows: list[tuple], windows: int, parallelism: int, seconds: float) -> Measured:
    loads = np.zeros((windows, parallelism), dtype=np.int64)
    busy = np.zeros((windows, parallelism))
    first = np.full((windows, parallelism), np.inf)
    done = np.zeros((windows, parallelism))
    counts: dict[int, int] = {}
    for kind, window, key, count, subtask, seconds_busy, released, finished in rows:
        if kind == MERGED:
            counts[key] = max(counts.get(key, 0), count)
        elif window >= 0:  # not the warm-up's
            loads[window, subtask] = count
            busy[window, subtask] = seconds_busy
            first[window, subtask] = released
            done[window, subtask] = finished
    return Measured(loads, busy, first.min(axis=1), done.max(axis=1), counts, seconds)
