"""Cached pipeline stages: a finished stage is skipped on re-run unless its inputs changed or ``force`` is set.

Each stage writes ``<out>/<stage>/stage.json`` last (atomically) with the hash of the inputs it ran with, its
results and its wall time; a stage counts as finished only when that file exists with the same hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from robo_reward.data.atomic import atomic_write_json

logger = logging.getLogger(__name__)

STAGE_FILE = "stage.json"


def inputs_hash(inputs: Any) -> str:
    """A stable short hash of JSON-serialisable stage inputs."""
    blob = json.dumps(inputs, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class StageResult:
    name: str
    results: dict[str, Any]
    seconds: float
    cached: bool


def run_stage(
    out: Path, name: str, inputs: Any, fn: Callable[[Path], dict[str, Any]], force: bool = False
) -> StageResult:
    """Run ``fn(stage_dir) -> results`` unless a finished run with the same inputs exists."""
    stage_dir = Path(out) / name
    marker = stage_dir / STAGE_FILE
    key = inputs_hash(inputs)
    if not force and marker.is_file():
        try:
            done = json.loads(marker.read_text())
        except json.JSONDecodeError:
            done = {}
        if done.get("inputs_hash") == key:
            logger.info("[%s] cached (inputs unchanged); pass force=true to re-run", name)
            return StageResult(name, done.get("results", {}), float(done.get("seconds", 0.0)), True)
    stage_dir.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    logger.info("[%s] running", name)
    t0 = time.perf_counter()
    results = fn(stage_dir)
    seconds = time.perf_counter() - t0
    atomic_write_json(marker, {"inputs_hash": key, "inputs": inputs, "results": results, "seconds": seconds})
    logger.info("[%s] done in %.1f s", name, seconds)
    return StageResult(name, results, seconds, False)
