"""Every benchmark script imports and documents its options (``--help`` exits 0 with a usage line)."""

import runpy
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


def test_the_benchmark_folder_is_found():
    assert len(SCRIPTS) >= 9


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_help(script, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(script), run_name="__main__")
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


def test_bench_rl_reevaluation_reproduces_the_final_evaluation(tmp_path, monkeypatch):
    """``--reevaluate N`` loads a finished run's last checkpoint and replays the final evaluation's episode seeds:
    with N equal to the run's final-evaluation size it must find the same success rate and hover fraction."""
    import json

    sys.path.insert(0, str(SCRIPTS[0].parent))
    monkeypatch.setattr(sys, "path", sys.path)
    import bench_rl

    common = ["--tasks", "reach", "--rewards", "expert", "--seeds", "0", "--out", str(tmp_path)]
    assert bench_rl.main([*common, "--steps", "300", "--learning-starts", "100", "--eval-points", "1",
                          "--eval-episodes", "2", "--final-eval-episodes", "4"]) == 0
    assert bench_rl.main([*common, "--reevaluate", "4"]) == 0
    run = tmp_path / "reach_expert_s0"
    final = json.loads((run / "results.json").read_text())
    again = json.loads((run / "reeval_4.json").read_text())
    assert again["steps"] == 300 and again["episodes"] == 4
    assert again["success_rate"] == final["final_success_rate"]
    assert again["hover_fraction"] == pytest.approx(final["final_hover_fraction"])
    assert again["mean_length"] == pytest.approx(final["final_mean_length"])
    # a continuous figure that depends on the policy and the episode seeds (the success rate of 300 steps is 0)
    assert 0.0 < final["final_mean_progress"] < 1.0
    assert again["mean_final_progress"] == pytest.approx(final["final_mean_progress"], abs=1e-9)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["reach/expert"]["reeval_episodes"] == [4]


def test_bench_rl_aggregate_reads_several_folders_and_measures_against_the_sparse_level(tmp_path, monkeypatch):
    """Runs from ``--include`` folders join the table; true-progress runs get their own label; every row gets the
    steps to 80 % of the sparse reward's mean final success on its task (a level common to all rewards)."""
    import json

    monkeypatch.syspath_prepend(str(SCRIPTS[0].parent))
    import bench_rl

    def write_run(folder, name, reward, shaping, final, curve, model_dir=None):
        d = tmp_path / folder / name
        d.mkdir(parents=True)
        res = {"task": "push", "reward": reward, "shaping": shaping, "seed": int(name[-1]),
               "final_success_rate": final, "eval_timesteps": [1000, 2000, 3000, 4000],
               "eval_success_rate": curve, "eval_train_episodes": [10, 20, 30, 40]}
        (d / "results.json").write_text(json.dumps(res))
        (d / "config.json").write_text(json.dumps({"reward_model_dir": model_dir}))

    write_run("a", "push_sparse_s0", "sparse", "pbrs", 0.4, [0.0, 0.1, 0.3, 0.4])
    write_run("a", "push_sparse_s1", "sparse", "pbrs", 0.6, [0.0, 0.2, 0.5, 0.6])
    # ends higher than sparse: its own 80 % (0.72) comes last, sparse's level (0.8 x 0.5 = 0.4) early
    write_run("a", "push_pbrs_s0", "learned", "pbrs", 0.9, [0.1, 0.45, 0.6, 0.8], model_dir="runs/rm/model")
    write_run("b", "push_pbrs_s0", "learned", "pbrs", 0.5, [0.0, 0.0, 0.4, 0.5], model_dir="oracle")
    summary = bench_rl.aggregate([tmp_path / "a", tmp_path / "b"])
    assert set(summary) == {"push/sparse", "push/pbrs", "push/pbrs-oracle"}
    assert summary["push/sparse"]["sparse_level"] == pytest.approx(0.4)
    assert summary["push/sparse"]["steps_to_sparse_level"] == [4000, 3000]
    assert summary["push/pbrs"]["steps_to_80pct"] == [4000]
    assert summary["push/pbrs"]["steps_to_sparse_level"] == [2000]
    assert summary["push/pbrs"]["episodes_to_sparse_level"] == [20]
    assert summary["push/pbrs-oracle"]["steps_to_sparse_level"] == [3000]
    assert bench_rl.aggregate(tmp_path / "b")["push/pbrs-oracle"]["steps_to_sparse_level"] == [None]  # no sparse runs
