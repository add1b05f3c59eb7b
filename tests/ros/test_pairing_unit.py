"""StampPairer, image decoding and the heuristic scorer without ROS."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from robo_reward.real.heuristic import HeuristicProgressModel
from robo_reward.real.images import MalformedImageError, fill_image_msg, image_to_rgb
from robo_reward.real.pairing import StampPairer
from robo_reward.types import BatchedProgressModel

MS = 1_000_000


def test_pairs_within_tolerance_and_counts_drops() -> None:
    p: StampPairer[str] = StampPairer(["a", "b", "c"], tolerance_ns=10 * MS)
    assert p.add("a", 100 * MS, "a100") == []
    assert p.add("b", 104 * MS, "b104") == []
    (m,) = p.add("c", 97 * MS, "c97")
    assert m.items == {"a": "a100", "b": "b104", "c": "c97"}
    assert m.stamp_ns == 104 * MS and m.spread_ns == 7 * MS
    # b lags: a's 133 cannot match b's 150 (17 ms apart) and is dropped
    p.add("a", 133 * MS, "a133")
    p.add("c", 131 * MS, "c131")
    assert p.add("b", 150 * MS, "b150") == []
    assert p.dropped["a"] == 1 and p.dropped["c"] == 1
    p.add("a", 156 * MS, "a156")
    (m,) = p.add("c", 158 * MS, "c158")
    assert m.items == {"a": "a156", "b": "b150", "c": "c158"} and m.spread_ns == 8 * MS
    assert p.matched == 2


def test_newest_candidate_not_after_pivot_is_chosen() -> None:
    p: StampPairer[int] = StampPairer(["a", "b"], tolerance_ns=20 * MS)
    p.add("a", 0, 0)
    p.add("a", 30 * MS, 30)
    p.add("a", 33 * MS, 33)
    (m,) = p.add("b", 34 * MS, 34)
    assert m.items == {"a": 33, "b": 34}
    assert p.dropped["a"] == 2  # 0 (too old) and 30 (superseded)


def test_out_of_order_and_bad_arguments() -> None:
    p: StampPairer[int] = StampPairer(["a", "b"], tolerance_ns=MS, queue_size=2)
    p.add("a", 10, 1)
    p.add("a", 5, 2)
    assert p.out_of_order["a"] == 1
    for s in (20, 30, 40):
        p.add("a", s, 0)
    assert p.dropped["a"] == 2  # queue_size 2 overflowed twice
    with pytest.raises(ValueError, match="unknown topic"):
        p.add("z", 0, 0)
    with pytest.raises(ValueError, match="unique"):
        StampPairer(["a", "a"], 0)


def _img_msg(rgb: np.ndarray, encoding: str = "rgb8") -> SimpleNamespace:
    return fill_image_msg(SimpleNamespace(), rgb, encoding)


def test_image_decoding_and_malformed_kinds() -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    for enc in ("rgb8", "bgr8"):
        np.testing.assert_array_equal(image_to_rgb(_img_msg(rgb, enc)), rgb)
    mono = image_to_rgb(_img_msg(rgb, "mono8"))
    assert mono.shape == (5, 7, 3) and np.all(mono[..., 0] == mono[..., 2])
    padded = _img_msg(rgb)  # rows padded to 24 bytes
    padded.step = 24
    padded.data = b"".join(rgb[r].tobytes() + b"\0\0\0" for r in range(5))
    np.testing.assert_array_equal(image_to_rgb(padded), rgb)
    cases = {"encoding": dict(encoding="16UC1"), "size": dict(height=6), "empty": dict(data=b"")}
    for kind, change in cases.items():
        msg = _img_msg(rgb)
        msg.__dict__.update(change)
        with pytest.raises(MalformedImageError) as err:
            image_to_rgb(msg)
        assert err.value.kind == kind


def _scene(cube_xy: tuple[int, int], size: int = 64) -> np.ndarray:
    img = np.full((size, size, 3), (120, 110, 100), np.uint8)
    img[40:50, 40:50] = (50, 190, 60)  # green target
    x, y = cube_xy
    img[y:y + 6, x:x + 6] = (215, 40, 40)  # red cube
    return img[None]


def test_heuristic_progress_rises_towards_goal() -> None:
    m = HeuristicProgressModel(["front"])
    assert isinstance(m, BatchedProgressModel)
    out = m.reset([0], {"front": _scene((5, 5))})
    assert float(out.progress[0]) == 0.0
    prog = [float(m.step({"front": _scene((5 + 6 * k, 5 + 6 * k))}).progress[0]) for k in range(1, 7)]
    assert all(b > a for a, b in zip(prog, prog[1:]))  # strictly rising as the cube approaches
    assert prog[-1] > 0.9
    last = m.step({"front": _scene((42, 42))})
    assert float(last.success_prob[0]) > 0.5 and 0.0 <= float(last.progress[0]) <= 1.0
    # a frame without the cube keeps the previous value instead of inventing one
    empty = np.full((1, 64, 64, 3), 120, np.uint8)
    assert float(m.step({"front": empty}).progress[0]) == pytest.approx(float(last.progress[0]))
    with pytest.raises(ValueError, match="needs view"):
        m.step({"side": empty})
