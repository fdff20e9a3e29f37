"""marl-part train / eval with checkpoints / ablate, end to end at a tiny budget."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml
from conftest import small_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from test_scenarios import CONFIGS

from marl_part import typed_yaml
from marl_part.cli import main
from marl_part.config import load_config
from marl_part.evaluation.evaluate import evaluate
from marl_part.experiments.training_run import evaluate_team, write_resolved_config

TINY_TRAIN = {"budget_env_steps": 256, "n_envs": 4, "eval_every_env_steps": 128,
              "eval_episodes": 2, "final_episodes": 2, "final_seeds": 1,
              "compare_with": [{"partitioner": "hash", "scheduler": "static"}]}


def tiny_config(**extra) -> dict:
    return {**small_config(), "learner": {"algorithm": "mappo", "rollout_env_steps": 128,
                                          "ppo_epochs": 2},
            "train": dict(TINY_TRAIN), **extra}


def only_run_dir(root):
    (run_dir,) = [p for p in (root / "runs").iterdir() if p.is_dir()]
    return run_dir


def test_train_writes_a_complete_run_and_eval_takes_its_checkpoint(tmp_path, write_config,
                                                                   monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = write_config(tiny_config())
    assert main(["train", str(config), "--no-progress"]) == 0
    run_dir = only_run_dir(tmp_path)
    assert {p.name for p in run_dir.iterdir()} >= {"config.yaml", "checkpoint.pt", "eval.json",
                                                   "comparison.md"}
    result = json.loads((run_dir / "eval.json").read_text())
    assert set(result) == {"scenario", "workload", "policies", "period", "periods", "episodes",
                           "seeds", "metrics", "reward_terms", "team_reward", "episode_returns"}
    assert result["period"] == "test" and len(result["episode_returns"]) == result["episodes"]
    assert result["policies"]["partitioner"].startswith("mappo")
    table = (run_dir / "comparison.md").read_text().splitlines()
    assert table[4].startswith("| learned mappo | learned |")
    assert table[5].startswith("| partitioner=hash + scheduler=static | default |")
    assert table[6].startswith("| partitioner=hash + scheduler=static:nodes=")
    assert "| tuned |" in table[6] and "| oracle |" in table[7]
    # the comparison picture, linked at the end of comparison.md: the first test episode
    # as the team played it in its final evaluation, which a one-episode replay repeats
    assert table[-1].startswith("![The load and the nodes each policy held over the first "
                                "episode of the test period") and table[-1].endswith(
        "](comparison.png)")
    picture = (run_dir / "comparison.png").read_bytes()
    assert picture.startswith(b"\x89PNG") and len(picture) > 30_000
    config_of_run = load_config(run_dir / "config.yaml")
    final, replay = (evaluate_team(config_of_run, run_dir, episodes, 1).rollout.metrics
                     for episodes in (2, 1))
    for name in ("nodes_on", "deadline_miss"):
        assert np.array_equal(replay[name][:, 0], final[name][:, 0])
    out = capsys.readouterr().out
    assert "against the best causal classical pair, tuned: partitioner=hash" in out
    learned, best, percent, side = re.search(
        r"learned (\S+) ± \S+ against the best causal classical pair, tuned: .* (\S+) ± \S+ "
        r"\(learned ([\d.]+)% (better|worse)\)", out).groups()
    margin = (float(learned) - float(best)) / abs(float(best)) * 100
    assert float(percent) == pytest.approx(abs(margin), abs=0.1 + abs(margin) * 1e-3)
    assert side == ("better" if margin >= 0 else "worse")
    # the hindsight plan, and the share of the gap from the bar to it that the team closes
    assert "| hindsight |" in table[8]
    rows = json.loads((run_dir / "comparison.json").read_text())
    means = {row["kind"]: row["eval"]["team_reward"]["mean"] for row in rows}
    room = means["hindsight"] - max(means["tuned"], means.get("no knobs", -np.inf))
    closed = (result["team_reward"]["mean"] - means["tuned"]) / room if room > 0 else None
    assert "the hindsight plan (knows each episode's batches; not a policy)" in out
    assert (f"it closes {closed:.0%} of the gap" if closed is not None
            else "no gap to close") in out

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/episode_reward", "eval/episode_reward", "reward_terms/balance",
            "metrics/deadline_miss", "train/cumulative_deadline_miss"} <= tags
    assert any(tag.startswith("losses/partitioner/") for tag in tags)
    assert [e.step for e in events.Scalars("eval/episode_reward")][-1] >= 256

    # the checkpoint fills a role in eval; another scenario or other spaces are refused
    assert main(["eval", str(config), "--policy", f"partitioner={run_dir}",
                 "--policy", "scheduler=static", "--episodes", "1", "--seeds", "1"]) == 0
    assert "mappo" not in capsys.readouterr().err
    other = write_config({**small_config("partition")}, "other.yaml")
    assert main(["eval", str(other), "--policy", f"partitioner={run_dir}"]) == 2
    assert "trained on scenario 'partition_schedule', not 'partition'" in capsys.readouterr().err
    assert main(["eval", str(config), "--policy", f"partitioner={run_dir}",
                 "--set", "partitioner.hot_keys=3"]) == 2
    assert "its 'partitioner' observes 70 values, this config's 67" in capsys.readouterr().err
    assert main(["eval", str(config), "--policy", f"partitioner={run_dir}",
                 "--set", "partitioner.rank_choices=3"]) == 2
    assert "its 'partitioner' has action choices [4, 4" in capsys.readouterr().err

    # beside a grid, the checkpoint runs on every entry: a transfer table
    grid = tmp_path / "transfer.yaml"
    entries = [{"name": name, "config": config.name, "set": changes,
                "pairs": [{"partitioner": "hash", "scheduler": "static"}]}
               for name, changes in (("trained on", []), ("other seed", ["seed=7"]))]
    grid.write_text(yaml.safe_dump({"title": "Transfer", "episodes": 1, "seeds": 1,
                                    "entries": entries}))
    page = tmp_path / "transfer.md"
    team = ["--policy", f"partitioner={run_dir}", "--policy", "scheduler=static"]
    assert main(["eval", "--grid", str(grid), *team, "--page", str(page)]) == 0
    text = page.read_text()
    assert text.startswith(f"# Transfer\n\nGenerated by\n\n```sh\nmarl-part eval --grid "
                           f"{grid} --policy partitioner={run_dir} --policy scheduler=static")
    for name in ("trained on", "other seed"):
        table = text.split(f"### {name}\n")[1].split("###")[0]
        rows = [line for line in table.splitlines() if line.startswith("| ")]
        assert rows[0].endswith("| row |")
        assert rows[1].startswith("| hash | static | ") and rows[1].endswith("| default |")
        assert rows[2].startswith(f"| {run_dir} | static | ") and rows[2].endswith("| given |")
    entries[1]["set"] = ["partitioner.hot_keys=3"]  # spaces the team was not trained on
    grid.write_text(yaml.safe_dump({"entries": entries}))
    runs_before = set((tmp_path / "runs").iterdir())
    assert main(["eval", "--grid", str(grid), *team]) == 2
    assert "observes 70 values, this config's 67" in capsys.readouterr().err
    assert set((tmp_path / "runs").iterdir()) == runs_before


@pytest.mark.parametrize("change, message", [
    ({"roles": {"partitioner": "hash", "scheduler": "static"}}, "no role is set to learn"),
    ({"roles": {"scheduler": "static"}, "learner": {"algorithm": "mappo_shared"}},
     "mappo_shared shares one actor"),
    ({"learner": {"algorithm": "mappo", "lrr": 0.1}}, "unknown key; allowed"),
    ({"learner": {"algorithm": "maddpg"}}, "allowed: one of: mappo, ippo, mappo_shared, qmix, idqn"),
    ({"train": {**TINY_TRAIN, "compare_with": [{"partitioner": "pkg"}]}}, "leaves scheduler to learn"),
])
def test_train_refuses_mismatches_with_exit_2(change, message, tmp_path, write_config,
                                              monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(write_config({**tiny_config(), **change}))]) == 2
    assert message in capsys.readouterr().err


def test_ablate_tables_learners_and_baselines_over_seeds(tmp_path, write_config, monkeypatch,
                                                         capsys):
    monkeypatch.chdir(tmp_path)
    ablate = {"seeds": 2, "statistic": "mean",
              "variants": [{"name": "mappo"},
                           {"name": "partitioner-alone", "set": [
                               "roles.scheduler=static",
                               "train.imitation={teacher: {partitioner: lpt}}"]}],
              "baselines": [{"partitioner": "hash", "scheduler": "static"}]}
    config = write_config(tiny_config(ablate=ablate))
    assert main(["ablate", str(config)]) == 0
    (out,) = [p for p in (tmp_path / "runs").iterdir()]
    rows = (out / "ablation.md").read_text().splitlines()
    assert rows[2].startswith("| mappo | mappo | mappo |")
    assert rows[3].startswith("| partitioner-alone | mappo | static |")
    # the baseline pair at its defaults, tuned, the oracle static size and the hindsight plan
    assert rows[4].startswith("| partitioner=hash + scheduler=static (default) | hash | static |")
    assert rows[5].startswith("| partitioner=hash + scheduler=static:nodes=")
    assert "(tuned)" in rows[5] and "(oracle)" in rows[6] and "(hindsight)" in rows[7]
    assert rows[8] == ""
    assert rows[9].startswith("Scored on the 2 non-overlapping episodes of the test period "
                              "(no held-out periods")
    assert "the hindsight plan (not a policy):" in rows[9]
    assert re.fullmatch(r"mappo - partitioner-alone: [+-][\d.e+-]+ \(Welch's t-test over "
                        r"their seeds, (p = [\d.e+-]+|no test: .*)\)\.", rows[11])
    # the cloned partitioner against its teacher, evaluated on the same episodes
    teacher = evaluate(load_config(config, ["roles.partitioner=lpt", "roles.scheduler=static"]),
                       {}, 2, 1).team_reward["mean"]
    assert rows[12].startswith(f"partitioner-alone - its teachers (partitioner=lpt + "
                               f"scheduler=static, {teacher:.4g} on the same episodes): ")
    assert "*tuned*: each pair's knobs searched on 4 episodes of the stream (no held-out" \
        in rows[14]
    cells = [[c.strip() for c in row.split("|")[1:-1]] for row in rows[2:8]]
    assert [c[5] for c in cells] == ["mean, Student-t 95% interval"] * 6
    assert [c[6] for c in cells] == ["2 training seeds"] * 2 + ["2 episodes"] * 4
    # deadline misses and nodes on: the tuned static pair holds exactly its size
    assert rows[0].endswith("| over | deadline miss | nodes on |")
    assert all(0 <= float(c[7]) <= 1 for c in cells)
    assert float(cells[3][8]) == int(re.search(r"static:nodes=(\d+)", cells[3][0]).group(1))
    # a fixed baseline is scored on the learners' final evaluation episodes (2 x 1 here)
    hash_static = json.loads((out / "ablation.json").read_text())[2]
    low, high = (float(x) for x in cells[2][4].strip("[]").split(","))
    assert float(cells[2][3]) == pytest.approx(sum(hash_static["scores"]) / 2, rel=1e-3)
    assert low <= float(cells[2][3]) <= high
    assert (out / "learning_curves.png").stat().st_size > 0
    assert (out / "comparison.png").stat().st_size > 30_000
    assert (out / "ablation.md").read_text().endswith("](comparison.png)\n")
    assert len(list(out.glob("*/seed*/checkpoint.pt"))) == 4

    # a killed ablation resumes: finished runs are kept, a run killed after its last
    # checkpoint only evaluates, a run killed before its first checkpoint trains again
    table = (out / "ablation.md").read_text()
    kept = (out / "mappo" / "seed1" / "checkpoint.pt").stat().st_mtime_ns
    (out / "mappo" / "seed0" / "eval.json").unlink()
    for path in (out / "partitioner-alone" / "seed1").iterdir():
        if path.name != "config.yaml":
            path.unlink()
    (out / "ablation.md").unlink()
    assert main(["ablate", "--resume", str(out)]) == 0
    assert "finished earlier" in capsys.readouterr().out
    assert (out / "ablation.md").read_text() == table
    assert (out / "mappo" / "seed1" / "checkpoint.pt").stat().st_mtime_ns == kept
    assert main(["ablate", "--resume", str(tmp_path / "runs")]) == 2
    (out / "mappo" / "seed1" / "eval.json").write_text('{"team_reward": ')  # torn by hand
    capsys.readouterr()
    assert main(["ablate", "--resume", str(out)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "seed1/eval.json: not a JSON file a run wrote (Expecting value: line 1 column 17 "
        "(char 16)); remove it to redo that step")


@pytest.mark.parametrize("path", [p for p in CONFIGS if "ablate:" in p.read_text()],
                         ids=lambda p: p.stem)
def test_ablation_base_resolves_every_variant_as_the_users_file_does(path, tmp_path):
    """The ablation keeps its base config in its folder; each variant (some switch the
    algorithm, a union's tag) loads from it to the config the user's file gives."""
    base = load_config(path)
    write_resolved_config(base, tmp_path, only_changed=True)
    for variant in base.ablate.variants:
        overrides = [*variant.set, "seed=2"]
        assert (typed_yaml.to_dict(load_config(tmp_path / "config.yaml", overrides))
                == typed_yaml.to_dict(load_config(path, overrides))), variant.name
