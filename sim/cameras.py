"""Camera rigs and TinyRenderer rendering: fixed ``front``/``side``/``top``/``close`` views and a hand-mounted
``wrist`` view."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pybullet as p

logger = logging.getLogger(__name__)

VIEWS = ("front", "side", "wrist", "top", "close")


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera. For ``mount="world"`` eye/target/up are world coordinates; for ``mount="hand"`` they are
    in the grasp-point frame (which moves with the hand)."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov: float = 55.0
    near: float = 0.02
    far: float = 3.0
    mount: str = "world"


DEFAULT_CAMERAS: dict[str, CameraSpec] = {
    "front": CameraSpec(eye=(1.2, 0.0, 0.75), target=(0.45, 0.0, 0.05), fov=50.0),
    "side": CameraSpec(eye=(0.5, -0.8, 0.45), target=(0.5, 0.0, 0.05), fov=50.0),
    "top": CameraSpec(eye=(0.5, 0.0, 1.1), target=(0.5, 0.0, 0.0), up=(1.0, 0.0, 0.0), fov=50.0),
    # In front of the table like "front", but framed on the objects' workspace (|y| < 0.26 m at the target) rather
    # than the whole table and arm: 0.64 m away instead of 1.03 m, so a 5-cm cube is ~9 px wide at 96 px, not ~5.
    "close": CameraSpec(eye=(0.9, 0.0, 0.5), target=(0.5, 0.0, 0.0), fov=45.0),
    # Behind and above the fingertips, looking down past them; up = hand x axis (world +x when pointing down).
    "wrist": CameraSpec(eye=(-0.07, 0.0, -0.09), target=(0.03, 0.0, 0.10), up=(1.0, 0.0, 0.0), fov=70.0,
                        near=0.01, mount="hand"),
}


@dataclass(frozen=True)
class Lighting:
    """TinyRenderer light: direction (3,) towards the light, colour (3,) RGB in [0, 1]."""

    direction: tuple[float, float, float] = (0.4, -0.6, 1.0)
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)


def check_views(views: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate view names; returns them as a tuple."""
    views = tuple(views)
    bad = [v for v in views if v not in DEFAULT_CAMERAS]
    if bad:
        raise ValueError(f"unknown camera view(s) {bad}; available: {sorted(DEFAULT_CAMERAS)}.")
    return views


def _world_pose(spec: CameraSpec, mount_pose: tuple[np.ndarray, np.ndarray] | None) -> tuple[list, list, list]:
    if spec.mount == "world":
        return list(spec.eye), list(spec.target), list(spec.up)
    if mount_pose is None:
        raise ValueError("a hand-mounted camera needs the grasp-point pose (pos (3,), quat (4,))")
    pos, quat = mount_pose
    rot = np.array(p.getMatrixFromQuaternion(quat)).reshape(3, 3)
    eye = pos + rot @ np.asarray(spec.eye)
    target = pos + rot @ np.asarray(spec.target)
    up = rot @ np.asarray(spec.up)
    return eye.tolist(), target.tolist(), up.tolist()


def render(client: int, spec: CameraSpec, size: int, lighting: Lighting,
           mount_pose: tuple[np.ndarray, np.ndarray] | None = None, depth: bool = False
           ) -> tuple[np.ndarray, np.ndarray | None]:
    """Render one square view. Returns rgb (size, size, 3) uint8 and, if ``depth``, (size, size) float32 metres."""
    eye, target, up = _world_pose(spec, mount_pose)
    view = p.computeViewMatrix(eye, target, up, physicsClientId=client)
    proj = p.computeProjectionMatrixFOV(spec.fov, 1.0, spec.near, spec.far, physicsClientId=client)
    _, _, rgba, zbuf, _ = p.getCameraImage(
        size, size, view, proj, lightDirection=list(lighting.direction), lightColor=list(lighting.color),
        shadow=0, renderer=p.ER_TINY_RENDERER, flags=p.ER_NO_SEGMENTATION_MASK, physicsClientId=client,
    )
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)[..., :3].copy()
    if not depth:
        return rgb, None
    z = np.asarray(zbuf, dtype=np.float32).reshape(size, size)
    metres = spec.far * spec.near / (spec.far - (spec.far - spec.near) * z)
    return rgb, metres.astype(np.float32)


def jitter(spec: CameraSpec, rng: np.random.Generator, pos_std: float, target_std: float) -> CameraSpec:
    """A copy of ``spec`` with Gaussian noise on eye and target (metres)."""
    if pos_std <= 0 and target_std <= 0:
        return spec
    eye = tuple(float(v) for v in np.asarray(spec.eye) + rng.normal(0, pos_std, 3))
    target = tuple(float(v) for v in np.asarray(spec.target) + rng.normal(0, target_std, 3))
    return CameraSpec(eye, target, spec.up, spec.fov, spec.near, spec.far, spec.mount)  # type: ignore[arg-type]
