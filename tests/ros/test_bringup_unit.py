"""Graph YAML loading shared by bring-up and the launch files (no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robo_reward.real.bringup import load_graph, node_command

LAUNCH = Path(__file__).resolve().parents[2] / "launch"


def test_real_arm_graph_defaults_and_overrides() -> None:
    g = load_graph(LAUNCH / "real_arm.yaml")
    assert [n.name for n in g.nodes] == ["reward_node", "policy_node"]
    reward = g.nodes[0]
    assert reward.parameters["image_topics"] == ["/camera/camera/color/image_raw"]  # realsense2_camera default
    assert all(spec["description"] for spec in g.arguments.values())
    g = load_graph(LAUNCH / "real_arm.yaml", {"mode": "finetune", "max_step": "0.01", "reset_service": ""})
    ft = g.nodes[1]
    assert ft.name == "finetune_node" and ft.parameters["max_step"] == 0.01 and ft.parameters["reset_service"] == ""
    cmd = node_command(ft, "/tmp/p.yaml")
    assert cmd[cmd.index("-r") + 1] == "__node:=finetune_node" and "--params-file" in cmd
    with pytest.raises(ValueError, match="unknown launch arguments"):
        load_graph(LAUNCH / "real_arm.yaml", {"max_stepp": "1"})


def test_launch_files_read_the_same_yaml() -> None:
    for name in ("sim_arm", "real_arm"):
        text = (LAUNCH / f"{name}.launch.py").read_text()
        assert f'"{name}.yaml"' in text and "def generate_launch_description" in text


def test_nodes_die_with_the_bringup_process_even_on_sigkill() -> None:
    import subprocess
    import sys
    import time

    code = ("import subprocess, time; from robo_reward.real.bringup import _die_with_parent; "
            "c = subprocess.Popen(['sleep', '30'], preexec_fn=_die_with_parent); print(c.pid, flush=True); time.sleep(30)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = open(f"/proc/{child}/stat").read().split()[2]
        except FileNotFoundError:
            state = "gone"
        if state in ("gone", "Z", "X"):
            break
        time.sleep(0.05)
    assert state in ("gone", "Z", "X"), f"node process {child} outlived its bring-up (state {state})"
