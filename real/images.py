"""sensor_msgs/Image <-> numpy without cv_bridge (pure Python: works on any object with the Image fields).

Supported encodings: ``rgb8``, ``bgr8``, ``mono8`` (also ``rgba8``/``bgra8``, alpha dropped). Rows may be
padded (``step >= width * channels``). Anything else raises :class:`MalformedImageError` whose ``kind`` is one
of ``"encoding"``, ``"size"``, ``"empty"`` so callers can count failures by kind.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1, "rgba8": 4, "bgra8": 4}


class MalformedImageError(ValueError):
    """An image message that cannot be decoded; ``kind`` in {"encoding", "size", "empty"}."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def image_to_rgb(msg: Any) -> np.ndarray:
    """Decode a sensor_msgs/Image-like object to (H, W, 3) uint8 RGB (a copy)."""
    enc = str(msg.encoding).lower()
    if enc not in CHANNELS:
        raise MalformedImageError(
            "encoding", f"unsupported image encoding {msg.encoding!r}; expected one of {sorted(CHANNELS)}"
        )
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = msg.data
    n = len(data)
    if h == 0 or w == 0 or n == 0:
        raise MalformedImageError("empty", f"empty image: height={h} width={w} len(data)={n}")
    c = CHANNELS[enc]
    if step < w * c:
        raise MalformedImageError("size", f"step {step} < width*channels {w * c} for {enc} {w}x{h}")
    if n != step * h:
        raise MalformedImageError("size", f"len(data)={n} but step*height={step * h} for {enc} {w}x{h}")
    try:
        buf = np.frombuffer(data, dtype=np.uint8)  # bytes, array.array, numpy: no copy
    except TypeError:
        buf = np.frombuffer(bytes(data), dtype=np.uint8)  # list of ints
    img = buf.reshape(h, step)[:, : w * c].reshape(h, w, c)
    if enc == "rgb8":
        return img.copy()
    if enc == "bgr8":
        return np.ascontiguousarray(img[:, :, ::-1])
    if enc == "mono8":
        return np.repeat(img, 3, axis=2)
    if enc == "rgba8":
        return img[:, :, :3].copy()
    return np.ascontiguousarray(img[:, :, 2::-1])  # bgra8


def resize_rgb(img: np.ndarray, size: int) -> np.ndarray:
    """Resize (H, W, 3) uint8 to (size, size, 3) (area interpolation when shrinking)."""
    if img.shape[0] == size and img.shape[1] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def fill_image_msg(msg: Any, rgb: np.ndarray, encoding: str = "rgb8") -> Any:
    """Fill an Image-like ``msg`` from (H, W, 3) uint8 RGB (header left to the caller); returns msg."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"fill_image_msg expects (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    if encoding == "bgr8":
        rgb = rgb[:, :, ::-1]
    elif encoding == "mono8":
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None]
    elif encoding != "rgb8":
        raise ValueError(f"fill_image_msg encoding must be rgb8, bgr8 or mono8, got {encoding!r}")
    arr = np.ascontiguousarray(rgb)
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(arr.shape[1] * arr.shape[2])
    msg.data = arr.tobytes()
    return msg
