"""The module entry point in a real process: bad input -> exit 2 and one line on stderr, no traceback."""

from __future__ import annotations

import subprocess
import sys


def test_module_entry_point_reports_bad_input_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "robo_reward.adapt.cli", "adapt", "--demo", str(tmp_path / "nope.mp4"), "--task", "t", "--out", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=120, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no such episode" in lines[0] and lines[0].startswith("robo-reward adapt: error:"), proc.stderr
