"""Three-view progress queries per second (streaming step incl. backbone encode) at 128 px, per backbone.

A query = one environment's progress update from three new camera frames. The hop model is untrained (speed does
not depend on the weights). Prints a table and writes JSON.

    python benchmarks/bench_reward.py --backbones efficientnet_lite0 small_cnn --envs 8 --steps 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from robo_reward.backbones.base import BackboneConfig
from robo_reward.backbones.registry import build_backbone
from robo_reward.data.atomic import atomic_write_json
from robo_reward.reward.data import Reference
from robo_reward.reward.model import HopModel, RewardModelConfig
from robo_reward.reward.pipeline import RewardPipeline
from robo_reward.reward.scoring import ProgressScorer

VIEWS = ("front", "side", "wrist")


def bench(name: str, envs: int, steps: int, size: int, threads: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    bb = build_backbone(BackboneConfig(name=name, device="cpu", image_size=size))
    model = HopModel(RewardModelConfig(), VIEWS, bb.embed_dim, 384)
    ref = Reference("t", "", {v: np.zeros(bb.embed_dim, np.float32) for v in VIEWS},
                    {v: np.ones(bb.embed_dim, np.float32) for v in VIEWS}, np.zeros(384, np.float32))
    pipe = RewardPipeline(ProgressScorer(model, 1.0, "cpu"), {"t": ref}, bb)
    rng = np.random.default_rng(0)
    frames = [{v: rng.integers(0, 255, (envs, size, size, 3), dtype=np.uint8) for v in VIEWS} for _ in range(4)]
    st = pipe.streamer(envs)
    st.reset(list(range(envs)), frames[0])
    for i in range(2):
        st.step(frames[i % 4])
    t0 = time.perf_counter()
    for i in range(steps):
        st.step(frames[i % 4])
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    emb = {v: torch.zeros(envs, bb.embed_dim) for v in VIEWS}
    for _ in range(steps):
        st.inner.step(emb)
    dt_model = time.perf_counter() - t1
    return {"queries_per_s": envs * steps / dt, "ms_per_step": 1000 * dt / steps,
            "model_only_queries_per_s": envs * steps / dt_model, "embed_dim": bb.embed_dim}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbones", nargs="+", default=["efficientnet_lite0", "small_cnn"])
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/bench_reward.json")
    a = ap.parse_args()
    results = {}
    for name in a.backbones:
        try:
            results[name] = bench(name, a.envs, a.steps, a.size, a.threads)
        except Exception as exc:  # report and continue with the other backbones
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        r = results[name]
        if "error" in r:
            print(f"{name:20s} error: {r['error']}")
        else:
            print(f"{name:20s} {r['queries_per_s']:8.1f} 3-view queries/s  ({r['ms_per_step']:.1f} ms/step for {a.envs} envs;"
                  f" model only {r['model_only_queries_per_s']:.0f}/s)")
    out = atomic_write_json(a.out, {"config": vars(a), "results": results}, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
