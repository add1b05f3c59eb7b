"""Throughput of the vision backbones and of the embedding cache on this machine.

Frames/s of ``Backbone.encode`` (preprocessing included) per backbone at its native input size and at 128 px,
batch 32, from 240x320 uint8 frames; CLIP ViT-B-32 and DINO ViT-S/16 use random weights (no hub here; speed
does not depend on the weight values). Then an ``EmbeddingCache.get_video`` miss (decode + encode + write)
versus a hit (hash + read) on a 64-frame video.

    python benchmarks/bench_backbones.py                 # all, ~a few minutes on 2 loaded cores
    python benchmarks/bench_backbones.py --backbones small_cnn efficientnet_lite0 --batches 2

Prints a table and writes JSON (default benchmarks/results/bench_backbones.json).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from robo_reward.backbones import Backbone, BackboneConfig, EmbeddingCache, build_backbone
from robo_reward.data.atomic import atomic_write_json

SPECS: dict[str, dict] = {
    "efficientnet_lite0": {"name": "efficientnet_lite0"},
    "clip": {"name": "clip", "model_name": "ViT-B-32", "weights": None},
    "dino": {"name": "dino", "model_name": "vit_small_patch16_224.dino", "weights": None},
    "small_cnn": {"name": "small_cnn"},
}


def time_encode(backbone: Backbone, frames: np.ndarray, batches: int, warmup: int) -> float:
    """Frames per second of backbone.encode on (B, H, W, 3) frames (median over timed batches)."""
    for _ in range(warmup):
        backbone.encode(frames)
    times = []
    for _ in range(batches):
        t0 = time.perf_counter()
        out = backbone.encode(frames)
        if out.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return len(frames) / float(np.median(times))


def bench_cache(backbone: Backbone, root: Path, num_frames: int = 64) -> dict[str, float]:
    """Miss (decode + encode + write) and hit (hash + read) times of get_video on a synthetic video."""
    from robo_reward.data.video import write_video

    rng = np.random.default_rng(0)
    frames = np.kron(rng.integers(0, 256, (num_frames, 30, 40, 3)).astype(np.uint8), np.ones((1, 8, 8, 1), np.uint8))
    video = write_video(root / "bench.mp4", frames, fps=30)
    cache = EmbeddingCache(root / "cache")
    t0 = time.perf_counter()
    cache.get_video(video, backbone)
    miss = time.perf_counter() - t0
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        cache.get_video(video, backbone)
    hit = (time.perf_counter() - t0) / reps
    assert cache.stats() == {"hits": reps, "misses": 1}
    return {"frames": num_frames, "miss_ms": miss * 1e3, "hit_ms": hit * 1e3, "speedup": miss / hit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=list(SPECS), choices=list(SPECS))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=3, help="timed batches per setting (median)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_backbones.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    frames = np.random.default_rng(0).integers(0, 256, (args.batch, 240, 320, 3), dtype=np.uint8)
    rows = []
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, cuda={torch.cuda.is_available()}")
    print(f"{'backbone':<20}{'model':<30}{'input':>6}{'dim':>6}{'frames/s':>10}")
    for key in args.backbones:
        for size in (None, 128):
            b = build_backbone(BackboneConfig(**SPECS[key], image_size=size, batch_size=args.batch))
            fps = time_encode(b, frames, args.batches, args.warmup)
            row = {"backbone": key, "model": b.model_name, "input_size": b.input_size, "embed_dim": b.embed_dim,
                   "device": str(b.device), "dtype": str(b.dtype), "batch": args.batch, "frames_per_s": fps}
            rows.append(row)
            print(f"{key:<20}{b.model_name:<30}{b.input_size:>6}{b.embed_dim:>6}{fps:>10.1f}")
            del b

    cache_rows = []
    print(f"\n{'cache (get_video, 64 frames 240x320)':<40}{'miss ms':>10}{'hit ms':>10}{'speedup':>10}")
    for key in [k for k in ("small_cnn", "efficientnet_lite0") if k in args.backbones]:
        b = build_backbone(BackboneConfig(**SPECS[key]))
        with tempfile.TemporaryDirectory() as tmp:
            res = {"backbone": key, **bench_cache(b, Path(tmp))}
        cache_rows.append(res)
        print(f"{key:<40}{res['miss_ms']:>10.1f}{res['hit_ms']:>10.2f}{res['speedup']:>10.0f}x")

    report = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.is_available(), "load_avg": os.getloadavg()},
        "encode": rows,
        "cache": cache_rows,
    }
    atomic_write_json(args.out, report, indent=2)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
