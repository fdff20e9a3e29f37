"""``marl-part deploy --engine flink``: jobs in Apache Flink against the simulator.

The jobs need the ``flink`` extra and Java (CI: ``.venv-flink/bin/python -m pytest -m
flink``); without them they are skipped, and the refusals are tested in any venv.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import yaml
from conftest import small_config
from test_deploy import status

from marl_part.config import load_config
from marl_part.deploy.flink import java_executable
from marl_part.deploy.windows import DEAL, KEYBY, LEAST_LOADED, replay
from marl_part.evaluation.policies import role_overrides

pytestmark = pytest.mark.flink
WINDOWS = 4


def test_a_missing_extra_is_refused(write_config, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyflink", None)  # import pyflink raises ImportError
    path = write_config(small_config())
    assert status(["deploy", str(path), "--policy", "partitioner=hash"]) == 2
    assert "pip install 'marl-part[flink]'" in capsys.readouterr().err


def test_a_missing_java_is_refused(write_config, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "pyflink", types.ModuleType("pyflink"))
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))  # no bin/java there
    path = write_config(small_config())
    assert status(["deploy", str(path), "--policy", "partitioner=hash"]) == 2
    assert "needs Java 11+" in capsys.readouterr().err


@pytest.fixture(scope="module")
def flink():
    pytest.importorskip("pyflink")
    if java_executable() is None:
        pytest.skip("no Java")
    from marl_part.deploy.flink import require_flink

    require_flink()
    from marl_part.deploy import job

    return job


ROUTINGS = {"lpt:split=2": DEAL, "pkg": LEAST_LOADED, "hash": KEYBY}


@pytest.fixture(scope="module")
def jobs(flink, tmp_path_factory):
    """Each routing's replay of a small config, and what its job measured."""
    path = tmp_path_factory.mktemp("flink") / "config.yaml"
    path.write_text(yaml.safe_dump(small_config()))
    replays = {}
    for partitioner in ROUTINGS:
        config = load_config(path, role_overrides({"partitioner": partitioner,
                                                   "scheduler": "static"}))
        replays[partitioner] = replay(config, {}, WINDOWS, partitioner)
    measured = flink.run_jobs(list(replays.values()), config.cluster.batch_interval)
    return {p: (replays[p], m) for p, m in zip(replays, measured)}


@pytest.mark.parametrize("partitioner", ROUTINGS)
def test_flink_counts_what_the_simulator_routes(jobs, partitioner):
    from marl_part.deploy.compare import Comparison

    replayed, measured = jobs[partitioner]
    assert replayed.rule == ROUTINGS[partitioner]
    comparison = Comparison(replayed, measured, 1.0, None)
    assert measured.loads.shape == (WINDOWS, 8)
    assert measured.loads.sum() == 200 * WINDOWS
    assert np.array_equal(measured.loads, comparison.simulated_loads)
    assert comparison.counts_exact()
    assert np.all(measured.done >= measured.release)
    if replayed.rule == DEAL:  # a split key's partial counts, made on two subtasks, merged
        split = [(w, k) for w in replayed.windows for k in w.table
                 if len(set(w.subtask[w.keys == k])) > 1]
        assert split
        keys = np.concatenate([w.keys for w in replayed.windows])
        assert all(measured.counts[k] == int((keys == k).sum()) for _, k in split)


def test_deploy_writes_the_page(flink, write_config, tmp_path, capsys):
    path = write_config(small_config())
    page = tmp_path / "docs" / "engine.md"
    # compared with itself only: one job (the jobs above test every routing)
    assert status(["deploy", str(path), "--policy", "partitioner=lpt:split=2", "--batches",
                   "3", "--compare", "lpt:split=2", "--no-rescale", "--page", str(page)]) == 0
    text = page.read_text()
    assert f"--batches 3 --no-rescale --page {page}" in text
    assert text.count("| `lpt:split=2` | partition_custom: its table of the window before "
                      "| 3 x 8 | 0 | 0 | yes |") == 1
    assert "## Deciding from the previous window" in text
    assert "0 cells differ" in capsys.readouterr().out
