"""The chronological split: training, validation and test periods, and real arrivals
window by window, each period with its own stretch of the key stream."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import small_config

from marl_part.config import load_config
from marl_part.errors import InputError
from marl_part.evaluation.evaluate import period_episodes
from marl_part.experiments.training_run import start_run, train_only
from marl_part.sim.world import World
from marl_part.workloads import load_batches

HOUR = 3600


def write_arrivals(path: Path, counts) -> str:
    """Hourly rows ``time,count`` from 2012-01-02 00:00 UTC (a Monday)."""
    start = 1325462400
    path.write_text("time,count\n" + "".join(f"{start + HOUR * h},{c}\n"
                                              for h, c in enumerate(counts)))
    return str(path)


def keyed_stream(path: Path, n: int) -> str:
    """``n`` tuples whose keys name their position: where a batch's keys came from."""
    path.write_text("timestamp,key\n" + "".join(f"{i},{i}\n" for i in range(n)))
    return str(path)


def paced(tmp_path: Path, counts, periods=None, **batch) -> dict:
    """A 120-tuple key stream paced by ``counts`` arrivals an hour (a 4-hour cycle)."""
    workload = {"source": "keys_csv", "path": keyed_stream(tmp_path / "keys.csv", 120),
                "batch": {"tuples": 10, "length": "arrivals", **batch, "rate_profile": {
                    "path": write_arrivals(tmp_path / f"arrivals{len(counts)}.csv", counts),
                    "time_col": "time", "count_col": "count", "window": HOUR,
                    "period": 4 * HOUR, "fold": False}}}
    if periods:
        workload["periods"] = periods
    return workload


def config_of(write_config, workload, name="config.yaml", **extra):
    return load_config(write_config({**small_config("autoscale"), "workload": workload,
                                     "episode_length": 4, **extra}, name))


def batches_of(config):
    return load_batches(config.workload, config.cluster.batch_interval, Path(config.base_dir))


PATTERN = [10, 40, 20, 30]  # arrivals in the 4 hours of each cycle


def test_periods_begin_at_a_batch_or_a_date_and_tile_their_episodes(tmp_path, write_config):
    counts = PATTERN * 12  # 48 hours
    by_index = config_of(write_config, paced(tmp_path, counts, {"validation": 24, "test": 36}))
    by_date = config_of(write_config, paced(tmp_path, counts, {"validation": "2012-01-03",
                                                                "test": "2012-01-03 12:00"}),
                        "dates.yaml")
    for config in (by_index, by_date):
        periods = batches_of(config).periods
        assert (periods.train, periods.validation, periods.test) == ((0, 24), (24, 36), (36, 48))
    assert "test [36, 48) 2012-01-03 12:00 to 2012-01-03 23:00" in \
        batches_of(by_date).periods.describe(batches_of(by_date).batch_time)
    tests = period_episodes(by_index, "test", None, 2)
    assert tests.starts.tolist() == [36, 40, 44] * 2  # one after the other, twice (seeds)
    assert tests.count == 3 and tests.episode.tolist() == [0, 1, 2] * 2
    assert period_episodes(by_index, "validation", 2, 1).starts.tolist() == [24, 32]


def test_arrivals_pace_one_batch_an_hour_and_average_tuples_over_training(tmp_path,
                                                                           write_config):
    config = config_of(write_config, paced(tmp_path, PATTERN * 6 + [100] * 24,
                                           {"validation": 24, "test": 36}))
    batches = batches_of(config)
    assert batches.n_batches == 48
    # 10 tuples a batch on average over the training hours (mean 25 arrivals an hour)
    assert batches.batch_tuples[:8].tolist() == [4, 16, 8, 12] * 2
    assert batches.batch_tuples[24:].tolist() == [40] * 24
    assert batches.batch_phase[:5].tolist() == [0.0, 0.25, 0.5, 0.75, 0.0]
    assert batches.cycle_batches == 4


def test_each_period_reads_its_own_stretch_of_the_key_stream(tmp_path, write_config):
    counts = PATTERN * 12
    batches = batches_of(config_of(write_config, paced(tmp_path, counts,
                                                       {"validation": 24, "test": 36})))
    names = batches.trace.key_names.astype(int)

    def positions(start, end):  # the stream positions the period's batches hold
        rows = slice(batches.key_offsets[start], batches.key_offsets[end])
        return set(names[batches.row_key[rows]])

    # 120 tuples cut by the periods' batches (24, 12, 12 of 48): [0, 60), [60, 90), [90, 120)
    assert positions(0, 24) == set(range(60))  # 240 tuples: the stretch four times
    assert positions(24, 36) == set(range(60, 90))
    assert positions(36, 48) == set(range(90, 120))


def test_nothing_after_the_training_period_shapes_what_training_sees(tmp_path, write_config):
    periods = {"validation": 24, "test": 36}
    calm = batches_of(config_of(write_config, paced(tmp_path, PATTERN * 12, periods)))
    stormy = batches_of(config_of(write_config, paced(
        tmp_path, PATTERN * 6 + [500] * 12 + [1] * 12, periods), "stormy.yaml"))
    end = calm.tuple_offsets[24]
    assert np.array_equal(calm.tuple_offsets[:25], stormy.tuple_offsets[:25])
    assert np.array_equal(calm.trace.keys[:end], stormy.trace.keys[:end])
    assert np.array_equal(calm.batch_work[:24], stormy.batch_work[:24])


@pytest.mark.parametrize("periods, message", [
    ({"validation": 30, "test": 20}, "periods must begin in order"),
    ({"validation": 24, "test": 48}, "periods must begin in order"),
    ({"validation": 24, "test": 46}, "the test period holds 2 micro-batches [46, 48), fewer "
                                     "than episode_length 4"),
    ({"validation": "tomorrow", "test": 36}, "'tomorrow' is neither a batch index nor a "
                                             "date-time"),
])
def test_bad_periods_are_refused_when_the_config_loads(periods, message, tmp_path, write_config):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace(")", r"\)")):
        config_of(write_config, paced(tmp_path, PATTERN * 12, periods))


def test_a_date_needs_batches_with_times(write_config):
    workload = {**small_config("autoscale", "text")["workload"],
                "periods": {"validation": "2012-01-03", "test": 36}}
    with pytest.raises(InputError, match="micro-batches have no times; give a batch index"):
        config_of(write_config, workload)


def test_training_and_its_evaluations_never_play_a_test_batch(tmp_path, write_config,
                                                              monkeypatch):
    config = config_of(write_config, paced(tmp_path, PATTERN * 12, {"validation": 24,
                                                                    "test": 36}),
                       train={"budget_env_steps": 256, "n_envs": 4, "eval_every_env_steps": 64,
                              "eval_episodes": 2})
    config = dataclasses.replace(config, learner=dataclasses.replace(
        config.learner, rollout_env_steps=64, ppo_epochs=1))
    seen = []
    real_step = World.step

    def recording_step(world, routing, schedule):
        seen.extend((world.period, int(batch)) for batch in world.cursor)
        return real_step(world, routing, schedule)

    monkeypatch.setattr(World, "step", recording_step)
    monkeypatch.chdir(tmp_path)
    train_only(config, start_run(config), show_progress=False)
    trained = {batch for period, batch in seen if period == "train"}
    evaluated = {batch for period, batch in seen if period == "validation"}
    assert {period for period, _ in seen} == {"train", "validation"}
    assert trained <= set(range(24)) and len(trained) > 12
    assert evaluated <= set(range(24, 36))
