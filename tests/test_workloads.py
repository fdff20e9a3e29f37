"""Every workload reader on real trace samples, the batch tables, and bad traces."""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DATA, WORKLOADS

from marl_part.errors import InputError
from marl_part.typed_yaml import build
from marl_part.workloads import WorkloadConfig, load_batches


def workload(spec: dict) -> WorkloadConfig:
    return build(WorkloadConfig, yaml.compose(yaml.safe_dump(spec)), "test")


def batches_of(name: str, interval: float = 1.0, **changes):
    return load_batches(workload({**WORKLOADS[name], **changes}), interval, Path("."))


def test_keys_csv_reads_flask_file_events():
    b = batches_of("keys_csv")
    trace = b.trace
    assert trace.n_tuples == 2000 and trace.n_keys == 302
    assert np.all(np.diff(trace.times) >= 0) and trace.times[0] == 1270552377
    counts = np.bincount(trace.keys)
    assert sorted(counts)[-1] == 107  # flask.py and tests/flask_tests.py, 107 events each
    assert b.n_batches == 40 and np.all(b.batch_tuples == 50)


def test_swf_reads_nasa_jobs_work_is_runtime_times_processors():
    b = batches_of("swf")
    trace = b.trace
    assert trace.n_tuples == 1001 and trace.n_keys == 30
    assert trace.work[0] == 1451 * 128 and trace.work.sum() == pytest.approx(26474745.0)
    # time batching: one batch per 600 trace seconds (1 s interval x compression 600)
    assert b.n_batches == int((trace.times[-1] - trace.times[0]) // 600) + 1
    assert b.batch_tuples.sum() == 1001


def test_arrivals_csv_reads_azure_llm_requests():
    b = batches_of("arrivals_csv")
    assert b.trace.n_tuples == 1500 and b.trace.work.sum() == 1986790
    assert b.trace.n_keys == 1500  # no key column: every request is its own key
    assert b.batch_work.sum() == pytest.approx(1986790)


def test_text_reads_one_tuple_per_word():
    b = batches_of("text")
    with gzip.open(DATA / "shakespeare_head.txt.gz", "rt") as handle:
        words = re.findall(r"[a-z]+(?:'[a-z]+)*", handle.read().lower())  # the sample is ASCII
    assert b.n_batches == len(words) // 200 and b.trace.n_tuples == len(words)
    assert [b.trace.key_names[k] for k in b.trace.keys[:50]] == words[:50]
    the = b.trace.key_names.tolist().index("the")
    assert np.sum(b.trace.keys == the) == words.count("the")
    assert b.has_content and b.batch_bytes.sum() == pytest.approx(512 * 200 * b.n_batches)


def test_chunks_csv_groups_chunks_into_regions_with_domains():
    b = batches_of("chunks_csv")
    trace = b.trace
    assert trace.content_offsets[-1] == 1460  # every chunk belongs to one region
    assert trace.chunk_bytes.sum() == 6038762 and trace.n_fingerprints == 683
    region_bytes = np.add.reduceat(trace.chunk_bytes, trace.content_offsets[:-1])
    assert np.allclose(region_bytes, trace.work)
    assert np.all(trace.keys == trace.attributes["max_fp"] % np.uint64(16))
    assert np.all(trace.attributes["min_fp"] <= trace.attributes["max_fp"])


def test_zipf_is_skewed_and_drifts():
    b = batches_of("zipf", drift_period=10.0, drift_shift=50)
    counts = np.bincount(b.trace.keys[b.trace.times < 10], minlength=500)
    top = np.sort(counts)[::-1]
    assert top[0] > 5 * np.median(counts)  # Zipf exponent 1: the hottest key dominates
    hottest_early = np.argmax(counts)
    later = np.bincount(b.trace.keys[(b.trace.times >= 10) & (b.trace.times < 20)], minlength=500)
    assert np.argmax(later) != hottest_early  # the hot set rotated


def test_batch_tables_are_consistent():
    b = batches_of("text")
    for batch in range(b.n_batches):
        rows = slice(b.key_offsets[batch], b.key_offsets[batch + 1])
        assert np.all(np.diff(b.row_work[rows]) <= 0)  # hottest first
        assert b.row_work[rows].sum() == pytest.approx(b.batch_work[batch])
        tuples = slice(b.tuple_offsets[batch], b.tuple_offsets[batch + 1])
        assert np.all(b.row_key[b.tuple_row[tuples]] == b.trace.keys[tuples])
        groups = slice(b.group_offsets[batch], b.group_offsets[batch + 1])
        assert b.group_count[groups].sum() == b.batch_tuples[batch]


def test_a_trace_is_read_once_per_process():
    config = workload(WORKLOADS["keys_csv"])
    assert load_batches(config, 1.0, Path(".")) is load_batches(config, 1.0, Path("."))


def test_large_trace_parses_as_arrays(tmp_path):
    rng = np.random.default_rng(0)
    n = 300_000
    path = tmp_path / "big.csv"
    keys = rng.zipf(1.3, n) % 5000
    path.write_text("t,k,w\n" + "\n".join(f"{i},{k},{i % 7 + 1}" for i, k in enumerate(keys)))
    start = time.perf_counter()
    b = load_batches(workload({"source": "keys_csv", "path": str(path), "time_col": "t",
                               "key_col": "k", "work_col": "w", "batch": {"tuples": 10000}}),
                     1.0, Path("."))
    elapsed = time.perf_counter() - start
    assert b.n_batches == 30 and b.trace.work.sum() == sum(i % 7 + 1 for i in range(n))
    assert elapsed < 5.0, f"300k rows took {elapsed:.1f} s"


@pytest.mark.parametrize("content, spec, message", [
    ("timestamp,key\n1,a\n", {"key_col": "user"}, "no column 'user'; the file has one of: timestamp, key"),
    ("timestamp,key\n1,a\nnoon,b\n", {}, ":3: column 'timestamp': 'noon' is not a number"),
    ("timestamp,key\n1,a\n2,b,c\n", {}, "malformed line"),
    ("timestamp,key\n2023-01-01 10:00,a\nnoon,b\n", {}, ":3: column 'timestamp': 'noon' is not a number or a date-time"),
    ("timestamp,key,w\n1,a,2\n2,b,x\n", {"work_col": "w"}, ":3: column 'w': 'x' is not a number"),
])
def test_bad_csv_traces_are_reported_with_file_and_line(tmp_path, content, spec, message):
    path = tmp_path / "trace.csv"
    path.write_text(content)
    with pytest.raises(InputError) as error:
        batches_of("keys_csv", path=str(path), **spec)
    assert message in str(error.value) and str(path) in str(error.value)


def test_missing_trace_file_is_named():
    with pytest.raises(InputError, match="trace file not found"):
        batches_of("keys_csv", path="no/such/trace.csv")


def test_bad_swf_and_fingerprints_are_reported(tmp_path):
    swf = tmp_path / "bad.swf"
    swf.write_text("; header\n1 0 -1 10 1 -1 -1 -1 -1 -1 -1 1 1 -1 -1 -1 -1\n")
    with pytest.raises(InputError, match=r"bad.swf:2: SWF lines have 18 fields.*this one has 17"):
        batches_of("swf", path=str(swf))
    chunks = tmp_path / "chunks.csv"
    chunks.write_text("snapshot,path,chunk,size,fp\n0,a,0,10,00ff\n0,a,1,10,zz12\n")
    with pytest.raises(InputError, match=r":3: column 'fp': 'zz12' is not a hex fingerprint"):
        batches_of("chunks_csv", path=str(chunks))


def test_a_rate_profile_paces_a_word_stream(tmp_path):
    # arrivals: hour 0 of each day twice as busy as hour 1, two days (folded onto a day)
    hours = [0, 0, 1, 24, 24, 25]
    (tmp_path / "arrivals.csv").write_text(
        "t\n" + "".join(f"{3600 * h + 60}\n" for h in hours))
    profile = {"path": str(tmp_path / "arrivals.csv"), "time_col": "t", "window": 3600,
               "period": 7200}  # hour 0 and hour 1 of a 2-hour cycle
    b = batches_of("text", batch={"tuples": 30, "rate_profile": profile})
    assert b.batch_tuples[:4].tolist() == [40, 20, 40, 20]  # rates 4/3 and 2/3 of 30
    assert b.batch_phase[:4].tolist() == [0.0, 0.5, 0.0, 0.5]  # hour 0 or 1 of the cycle
    assert batches_of("text").batch_phase is None  # no profile, no cycle
    smoothed = batches_of("text", batch={"tuples": 30, "rate_profile": {**profile, "smooth": 2}})
    assert np.all(smoothed.batch_tuples[:4] == 30)  # each hour averaged with its neighbour


@pytest.mark.parametrize("profile, message", [
    ({"window": 0}, "key 'batch.rate_profile.window': must be a positive number"),
    ({"period": 60}, "key 'batch.rate_profile.period': must be at least one window"),
    ({"smooth": 0}, "key 'batch.rate_profile.smooth': must be at least 1"),
])
def test_bad_rate_profiles_are_refused(profile, message, tmp_path):
    (tmp_path / "a.csv").write_text("t\n1\n2\n")
    with pytest.raises(InputError, match=re.escape(message)):
        workload({**WORKLOADS["text"],
                  "batch": {"tuples": 30, "rate_profile": {"path": str(tmp_path / "a.csv"),
                                                           "time_col": "t", **profile}}})


def test_a_rate_profile_needs_tuples_per_batch(tmp_path):
    with pytest.raises(InputError, match="paces 'tuples' per batch"):
        workload({**WORKLOADS["arrivals_csv"],
                  "batch": {"time_compression": 2, "rate_profile": {"path": "x.csv"}}})
