"""The package installs with a plain `pip install .`: the wheel holds every package,
with scenarios/ and trainers/ under the one name marl_part."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_wheel_installs_everything_under_marl_part(tmp_path):
    source = tmp_path / "source"  # a copy, so no stale build/ of the checkout leaks in
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(source)], check=True, capture_output=True)
    wheel = zipfile.ZipFile(next(tmp_path.glob("marl_part-*.whl")))
    names = wheel.namelist()
    for module in ("marl_part/sim/world.py", "marl_part/cli/__init__.py",
                   "marl_part/scenarios/partition_schedule.py",
                   "marl_part/scenarios/dedup_route.py", "marl_part/trainers/mappo.py",
                   "marl_part/workloads/text.py", "marl_part/baselines/choices.py",
                   "marl_part/deploy/job.py"):
        assert module in names, module
    top_level = {name.split("/")[0] for name in names if not name.startswith("marl_part-")}
    assert top_level == {"marl_part"}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "marl-part = marl_part.cli:main" in wheel.read(entry_points).decode()
