"""The command line answers at once: help, and refusals that need no simulation."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from marl_part.cli import build_parser

LIMIT_S = 0.5  # wall time of the best of 3 runs (robust to a busy machine)


def best_wall_time(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    """The shortest wall time of 3 runs of ``marl-part ARGS``, and the last run."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "marl_part.cli", *args],
                                capture_output=True, text=True, timeout=60, check=False)
        times.append(time.perf_counter() - started)
    return min(times), result


@pytest.mark.parametrize("args, status, output", [
    (["--help"], 0, "marl-part train configs/partition_schedule.yaml"),
    (["train", "--help"], 0, "example:\n  marl-part train"),
    (["eval", "missing.yaml"], 2, "missing.yaml: cannot read config file"),
    (["train", "missing.yaml"], 2, "missing.yaml: cannot read config file"),
    (["tune", "--episodes", "3"], 2, "unrecognized arguments: --episodes"),
])
def test_help_and_refusals_answer_within_half_a_second(args, status, output, tmp_path):
    seconds, result = best_wall_time(*args)
    assert result.returncode == status
    assert output in result.stdout + result.stderr
    assert seconds < LIMIT_S, f"marl-part {' '.join(args)}: {seconds:.2f} s"


def test_a_bad_key_is_refused_within_half_a_second(write_config):
    path = write_config({"scenario": "partition", "cluster": {"max_nodse": 3}})
    seconds, result = best_wall_time("ablate", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"marl-part: error: {path}:3: key 'cluster.max_nodse'")
    assert seconds < LIMIT_S, f"{seconds:.2f} s"


def test_parsing_and_reading_a_config_import_neither_torch_nor_tianshou(write_config):
    path = write_config({"scenario": "partition", "cluster": {"deadline": -1.0}})
    code = ("import sys\n"
            "from marl_part.cli import build_parser, main\n"
            f"build_parser().parse_args(['train', {str(path)!r}])\n"
            f"assert main(['train', {str(path)!r}]) == 2\n"
            "print(sorted(m for m in ('torch', 'tianshou', 'matplotlib', 'pandas', 'numba')"
            " if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "key 'cluster.deadline': must be positive" in result.stderr
    assert result.stdout.strip() == "[]"


def test_every_command_explains_itself_in_plain_words_with_an_example(capsys):
    commands = build_parser()._subparsers._group_actions[0].choices
    assert len(commands) >= 8
    for name, parser in commands.items():
        text = parser.format_help()
        assert not any(markup in text for markup in ("``", ":mod:", ":func:", ":class:")), name
        assert len(parser.description.split()) >= 20, name
        example = text.split("\nexample:\n  ")[1].strip()
        assert example.startswith(f"marl-part {name} ") and "\n" not in example, name
