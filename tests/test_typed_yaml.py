"""The strict YAML loader: every mistake is one clear message with file, line and key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from marl_part import typed_yaml
from marl_part.errors import FieldError, InputError


@dataclass(frozen=True)
class Inner:
    speed: float = 1.0
    mode: Literal["fast", "slow"] = "fast"


@dataclass(frozen=True)
class Cat:
    kind: Literal["cat"]
    lives: int = 9


@dataclass(frozen=True)
class Dog:
    kind: Literal["dog"]
    bark: bool = True


@dataclass(frozen=True)
class Outer:
    count: int
    inner: Inner = Inner()
    names: tuple[str, ...] = ()
    weights: dict[str, float] | None = None
    pet: Cat | Dog | None = None

    def __post_init__(self):
        if self.count < 0:
            raise FieldError("count", "must not be negative")


def load(tmp_path, text, overrides=()):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return typed_yaml.load(Outer, path, overrides)


def test_builds_nested_values(tmp_path):
    value = load(tmp_path, "count: 3\ninner: {speed: 2}\nnames: [a, b]\nweights: {x: 1e-3}\n"
                           "pet: {kind: dog, bark: false}\n")
    assert value == Outer(3, Inner(2.0), ("a", "b"), {"x": 0.001}, Dog("dog", False))


@pytest.mark.parametrize("text, line, fragment", [
    ("count: 1\ninner:\n  sped: 2\n", 3, "key 'inner.sped': unknown key; allowed: one of: speed, mode"),
    ("count: 1\ninner:\n  speed: fast\n", 3, "key 'inner.speed': expected float, got 'fast'"),
    ("count: 1\ninner:\n  mode: medium\n", 3, "allowed: one of: fast, slow"),
    ("count: 1.5\n", 1, "key 'count': expected int, got 1.5"),
    ("count: true\n", 1, "expected int, got True"),
    ("count: -1\n", 1, "key 'count': must not be negative"),
    ("inner: {}\n", 1, "missing required key(s): count"),
    ("count: 1\npet: {kind: bird}\n", 2, "key 'pet.kind': got 'bird'; allowed: one of: cat, dog"),
    ("count: 1\npet: {kind: cat, bark: true}\n", 2, "key 'pet.bark': unknown key"),
    ("count: [1\n", 2, "not valid YAML"),
])
def test_errors_name_file_line_key(tmp_path, text, line, fragment):
    with pytest.raises(InputError) as error:
        load(tmp_path, text)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'c.yaml'}:{line}:"), message
    assert fragment in message


def test_overrides_set_and_create_keys(tmp_path):
    value = load(tmp_path, "count: 1\n", ["inner.speed=4.5", "count=7", "names=[x]"])
    assert value.count == 7 and value.inner.speed == 4.5 and value.names == ("x",)
    with pytest.raises(InputError, match="unknown key"):
        load(tmp_path, "count: 1\n", ["inner.sped=4"])
    with pytest.raises(InputError, match="key=value"):
        load(tmp_path, "count: 1\n", ["inner.speed"])


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read config file"):
        typed_yaml.load(Outer, tmp_path / "absent.yaml")
