import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HELPER = Path(__file__).with_name("_dist_train.py")


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return env


@pytest.mark.slow
def test_torchrun_two_processes_matches_single(tmp_path):
    single, double = tmp_path / "single.json", tmp_path / "double.json"
    subprocess.run([sys.executable, str(HELPER), str(single)], check=True, env=_env(), timeout=300)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    str(HELPER), str(double)], check=True, env=_env(), timeout=300)
    a, b = np.array(json.loads(single.read_text())), np.array(json.loads(double.read_text()))
    assert a.shape == b.shape == (6,)
    assert b[-1] < b[0]
    np.testing.assert_allclose(a, b, rtol=2e-3)


@pytest.mark.slow
def test_resume_continues_identically(tmp_path):
    full, resumed = tmp_path / "full.json", tmp_path / "resumed.json"
    subprocess.run([sys.executable, str(HELPER), str(full)], check=True, env=_env(), timeout=300)
    ck = tmp_path / "run"
    # first invocation stops after 15 of 30 steps (checkpointing), the second resumes and finishes
    subprocess.run([sys.executable, str(HELPER), str(tmp_path / "part.json"), str(ck), "15"], check=True, env=_env(), timeout=300)
    import torch

    assert torch.load(ck / "checkpoints" / "last.pt", weights_only=True)["step"] == 15
    assert len(json.loads((tmp_path / "part.json").read_text())) == 3
    subprocess.run([sys.executable, str(HELPER), str(resumed), str(ck)], check=True, env=_env(), timeout=300)
    np.testing.assert_allclose(json.loads(resumed.read_text()), json.loads(full.read_text()), rtol=1e-5)
