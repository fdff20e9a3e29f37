"""The packages form layers, and imports only point down (docs/architecture.md).

Each module of marl_part belongs to one layer; it may import its own layer and the
layers below it, never one above. Imports inside functions count too; imports under
``if TYPE_CHECKING:`` (types for annotations, nothing run) do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

# top to bottom; a package's modules are its layer's
LAYERS = (
    ("marl_part.cli",),
    ("marl_part.experiments",),
    ("marl_part.deploy",),
    ("marl_part.evaluation",),
    ("marl_part.config",),
    ("marl_part.trainers",),
    ("marl_part.envs",),
    ("marl_part.scenarios",),
    ("marl_part.baselines",),
    ("marl_part.sim",),
    ("marl_part.workloads",),
    ("marl_part.typed_yaml", "marl_part.errors", "marl_part.snapshot", "marl_part.progress",
     "marl_part.interrupts"),
)
FOLDERS = {"marl_part.scenarios": ROOT / "scenarios", "marl_part.trainers": ROOT / "trainers",
           "marl_part": ROOT / "marl_part"}


def modules() -> dict[str, Path]:
    """Every module of the installed package, by dotted name."""
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def layer_of(module: str) -> int | None:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def imported(path: Path, module: str, known: set[str]) -> set[str]:
    """The marl_part modules that ``path`` imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    tree = ast.parse(path.read_text())
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                 for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in names if name == "marl_part" or name.startswith("marl_part.")}


def test_every_module_has_a_layer():
    assert [m for m in modules() if m != "marl_part" and layer_of(m) is None] == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_point_down(module):
    if module == "marl_part":
        return
    found = modules()
    own = layer_of(module)
    upward = sorted(name for name in imported(found[module], module, set(found))
                    if (layer_of(name) or 0) < own)
    assert upward == [], f"{module} (layer {LAYERS[own]}) imports a higher layer: {upward}"
