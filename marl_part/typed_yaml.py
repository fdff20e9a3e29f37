"""Typed YAML: build frozen dataclasses from a YAML file, strictly.

Every field of a config dataclass is typed; this module reads the YAML node tree
(keeping line numbers) and builds the dataclass, so that an unknown key, a wrong type,
a value outside a ``Literal`` or a failed cross-field check becomes one
:class:`~marl_part.errors.InputError` naming file, line, key and the allowed values.

Supported field types: ``bool``, ``int``, ``float``, ``str``, ``Literal[...]``,
``X | None``, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``, nested dataclasses,
and unions of dataclasses told apart by a shared tag field typed ``Literal`` with one
value in each (e.g. ``source: zipf``; without the tag, the field's default member). A
dataclass may check its fields together in ``__post_init__`` by raising
:class:`FieldError`.

What a config never holds is refused where it enters: text that is not UTF-8,
characters YAML forbids (NUL), explicit tags (``!!float``), nesting past
:data:`MAX_DEPTH`, NaN and infinite numbers (a :data:`FloatOrInf` field takes
``.inf``), integers beyond +-:data:`MAX_INT` and NUL characters in strings.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml

from marl_part.errors import FieldError, InputError, one_of

MAX_DEPTH = 50  # nesting levels of a YAML file
MAX_INT = 2**53  # integers beyond +-2**53 are refused (a float there is no exact integer)
FloatOrInf = Annotated[float, "may be infinite"]  # a float field that takes .inf and -.inf


class _Where:
    """A position in the YAML tree: file, line and dotted key."""

    def __init__(self, source: str, key: str, node: yaml.Node | None):
        self.source, self.key, self.node = source, key, node

    def child(self, name: str | int, node: yaml.Node | None) -> _Where:
        key = f"{self.key}[{name}]" if isinstance(name, int) else (
            f"{self.key}.{name}" if self.key else name)
        return _Where(self.source, key, node if node is not None else self.node)

    def error(self, message: str) -> InputError:
        place = self.source
        if self.node is not None and self.node.start_mark is not None:
            place += f":{self.node.start_mark.line + 1}"
        if self.key:
            message = f"key '{self.key}': {message}"
        return InputError(message, place)


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe composer, refusing explicit tags (``!!float``, ``!foo``: a config
    holds plain values) and nesting deeper than :data:`MAX_DEPTH` (which would
    otherwise end in a RecursionError)."""

    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):
            raise yaml.composer.ComposerError(
                None, None, f"explicit tags such as {tag} are not allowed; write the plain "
                "value", event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _compose(text: str) -> yaml.Node | None:
    loader = _StrictLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def read_node(path: str | Path) -> yaml.Node:
    """Parse a YAML file into its node tree (with line numbers)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read config file: {exc.strerror}", str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as "
                         "UTF-8", f"{path}:{line}") from None
    try:
        node = _compose(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(f"not valid YAML: character {chr(exc.character)!r} is not allowed",
                         f"{path}:{line}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", place) from None
    if node is None:
        raise InputError("the file is empty", str(path))
    return node


def set_value(root: yaml.Node, assignment: str) -> None:
    """Apply a ``dotted.key=value`` override (the CLI's ``--set``) to a node tree.

    A value that is not valid YAML is taken as a string; its nodes carry no line (an
    error in it names the file and key)."""
    dotted, sep, raw = assignment.partition("=")
    if not sep or not dotted:
        raise InputError("an override is written key=value, e.g. cluster.max_nodes=8",
                         f"--set {assignment}")
    try:
        value = _compose(raw) or yaml.ScalarNode("tag:yaml.org,2002:null", "")
    except yaml.YAMLError:
        value = yaml.ScalarNode("tag:yaml.org,2002:str", raw)
    _forget_lines(value)
    node = root
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, yaml.MappingNode):
            raise InputError(f"'{'.'.join(parts[:depth])}' is not a mapping",
                             f"--set {assignment}")
        entry = next((kv for kv in node.value if kv[0].value == part), None)
        if depth == len(parts) - 1:
            if entry is None:
                node.value.append((yaml.ScalarNode("tag:yaml.org,2002:str", part), value))
            else:
                node.value[node.value.index(entry)] = (entry[0], value)
        elif entry is None:
            child = yaml.MappingNode("tag:yaml.org,2002:map", [])
            node.value.append((yaml.ScalarNode("tag:yaml.org,2002:str", part), child))
            node = child
        else:
            node = entry[1]


def _forget_lines(node: yaml.Node) -> None:
    node.start_mark = None
    children = node.value if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) else ()
    for child in children:
        for part in (child if isinstance(child, tuple) else (child,)):
            _forget_lines(part)


def line_of(root: yaml.Node, key: str) -> int | None:
    """The line of a dotted key (``workload.batch``, ``wrappers[0]``) in a node tree:
    of its deepest part that is there (None if not even the first is)."""
    node, line = root, None
    for part in filter(None, re.split(r"[.\[\]]", key)):
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if k.value == part), None)
            node = entry and entry[1]
            mark = entry and entry[0].start_mark
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            mark = node.start_mark
        else:
            break
        if node is None:
            break
        line = mark.line + 1 if mark is not None else line
    return line


def build(cls: type, node: yaml.Node, source: str, key: str = "") -> Any:
    """Build an instance of ``cls`` (usually a dataclass) from ``node``."""
    return _build(cls, node, _Where(source, key, node))


def load(cls: type, path: str | Path, overrides: typing.Iterable[str] = ()) -> Any:
    """Read ``path``, apply ``--set`` overrides and build ``cls`` from it."""
    node = read_node(path)
    for assignment in overrides:
        set_value(node, assignment)
    return build(cls, node, str(path))


def to_dict(value: Any, *, only_changed: bool = False) -> Any:
    """A dataclass tree as plain YAML-able data: the resolved config of a run, or with
    ``only_changed`` just the values that differ from their defaults (what a user would
    write, so an override of a union's tag, ``learner.algorithm=qmix``, still loads)."""
    if dataclasses.is_dataclass(value):
        return {f.name: to_dict(getattr(value, f.name), only_changed=only_changed)
                for f in dataclasses.fields(value)
                if not (only_changed and _is_default(f, getattr(value, f.name)))}
    if isinstance(value, (list, tuple)):
        return [to_dict(v, only_changed=only_changed) for v in value]
    if isinstance(value, dict):
        return {k: to_dict(v, only_changed=only_changed) for k, v in value.items()}
    return value


def _is_default(field: dataclasses.Field, value: Any) -> bool:
    if field.default is not dataclasses.MISSING:
        return value == field.default
    if field.default_factory is not dataclasses.MISSING:
        return value == field.default_factory()
    return False


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return node
    return yaml.SafeLoader("").construct_object(node)


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return one_of(get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _build(tp: Any, node: yaml.Node, where: _Where) -> Any:
    origin = get_origin(tp)
    if tp == FloatOrInf:
        return _build_plain(float, node, where, allow_inf=True)
    if origin in (typing.Union, types.UnionType):
        return _build_union(tp, node, where)
    if origin is Literal:
        value = _scalar(node)
        if not any(type(value) is type(a) and value == a for a in get_args(tp)):
            raise where.error(f"got {_show(node)}; allowed: {one_of(get_args(tp))}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, node, where)
    if origin in (list, tuple):
        if not isinstance(node, yaml.SequenceNode):
            raise where.error(f"expected a list, got {_show(node)}")
        item = get_args(tp)[0]
        values = [_build(item, n, where.child(i, n)) for i, n in enumerate(node.value)]
        return tuple(values) if origin is tuple else values
    if origin is dict:
        if not isinstance(node, yaml.MappingNode):
            raise where.error(f"expected a mapping, got {_show(node)}")
        value_type = get_args(tp)[1]
        return {str(_scalar(k)): _build(value_type, v, where.child(str(_scalar(k)), k))
                for k, v in node.value}
    return _build_plain(tp, node, where)


def _build_plain(tp: Any, node: yaml.Node, where: _Where, allow_inf: bool = False) -> Any:
    value = _scalar(node)
    if tp is Any:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    if tp is float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
            if math.isnan(value) or (math.isinf(value) and not allow_inf):
                raise where.error(f"expected a finite number, got {value}")
            return value
    elif tp is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_INT:
                raise where.error(f"{value:.6g} is out of range: integers lie within "
                                  f"+-{MAX_INT:,}")
            return value
    elif tp is str:
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()  # an unquoted YAML date is its ISO text
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            if "\0" in str(value):
                raise where.error("a NUL character is not allowed")
            return str(value)
    elif tp is bool:
        if isinstance(value, bool):
            return value
    else:
        raise TypeError(f"typed_yaml cannot build {tp!r}")
    raise where.error(f"expected {_type_name(tp)}, got {_show(node)}")


def _build_union(tp: Any, node: yaml.Node, where: _Where, default: Any = None) -> Any:
    options = [a for a in get_args(tp) if a is not type(None)]
    if type(None) in get_args(tp) and _scalar(node) is None:
        return None
    if len(options) == 1:
        return _build(options[0], node, where)
    if not all(dataclasses.is_dataclass(o) for o in options):
        raise TypeError(f"typed_yaml supports unions of dataclasses only, not {tp!r}")
    tag = _tag_field(options)
    by_tag = {get_args(typing.get_type_hints(o)[tag])[0]: o for o in options}
    if not isinstance(node, yaml.MappingNode):
        raise where.error(f"expected a mapping with '{tag}', got {_show(node)}")
    tag_node = next((v for k, v in node.value if k.value == tag), None)
    if tag_node is None and type(default) not in by_tag.values():
        raise where.error(f"'{tag}' is required; allowed: {one_of(by_tag)}")
    if tag_node is None:  # the field's default member, with some of its values changed
        return _build(type(default), node, where)
    value = _scalar(tag_node)
    if value not in by_tag:
        raise where.child(tag, tag_node).error(f"got {_show(tag_node)}; allowed: {one_of(by_tag)}")
    return _build(by_tag[value], node, where)


def _tag_field(options: list[type]) -> str:
    """The field that tells union members apart: typed ``Literal[one value]`` in each."""
    for f in dataclasses.fields(options[0]):
        if all(get_origin(typing.get_type_hints(o).get(f.name)) is Literal
               and len(get_args(typing.get_type_hints(o)[f.name])) == 1 for o in options):
            return f.name
    raise TypeError(f"no Literal tag field shared by {options}")


def _build_dataclass(cls: type, node: yaml.Node, where: _Where) -> Any:
    if _scalar(node) is None:
        node = yaml.MappingNode("tag:yaml.org,2002:map", [], start_mark=node.start_mark)
    if not isinstance(node, yaml.MappingNode):
        raise where.error(f"expected a mapping, got {_show(node)}")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values, key_nodes = {}, {}
    for key_node, value_node in node.value:
        name = str(_scalar(key_node))
        child = where.child(name, key_node)
        if name not in fields:
            raise child.error(f"unknown key; allowed: {one_of(fields)}")
        if name in values:
            raise child.error("given twice")
        if get_origin(hints[name]) in (typing.Union, types.UnionType):
            values[name] = _build_union(hints[name], value_node, child, fields[name].default)
        else:
            values[name] = _build(hints[name], value_node, child)
        key_nodes[name] = key_node
    missing = [n for n, f in fields.items() if n not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise where.error(f"missing required key(s): {', '.join(missing)}")
    try:
        return cls(**values)
    except FieldError as exc:
        raise where.child(exc.field, key_nodes.get(exc.field)).error(str(exc)) from None


def _show(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        value = _scalar(node)
        return "nothing" if value is None else repr(value)
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
