"""The mutable state of an object graph, captured as plain data and restored in place.

:func:`capture` walks an object's attributes recursively and records every value that
can change: numpy arrays, Python and numpy scalars, strings, lists, tuples, dicts,
numpy random generators (``Generator``, ``RandomState``, ``SeedSequence``) and the
attributes of nested objects. :func:`restore` writes such a record back into an
object graph built the same way (the same classes, e.g. a fresh simulation of the same
config), so a field someone adds to a class is captured with no code of its own.

- Code is not state: modules, classes, functions and other callables are skipped, and
  left as they are on restore.
- Data that never changes is skipped too: a class names such attributes in
  ``SNAPSHOT_STATIC`` (e.g. a world's trace and settings), and :func:`capture` takes
  objects to leave out wherever they are reached (e.g. a policy's networks).
- An object or array reached by several paths is recorded once, and restored as one
  object again (e.g. a baseline's ``world`` is the simulation's world).
- Arrays are recorded by value. Two distinct arrays that share memory (one a view of
  the other) cannot be restored as such and are refused by :func:`capture`.

The record holds only dicts (string keys), lists, ints, floats, bools, strings, None
and numpy arrays, so it can be stored without pickling code.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

import numpy as np

STATIC_ATTRIBUTE = "SNAPSHOT_STATIC"
_SCALARS = (bool, int, float, str, type(None))


class SnapshotError(RuntimeError):
    """An object graph that cannot be captured, or a record that does not fit it."""


def _is_code(value: Any) -> bool:
    return isinstance(value, types.ModuleType) or callable(value)  # callable: also classes


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class _Capture:
    def __init__(self, skip: Iterable[Any]):
        self.skip = {id(value) for value in skip}
        self.seen: dict[int, int] = {}  # id of an object or array -> its index
        self.kept: list[Any] = []  # keeps every indexed value alive while capturing
        self.array_paths: dict[int, str] = {}  # id of a captured array -> its path
        self.views: list[tuple[np.ndarray, str]] = []  # captured arrays that are views

    def _index(self, value: Any) -> dict | None:
        index = self.seen.get(id(value))
        return None if index is None else {"alias": index}

    def _remember(self, value: Any) -> None:
        self.seen[id(value)] = len(self.kept)
        self.kept.append(value)

    def value(self, value: Any, path: str) -> Any:
        """The record of ``value``, or None if it is skipped (callables)."""
        if isinstance(value, np.generic):  # before the scalars: np.float64 is a float
            return {"numpy_scalar": np.asarray(value)}
        if isinstance(value, _SCALARS):
            return {"scalar": value}
        if _is_code(value) or id(value) in self.skip:
            return None
        if (alias := self._index(value)) is not None:
            return alias
        if isinstance(value, slice):
            return {"slice": [value.start, value.stop, value.step]}
        if isinstance(value, np.dtype):
            return {"dtype": value.str}
        if isinstance(value, tuple):  # immutable: recorded by value, never aliased
            return {"tuple": [self.value(item, f"{path}[{i}]") for i, item in enumerate(value)]}
        self._remember(value)
        if isinstance(value, np.ndarray):
            return self._array(value, path)
        if isinstance(value, list):
            return {"list": [self.value(item, f"{path}[{i}]") for i, item in enumerate(value)]}
        if isinstance(value, dict):
            return {"dict": [[self.value(key, f"{path} key"), self.value(item, f"{path}[{key!r}]")]
                             for key, item in value.items()]}
        if isinstance(value, np.random.SeedSequence):
            return {"seed_sequence": {"entropy": value.entropy, "spawn_key": list(value.spawn_key),
                                      "pool_size": value.pool_size,
                                      "n_children_spawned": value.n_children_spawned}}
        if isinstance(value, np.random.Generator):
            return {"generator": self.value(value.bit_generator.state, f"{path}.state")}
        if isinstance(value, np.random.RandomState):
            return {"random_state": self.value(value.get_state(legacy=False), f"{path}.state")}
        if hasattr(value, "__dict__"):
            return self._object(value, path)
        raise SnapshotError(f"{path}: cannot capture a {type(value).__qualname__}")

    def _array(self, array: np.ndarray, path: str) -> dict:
        if array.dtype == object:
            return {"objects": [self.value(item, f"{path}[{i}]")
                                for i, item in enumerate(array.ravel().tolist())],
                    "shape": list(array.shape)}
        self.array_paths[id(array)] = path
        if isinstance(array.base, np.ndarray):
            self.views.append((array, path))
        return {"array": array.copy()}

    def check_views(self) -> None:
        """Refuse arrays that share memory with other captured arrays: restored by
        value, they would no longer see each other's writes. (A view of data outside
        the snapshot, e.g. a slice of a trace, is a copy like any other array.)"""
        for i, (view, path) in enumerate(self.views):
            root = self.array_paths.get(id(_root(view)))
            if root is not None:
                raise SnapshotError(f"{path} is a view of {root}; "
                                    "a snapshot restores arrays by value")
            for other, other_path in self.views[i + 1:]:
                if np.shares_memory(view, other):
                    raise SnapshotError(f"{path} and {other_path} share memory; "
                                        "a snapshot restores arrays by value")

    def _object(self, obj: Any, path: str) -> dict:
        static = set(getattr(obj, STATIC_ATTRIBUTE, ()))
        attributes = {}
        for name, value in vars(obj).items():
            if name in static:
                continue
            record = self.value(value, f"{path}.{name}")
            if record is not None:
                attributes[name] = record
        return {"object": attributes, "type": type(obj).__qualname__}


def capture(root: Any, skip: Iterable[Any] = ()) -> dict:
    """The record of ``root``'s state (an object, or a list or dict of them); the
    objects in ``skip`` are left out wherever they are reached."""
    walk = _Capture(skip)
    record = walk.value(root, type(root).__name__)
    walk.check_views()
    return record


class _Restore:
    def __init__(self):
        self.restored: list[Any] = []  # in the order capture indexed them

    def value(self, current: Any, record: dict, path: str) -> Any:
        """What ``current`` becomes given its ``record`` (``current`` itself for an
        object, restored in place; a new value otherwise)."""
        kind, data = next(iter(record.items()))
        if kind == "scalar":
            return data
        if kind == "alias":
            return self.restored[data]
        if kind == "numpy_scalar":
            return data[()]
        if kind == "slice":
            return slice(*data)
        if kind == "dtype":
            return np.dtype(data)
        if kind == "tuple":
            return tuple(self._items(current, data, path))
        slot = len(self.restored)
        self.restored.append(None)
        value = self._mutable(current, kind, data, record, path)
        self.restored[slot] = value
        return value

    def _items(self, current: Any, records: list, path: str) -> list:
        """Restored items of a list or tuple; a skipped item keeps the current one."""
        old = list(current) if isinstance(current, (list, tuple)) else []
        items = []
        for i, record in enumerate(records):
            previous = old[i] if i < len(old) else None
            if record is None:
                if i >= len(old):
                    raise SnapshotError(f"{path}[{i}]: no current item to keep")
                items.append(previous)
            else:
                items.append(self.value(previous, record, f"{path}[{i}]"))
        return items

    def _mutable(self, current: Any, kind: str, data: Any, record: dict, path: str) -> Any:
        if kind == "array":
            return data.copy()
        if kind == "objects":  # an object array: its items restored like a list's
            old = (current.ravel().tolist() if isinstance(current, np.ndarray)
                   and current.dtype == object else [])
            array = np.empty(len(data), dtype=object)
            for i, item in enumerate(self._items(old, data, path)):
                array[i] = item
            return array.reshape(record["shape"])
        if kind == "list":
            if not isinstance(current, list):
                current = []
            current[:] = self._items(current, data, path)
            return current
        if kind == "dict":
            old = current if isinstance(current, dict) else {}
            restored = {}
            for key_record, item in data:  # in capture's order: key, then its value
                key = self.value(None, key_record, f"{path} key")
                restored[key] = self.value(old.get(key), item, f"{path}[{key!r}]")
            if isinstance(current, dict):
                current.clear()
                current.update(restored)
                return current
            return restored
        if kind == "seed_sequence":
            return np.random.SeedSequence(data["entropy"], spawn_key=tuple(data["spawn_key"]),
                                          pool_size=data["pool_size"],
                                          n_children_spawned=data["n_children_spawned"])
        if kind == "generator":  # in place if it is there, for whoever else holds it
            state = self.value(None, data, f"{path}.state")
            same = (isinstance(current, np.random.Generator)
                    and type(current.bit_generator).__name__ == state["bit_generator"])
            generator = current if same else np.random.Generator(
                getattr(np.random, state["bit_generator"])())
            generator.bit_generator.state = state
            return generator
        if kind == "random_state":
            random_state = (current if isinstance(current, np.random.RandomState)
                            else np.random.RandomState())
            random_state.set_state(self.value(None, data, f"{path}.state"))
            return random_state
        return self._object(current, data, record["type"], path)

    def _object(self, current: Any, attributes: dict, type_name: str, path: str) -> Any:
        if type(current).__qualname__ != type_name:
            raise SnapshotError(f"{path}: holds a {type(current).__qualname__}, "
                                f"the snapshot a {type_name}")
        for name, record in attributes.items():
            value = self.value(getattr(current, name, None), record, f"{path}.{name}")
            object.__setattr__(current, name, value)  # frozen dataclasses hold state too
        return current


def restore(root: Any, record: dict) -> None:
    """Write ``record`` (from :func:`capture`) back into ``root`` and what it holds."""
    _Restore().value(root, record, type(root).__name__)
