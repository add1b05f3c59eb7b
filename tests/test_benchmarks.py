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
