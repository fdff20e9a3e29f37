"""The package installs with a plain `pip install .`: the wheel holds every package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_wheel_contains_marl_part_scenarios_and_trainers(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("marl_part-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("marl_part/world.py", "marl_part/cli.py", "scenarios/partition_schedule.py",
                   "scenarios/dedup_route.py", "trainers/__init__.py"):
        assert module in names, module
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "marl-part = marl_part.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
