"""Fixtures for the adapt tests: synthetic videos and a tiny, position-aware test-only encoder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from adapt_helpers import PixelEncoder, block_frames, write  # noqa: E402


@pytest.fixture
def tiny_encoder(monkeypatch: pytest.MonkeyPatch) -> PixelEncoder:
    """Make adapt/score build the PixelEncoder instead of the configured backbone."""
    enc = PixelEncoder()
    monkeypatch.setattr("robo_reward.adapt.pipeline._build_encoder", lambda spec: enc)
    return enc


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Demo and test episodes (60 frames, 3 phases at frames 0/20/40) in several layouts."""
    root = tmp_path_factory.mktemp("videos")
    out: dict[str, Path] = {}
    out["single"] = write(root / "single" / "cam.mp4", block_frames())
    write(root / "two" / "front.mp4", block_frames())
    write(root / "two" / "side.avi", block_frames(mirror=True, colour=(40, 200, 40)))
    out["two"] = root / "two"
    # held-out episodes in another "domain": other block colour, other background
    other = {"colour": (230, 200, 60), "background": (50, 40, 60)}
    write(root / "ok" / "front.mp4", block_frames(**other))
    write(root / "ok" / "side.mp4", block_frames(mirror=True, **other))
    out["ok"] = root / "ok"
    write(root / "fail" / "front.mp4", block_frames(stop_at=0.45, **other))
    write(root / "fail" / "side.mp4", block_frames(mirror=True, stop_at=0.45, **other))
    out["fail"] = root / "fail"
    out["ok_single"] = write(root / "ok_single.mp4", block_frames(**other))
    out["fail_single"] = write(root / "fail_single.mp4", block_frames(stop_at=0.45, **other))
    out["reversed_single"] = write(root / "reversed_single.mp4", block_frames(reverse=True, **other))
    write(root / "front_only" / "front.mp4", block_frames(**other))
    out["front_only"] = root / "front_only"
    write(root / "unknown_views" / "top.mp4", block_frames())
    write(root / "unknown_views" / "wrist.mp4", block_frames())
    out["unknown_views"] = root / "unknown_views"
    write(root / "uneven" / "front.mp4", block_frames(60))
    write(root / "uneven" / "side.mp4", block_frames(50))
    out["uneven"] = root / "uneven"
    write(root / "near_even" / "front.mp4", block_frames(60))
    write(root / "near_even" / "side.mp4", block_frames(60)[:58])
    out["near_even"] = root / "near_even"
    out["one_frame"] = write(root / "one_frame.mp4", block_frames()[:1])
    corrupt = root / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    out["corrupt"] = corrupt
    empty = root / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (96, 96))
    writer.release()
    if not empty.exists():
        empty.write_bytes(b"")
    out["empty"] = empty
    (root / "no_videos").mkdir()
    (root / "no_videos" / "notes.txt").write_text("no video here")
    out["no_videos"] = root / "no_videos"
    return out
