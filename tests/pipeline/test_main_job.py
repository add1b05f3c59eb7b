"""The main job at toy size: every report file exists, numbers are finite, the HTML links only existing files."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from robo_reward.pipeline import PipelineConfig
from robo_reward.report.build import report_numbers_finite
from robo_reward.stages import inputs_hash, run_stage



REPORT_FILES = ["report.html", "contact_sheet.png", "progress_curves.png", "outcomes.png", "adapt_curves.png",
                "rollout_strip.png", "learning_curves.png", "timings.png"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from robo_reward.pipeline import run

    out = tmp_path_factory.mktemp("main_job")
    res = run(PipelineConfig(out=str(out), quick=True, ros="auto", ros_seconds=8.0))
    return out, res


@pytest.mark.slow
def test_quick_pipeline_writes_every_report_file_with_finite_numbers(quick_run: tuple[Path, dict]) -> None:
    out, res = quick_run
    report = out / "report"
    for name in REPORT_FILES:
        assert (report / name).is_file() and (report / name).stat().st_size > 1000, name
    summary = json.loads((out / "summary.json").read_text())
    assert report_numbers_finite(summary) == []
    ev = summary["reward_eval"]["overall"]
    assert -1.0 <= ev["voc_success"] <= 1.0 and -1.0 <= ev["voc_reversed"] <= 1.0
    assert summary["adapt"]["metrics"]["counts"]["success"] >= 1
    for name in ("data", "reward", "reward_eval", "adapt", "rl"):
        assert math.isfinite(summary["timings"][name]["seconds"])
    if "ros" in summary:  # rclpy installed: the live graph published progress for both episodes
        live = summary["ros"]["summary"]
        assert live["expert"]["messages"] > 3 and live["missed_grasp"]["messages"] > 3


@pytest.mark.slow
def test_report_html_references_only_existing_files(quick_run: tuple[Path, dict]) -> None:
    out, _ = quick_run
    html = (out / "report" / "report.html").read_text()
    refs = re.findall(r"(?:href|src)='([^']+)'", html)
    local = [r for r in refs if not r.startswith("data:")]
    assert local, "the report should link its PNG files"
    for ref in local:
        assert (out / "report" / ref).is_file(), ref
    assert html.count("data:image/png;base64,") >= len(REPORT_FILES) - 1


@pytest.mark.slow
def test_rerun_reuses_cached_stages(quick_run: tuple[Path, dict]) -> None:
    from robo_reward.pipeline import run

    out, first = quick_run
    again = run(PipelineConfig(out=str(out), quick=True, ros="off"))
    assert all(again["timings"][s]["cached"] for s in ("data", "reward", "reward_eval", "adapt", "rl"))
    assert again["reward_eval"] == first["reward_eval"]


def test_stage_cache_reruns_when_inputs_change(tmp_path: Path) -> None:
    calls: list[int] = []

    def fn(d: Path) -> dict:
        calls.append(1)
        return {"n": len(calls)}

    assert run_stage(tmp_path, "s", {"a": 1}, fn).results == {"n": 1}
    assert run_stage(tmp_path, "s", {"a": 1}, fn).cached
    assert run_stage(tmp_path, "s", {"a": 2}, fn).results == {"n": 2}
    assert run_stage(tmp_path, "s", {"a": 2}, fn, force=True).results == {"n": 3}
    assert inputs_hash({"b": 1, "a": 2}) == inputs_hash({"a": 2, "b": 1})


def test_config_rejects_adapting_a_training_task() -> None:
    with pytest.raises(ValueError, match="must see a task the reward model never trained on"):
        PipelineConfig(train_tasks=["reach", "push"], adapt_task="reach")
    with pytest.raises(ValueError, match="ros must be auto, on or off"):
        PipelineConfig(ros="maybe")


@pytest.mark.slow
def test_report_tables_hold_no_missing_numbers(quick_run: tuple[Path, dict]) -> None:
    """Every table cell of the report is filled: a key the report reads under the wrong name shows up as nan (the
    RL table's env steps/s column did, reading ``steps_per_second`` where the runs write ``env_steps_per_s``)."""
    out, _ = quick_run
    html = (out / "report" / "report.html").read_text()
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert cells, "the report should hold tables"
    assert [c for c in cells if c.strip().lower() in ("nan", "none", "")] == []
    rl_rows = re.findall(r"<tr><td>(sparse|pbrs)</td>((?:<td>[^<]*</td>)+)</tr>", html)
    assert len(rl_rows) == 2 and all(len(re.findall("<td>", cols)) == 4 for _, cols in rl_rows)
