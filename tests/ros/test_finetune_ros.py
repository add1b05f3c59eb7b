"""The fine-tuning node survives kill -9 and resumes from its last checkpoint and replay buffer."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from robo_reward.real.bringup import Bringup, Graph, load_graph

pytestmark = [pytest.mark.ros, pytest.mark.slow]

GRAPH = Path(__file__).resolve().parents[2] / "launch" / "sim_arm.yaml"


def test_killed_finetune_resumes_from_checkpoint(ros_env: dict[str, str], probe: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    # residual from phase 0: every control step is a stored transition (episodes of 6 steps end in the approach)
    args = {"mode": "finetune", "run_dir": str(run), "episodes": "4", "episode_steps": "6", "rate_hz": "10.0",
            "residual_from_phase": "0"}
    graph = load_graph(GRAPH, args)
    log = run / "episodes.jsonl"
    with Bringup(graph, env=ros_env, log_dir=tmp_path / "logs") as bring:
        ft = bring.procs["finetune_node"]
        ok = probe.spin_for(90.0, lambda: log.exists() and len(log.read_text().splitlines()) >= 2)
        assert ok, bring.log("finetune_node")
        ft.kill()  # SIGKILL mid-run
        ft.wait()
        assert ft.returncode == -9
        meta = json.loads((run / "latest.json").read_text())
        assert meta["episodes_done"] >= 1  # the log line of an episode is written just before its checkpoint
        only_ft = Graph(graph.arguments, [n for n in graph.nodes if n.name == "finetune_node"])
        with Bringup(only_ft, env=ros_env, log_dir=tmp_path / "logs2") as again:
            proc = again.procs["finetune_node"]
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                pytest.fail(again.log("finetune_node"))
            text = again.log("finetune_node")
        assert proc.returncode == 0, text
    m = re.search(r"resumed from .* generation (\d+): episodes_done=(\d+) buffer=(\d+)", text)
    assert m, text
    assert (int(m.group(1)), int(m.group(2)), int(m.group(3))) == (
        meta["generation"], meta["episodes_done"], meta["buffer_size"])
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["episode"] for r in rows] == [0, 1, 2, 3]  # no episode lost or duplicated
    final = json.loads((run / "latest.json").read_text())
    assert final["episodes_done"] == 4
    assert final["buffer_size"] == sum(r["steps"] for r in rows) == rows[-1]["buffer_size"]
    assert (run / "success_rate.png").stat().st_size > 1000
    assert sorted(p.name for p in run.glob("*-*.*")) == [f"agent-{final['generation']}.pt",
                                                        f"replay-{final['generation']}.npz"]
