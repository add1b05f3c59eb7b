"""Quality of the process reward model on the PyBullet suite: train on one recorded set, evaluate on another.

Records the datasets when the folders do not exist (``robo-reward record task=all outcome=mixed ...``), trains the
reward model exactly as ``robo-reward train-reward`` does (same config, same checkpoint), evaluates on the held-out
episodes (every reference start/goal from ANOTHER successful episode) and prints per task and overall: VOC on
successes, VOC on time-reversed successes, 3-way success/partial/failure accuracy, success AUROC, and VOC of each
single view vs all views. Writes ``<out>/quality.json`` and the progress-curve plots.

    # the default checkpoint (EfficientNet-Lite0 at the recorded 96 px)
    python benchmarks/bench_reward_quality.py --train /tmp/exp/train --test /tmp/exp/test --cache /tmp/exp/cache
    # the issue's 3-way protocol (20 / 20 / 20 test episodes per task), trained with balanced outcomes as well
    python benchmarks/bench_reward_quality.py ... --train-balanced 20 --test-balanced 20
    # leave-one-task-out: for each task, train without it, score it from its text + one reference demo
    python benchmarks/bench_reward_quality.py ... --loto
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from robo_reward.data.atomic import atomic_write_json

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PRESETS: dict[str, dict[str, Any]] = {
    # best quality (3-way accuracy: 0.930 with 600 training episodes, --train-balanced 20; 0.923 with 300 mixed;
    # 0.823 with 100 mixed and 1,000 steps)
    "default": {"steps": 2000, "batch_size": 256, "lr": 1e-3, "weight_decay": 1e-4, "model": {}},
    # ~3-minute budget on 2 CPU cores incl. embedding of a ~50-episode set at 96 px
    "quick": {"steps": 300, "batch_size": 128, "lr": 2e-3, "weight_decay": 1e-4,
              "model": {"hidden": 96, "layers": 1}},
}


def record(out: Path, episodes: int, seed: int, outcome: str = "mixed",
           views: tuple[str, ...] = ("front", "side", "wrist"), size: int = 96) -> None:
    """Record ``episodes`` in total over all tasks (task=all cycles through the tasks)."""
    cmd = [sys.executable, "-m", "robo_reward", "record", "task=all", f"episodes={episodes}", f"outcome={outcome}",
           f"out={out}", f"image_size={size}", "render_quality=fast", f"seed={seed}", f"views=[{','.join(views)}]"]
    print("recording:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def balanced_sets(root: str, per_task: int, num_tasks: int, seed0: int) -> list[tuple[str, int, int, str]]:
    """(folder, episodes, seed, outcome) of a balanced set: ``per_task`` successes, partials and failures per task in
    ``<root>/{success,partial,failure}``, seeds ``seed0``, ``seed0 + 500``, ``seed0 + 1000``."""
    return [(f"{root}/{o}", per_task * num_tasks, seed0 + 500 * i, o)
            for i, o in enumerate(("success", "partial", "failure"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", nargs="+", default=["data/bench/train"],
                    help="training folder(s); the first is recorded (mixed outcomes) when missing, others must exist")
    ap.add_argument("--train-balanced", type=int, default=0, metavar="N",
                    help="also train on N successes, N partial and N failed episodes per task, recorded (other seeds "
                         "than the test set) into <first --train>_bal/{success,partial,failure}")
    ap.add_argument("--test", default="data/bench/test")
    ap.add_argument("--train-episodes", type=int, default=300)
    ap.add_argument("--test-episodes", type=int, default=75)
    ap.add_argument("--test-balanced", type=int, default=0, metavar="N",
                    help="test set of N successes, N partial and N failed episodes per task, recorded into "
                         "<test>/{success,partial,failure} (the issue's 3-way protocol: 20); 0 = --test-episodes mixed")
    ap.add_argument("--cache", default="data/cache/embeddings")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--image-size", type=int, default=96,
                    help="backbone input size (the frames are recorded at --record-size)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--steps", type=int, default=None, help="override the preset's steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=None,
                    help="share of each task's and outcome's training episodes held out to calibrate (default: the "
                         "training config's 0.25)")
    ap.add_argument("--loto", action="store_true", help="leave-one-task-out instead of the all-task run")
    ap.add_argument("--out", default="runs/bench_reward_quality")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record-views", nargs="+", default=["front", "side", "wrist"],
                    help="cameras to record when a set is missing (the simulator: front, side, top, close, wrist)")
    ap.add_argument("--record-size", type=int, default=96, help="frame size (px) when a set is recorded")
    ap.add_argument("--views", nargs="+", default=None,
                    help="cameras the model is trained and evaluated on (default: every view the recordings share)")
    a = ap.parse_args()
    # embedding and training log their progress every 30 s when no terminal shows the bars
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    import torch

    from robo_reward.backbones.base import BackboneConfig
    from robo_reward.backbones.text import TextEncoderConfig
    from robo_reward.reward import evaluate, train
    from robo_reward.reward.model import RewardModelConfig

    torch.set_num_threads(a.threads)
    from robo_reward.sim.tasks import TASKS

    missing = [r for r in a.train[1:] if not (Path(r) / "index.json").is_file()]
    if missing:
        ap.error(f"training folders {missing} hold no recorded dataset (record them with `robo-reward record`)")
    sets = [(a.train[0], a.train_episodes, 0, "mixed")]
    balanced_train = (balanced_sets(f"{a.train[0]}_bal", a.train_balanced, len(TASKS), 3000)
                      if a.train_balanced > 0 else [])
    if a.test_balanced > 0:
        sets += balanced_sets(a.test, a.test_balanced, len(TASKS), 1000)
    else:
        sets.append((a.test, a.test_episodes, 1000, "mixed"))
    for root, n, seed, outcome in sets + balanced_train:
        if not (Path(root) / "index.json").is_file():
            record(Path(root), n, seed, outcome, tuple(a.record_views), a.record_size)
    test_roots = [root for root, *_ in sets[1:]]
    train_roots = list(a.train) + [root for root, *_ in balanced_train]
    preset = dict(PRESETS[a.preset])
    model = RewardModelConfig(**preset.pop("model"))
    if a.steps is not None:
        preset["steps"] = a.steps
    if a.val_fraction is not None:
        preset["val_fraction"] = a.val_fraction
    bb = BackboneConfig(name=a.backbone, image_size=a.image_size)
    out = Path(a.out)
    runs: list[tuple[str, list[str], dict[str, str]]] = [("all", [], {})]
    if a.loto:
        from robo_reward.data import EpisodeDataset, read_episode

        instr = {}
        for root in test_roots:
            for p in EpisodeDataset(root).episodes():
                ep = read_episode(p, load_frames=False)
                instr.setdefault(ep.task, ep.instruction)
        runs = [(f"loto_{t}", [t], {t: instr[t]}) for t in sorted(instr)]
    report: dict[str, Any] = {"args": vars(a), "preset": PRESETS[a.preset], "runs": {}}
    for name, exclude, task_texts in runs:
        t0 = time.perf_counter()
        tcfg = train.TrainRewardConfig(data_roots=train_roots, exclude_tasks=exclude, backbone=bb,
                                       text_encoder=TextEncoderConfig(), cache_dir=a.cache, model=model, views=a.views,
                                       out_dir=str(out / name), seed=a.seed, **preset)
        tres = train.run(tcfg)
        t_train = time.perf_counter() - t0
        ecfg = evaluate.EvalRewardConfig(model_dir=tres["model_dir"], data_roots=test_roots, cache_dir=a.cache,
                                         out_dir=str(out / name / "eval"), task_texts=task_texts,
                                         tasks=exclude or None)
        eres = evaluate.run(ecfg)
        report["runs"][name] = {"train_seconds": t_train, "train": {k: v for k, v in tres.items() if k != "history"},
                                "eval": eres}
        print_table(name, eres, t_train)
    atomic_write_json(out / "quality.json", report, indent=2)
    print(f"wrote {out / 'quality.json'}")


def print_table(name: str, res: dict[str, Any], t_train: float) -> None:
    from robo_reward.reward.evaluate import summary_table

    print(f"\n== {name} (train+embed {t_train:.0f} s)")
    print(summary_table(res), flush=True)


if __name__ == "__main__":
    main()
