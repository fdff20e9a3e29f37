"""The tests that reports state: Welch's t-test against SciPy's, and the degenerate
cases a report meets (seeds that all score the same)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from marl_part.evaluation.stats import describe_p, one_sample, welch


def test_welch_matches_scipy_and_handles_a_constant_side():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 5), rng.normal(1, 2, 7)
    assert welch(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    # one side without spread: the test rests on the other's variance alone
    t = (2.5 - 1.0) / math.sqrt(0.5 / 2)
    assert welch([1.0, 1.0], [2.0, 3.0]) == pytest.approx(2 * stats.t.sf(t, 1))
    assert math.isnan(welch([1.0, 1.0], [2.0, 2.0]))
    assert describe_p(welch([1.0, 1.0], [2.0, 2.0])).startswith("no test")


def test_one_sample_against_a_fixed_score():
    scores = [-54.0, -53.0, -55.5, -54.2, -53.8]
    assert one_sample(scores, -56.0) == pytest.approx(stats.ttest_1samp(scores, -56.0).pvalue)
    assert one_sample(scores, -56.0) < 0.05 < one_sample(scores, -54.0)
    assert describe_p(0.0123) == "p = 0.012"
