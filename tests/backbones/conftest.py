"""Shared fixtures: synthetic scenes with real content (textures, shapes, text) rendered with OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

H, W = 96, 128


def _texture(seed: int, base: tuple[int, int, int], amp: float = 40.0) -> np.ndarray:
    """Multi-scale smooth noise around a base colour: (H, W, 3) float32 (flat areas leave CNN features near zero)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((H, W, 3), np.float32)
    for sigma in (1.0, 3.0, 8.0):
        out += cv2.GaussianBlur(rng.normal(0, 1, (H, W, 3)).astype(np.float32), (0, 0), sigma) * amp * sigma**0.5
    return np.clip(np.array(base, np.float32) + out, 0, 255)


def render_tabletop(shift: int = 0, noise: float = 0.0) -> np.ndarray:
    """A wall, a wooden table, a red cube, a blue ball and a stick. (H, W, 3) uint8 RGB."""
    img = _texture(1, (190, 180, 160))
    img[H * 5 // 8 :] = _texture(2, (130, 85, 45))[H * 5 // 8 :]
    img = img.astype(np.uint8)
    cv2.rectangle(img, (18 + shift, 30), (44 + shift, 60), (210, 30, 30), -1)
    cv2.rectangle(img, (18 + shift, 30), (44 + shift, 60), (90, 10, 10), 2)
    cv2.circle(img, (86 + shift, 46), 13, (30, 60, 210), -1)
    cv2.line(img, (60 + shift, 10), (70 + shift, 40), (40, 40, 40), 3)
    x = img.astype(np.float32)
    if noise:
        x += np.random.default_rng(7).normal(0, noise, x.shape)
    return np.clip(x, 0, 255).astype(np.uint8)


def render_stripes() -> np.ndarray:
    """A different scene: green wall with white stripes, a yellow triangle with a letter. (H, W, 3) uint8 RGB."""
    img = _texture(3, (40, 70, 40)).astype(np.uint8)
    for i in range(0, W, 14):
        cv2.line(img, (i, 0), (i, H), (230, 230, 230), 2)
    cv2.fillPoly(img, [np.array([[W // 2, 8], [16, H - 8], [W - 16, H - 8]])], (240, 215, 20))
    cv2.putText(img, "B", (54, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 120), 3)
    return img


@pytest.fixture(scope="session")
def scenes() -> dict[str, np.ndarray]:
    """'a': tabletop; 'a_near': same scene shifted 2 px with noise std 2; 'b': a different scene."""
    return {"a": render_tabletop(), "a_near": render_tabletop(shift=2, noise=2.0), "b": render_stripes()}


@pytest.fixture()
def frames() -> np.ndarray:
    """(2, 2, 40, 56, 3) uint8: batch 2, views 2, small non-square frames."""
    return np.random.default_rng(0).integers(0, 256, (2, 2, 40, 56, 3), dtype=np.uint8)
