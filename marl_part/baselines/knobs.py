"""Baseline knobs: the tunable parameters of a baseline, and how a policy names them.

A policy is written ``NAME`` or ``NAME:knob=value,knob=value`` (for example
``threshold:target=0.85,tolerance=0.05`` or ``static:nodes=6``), the same string in
``--policy``, ``roles:``, ``train.compare_with``, ``ablate.baselines``, ``tune.pairs``
and grid files. Every baseline declares its knobs (:class:`Knob`): type, allowed range,
default (the paper's, or the value its docstring derives) and the values ``marl-part
tune`` tries. A knob a spec leaves out takes its default.

Knob values reach a baseline as per-env arrays (n_envs,), so that one batched world
can run many settings at once (``marl-part tune``); a single setting is the same value
in every env.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from marl_part.errors import InputError
from marl_part.sim.settings import WorldSettings

Value = int | float


@dataclass(frozen=True)
class Derived:
    """A bound or default that depends on the config (e.g. the cluster's node count)."""

    text: str  # how the docs name it
    of: Callable[[WorldSettings], Value]


MAX_NODES = Derived("the cluster's node count", lambda s: s.cluster.max_nodes)
INITIAL_NODES = Derived("cluster.initial_nodes", lambda s: s.cluster.initial_nodes)
HOT_KEYS = Derived("partitioner.hot_keys", lambda s: s.partitioner.hot_keys)
LEAD_TIME = Derived("1 + cluster.provisioning_delay", lambda s: 1 + s.cluster.provisioning_delay)


@dataclass(frozen=True)
class Knob:
    """One tunable parameter of a baseline."""

    name: str
    kind: type  # int or float
    low: Value
    high: Value | Derived
    default: Value | Derived
    grid: tuple[Value, ...] | None  # what ``tune`` tries; None: every integer in range
    about: str  # what it sets, and where the default comes from

    def bounds(self, settings: WorldSettings | None) -> tuple[Value, Value | None]:
        """(low, high); a derived high is None without ``settings``."""
        high = self.high
        if isinstance(high, Derived):
            high = high.of(settings) if settings is not None else None
        return self.low, high

    def default_for(self, settings: WorldSettings) -> Value:
        return self.default.of(settings) if isinstance(self.default, Derived) else self.default

    def grid_for(self, settings: WorldSettings) -> tuple[Value, ...]:
        """The values ``tune`` tries in this config (within range, the default included)."""
        low, high = self.bounds(settings)
        values = (tuple(range(int(low), int(high) + 1)) if self.grid is None else self.grid)
        values = {self.kind(v) for v in values if low <= v <= high}
        return tuple(sorted(values | {self.default_for(settings)}))

    def parse(self, raw: str | Value) -> Value:
        """``raw`` (text or a number) as this knob's type (range checked by :meth:`check`)."""
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InputError(f"{self.name}={raw}: expected a number") from None
        if self.kind is int:
            if not value.is_integer():
                raise InputError(f"{self.name}={raw}: expected an integer")
            return int(value)
        return value

    def check(self, value: Value, settings: WorldSettings | None) -> None:
        low, high = self.bounds(settings)
        if value < low or (high is not None and value > high):
            shown = _show(high if high is not None else self.high)
            raise InputError(f"{self.name}={value:g} is outside [{low:g}, {shown}]")

    def describe(self) -> str:
        """One line of a baseline's docstring: name, type, range, default, grid."""
        default = self.default.text if isinstance(self.default, Derived) else f"{self.default:g}"
        grid = ("every integer in range" if self.grid is None
                else ", ".join(f"{v:g}" for v in self.grid))
        return (f"``{self.name}``: {self.kind.__name__} in [{self.low:g}, {_show(self.high)}], "
                f"default {default}; {self.about} (tuned over {grid})")


def _show(bound: Value | Derived) -> str:
    return bound.text if isinstance(bound, Derived) else f"{bound:g}"


def knob_section(knobs: tuple[Knob, ...]) -> str:
    """The docstring section that lists a baseline's knobs."""
    lines = ["", "", "Knobs (``NAME:knob=value,...``; see :mod:`marl_part.baselines.knobs`):", ""]
    lines += [f"* {knob.describe()}" for knob in knobs]
    return "\n".join(f"    {line}" if line else "" for line in lines) + "\n    "


@dataclass(frozen=True)
class PolicySpec:
    """A baseline's name and the knob values a spec sets (the others keep defaults)."""

    name: str
    knobs: Mapping[str, Value]

    def __str__(self) -> str:
        return spec_string(self.name, self.knobs)


def spec_string(name: str, knobs: Mapping[str, Value]) -> str:
    """``name:knob=value,...`` (just ``name`` without knobs); the inverse of parsing."""
    if not knobs:
        return name
    return name + ":" + ",".join(f"{k}={format_value(v)}" for k, v in knobs.items())


def format_value(value: Value) -> str:
    """A knob value as a spec writes it: an integer as is, a float in ``%g``."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``NAME:k=v,...`` -> (NAME, {k: raw v}); only the syntax is checked."""
    name, colon, rest = (part.strip() for part in spec.partition(":"))
    pairs = {}
    for item in rest.split(",") if colon else ():
        key, sep, raw = (part.strip() for part in item.partition("="))
        if not sep or not key or not raw:
            raise InputError(f"'{spec}': write knobs as {name}:knob=value,knob=value")
        if key in pairs:
            raise InputError(f"'{spec}': knob '{key}' given twice")
        pairs[key] = raw
    return name, pairs


def parse_knobs(knobs: tuple[Knob, ...], name: str, raw: Mapping[str, str | Value],
                settings: WorldSettings | None = None) -> dict[str, Value]:
    """Typed, range-checked knob values; an unknown knob lists the baseline's knobs."""
    by_name = {knob.name: knob for knob in knobs}
    values = {}
    for key, text in raw.items():
        if key not in by_name:
            allowed = ", ".join(by_name) if by_name else "none"
            raise InputError(f"'{name}' has no knob '{key}'; its knobs: {allowed}")
        values[key] = by_name[key].parse(text)
        by_name[key].check(values[key], settings)
    return values


def knob_arrays(knobs: tuple[Knob, ...], settings: WorldSettings, n_envs: int,
                given: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Every knob as a per-env array: a given scalar or (n_envs,) array, else the default."""
    unknown = set(given) - {knob.name for knob in knobs}
    if unknown:
        raise TypeError(f"unknown knob(s) {sorted(unknown)}")
    arrays = {}
    for knob in knobs:
        value = given.get(knob.name, knob.default_for(settings))
        dtype = np.int64 if knob.kind is int else np.float64
        arrays[knob.name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n_envs,)).copy()
    return arrays
