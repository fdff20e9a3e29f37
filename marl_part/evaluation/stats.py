"""Summary statistics for reports: mean with a 95% confidence interval, the IQM, and
the t-tests that say whether two sets of training seeds (or seeds and a fixed score)
differ."""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_ci95(samples) -> dict[str, float]:
    """Mean and the half-width of its 95% Student-t confidence interval (NaN, no
    interval, for one sample)."""
    x = np.asarray(samples, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "ci95": float("nan")}
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return {"mean": mean, "ci95": float(half)}


def iqm(samples) -> float:
    """Interquartile mean: the mean of the middle 50% (Agarwal et al., NeurIPS 2021)."""
    return float(stats.trim_mean(np.asarray(samples, dtype=np.float64), 0.25))


METHODS = {"mean": "mean, Student-t 95% interval", "iqm": "IQM, percentile bootstrap 95% interval"}


def interval(samples, statistic: str = "mean", resamples: int = 2000, seed: int = 0) -> dict:
    """A point estimate with its 95% interval and the method's name (:data:`METHODS`):
    ``mean`` with a Student-t interval, or ``iqm`` with a percentile bootstrap over the
    samples (as rliable does per task; ``ablate`` asks for 10 samples at least)."""
    x = np.asarray(samples, dtype=np.float64)
    if statistic == "mean":
        point = mean_ci95(x)
        return {"value": point["mean"], "low": point["mean"] - point["ci95"],
                "high": point["mean"] + point["ci95"], "method": METHODS[statistic]}
    rng = np.random.default_rng(seed)
    draws = x[rng.integers(0, len(x), size=(resamples, len(x)))]
    boot = stats.trim_mean(draws, 0.25, axis=1)
    return {"value": iqm(x), "low": float(np.percentile(boot, 2.5)),
            "high": float(np.percentile(boot, 97.5)), "method": METHODS[statistic]}


def welch(a, b) -> float:
    """Two-sided p-value of Welch's t-test that ``a`` and ``b`` (e.g. the scores of two
    variants' training seeds) have the same mean, without assuming equal variances
    (Welch, Biometrika 1947; Satterthwaite's degrees of freedom); NaN where neither
    varies."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return float("nan")
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), df))


def one_sample(a, value: float) -> float:
    """Two-sided p-value of Student's t-test that the mean of ``a`` is ``value`` (a
    deterministic policy's score on the same episodes); NaN where ``a`` does not vary."""
    a = np.asarray(a, float)
    return float("nan") if np.ptp(a) == 0 else float(stats.ttest_1samp(a, value).pvalue)


def describe_p(p: float) -> str:
    """A p-value as a report states it."""
    return "no test: the seeds' scores do not vary" if np.isnan(p) else f"p = {p:.2g}"
