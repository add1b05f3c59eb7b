"""Credit assignment of the fine-tuning node: reward outputs matched to control steps by camera stamp (no ROS)."""

from __future__ import annotations

import pytest

from robo_reward.real.finetune import STAMPED_LAYOUT, RewardMatcher, StampedReward, frame_set_stamp

T0 = 1_763_780_000_123_456_789  # a realistic ROS time stamp (ns): float64 cannot hold it, sec + nanosec can
DT = 100_000_000  # 10 Hz camera


def rec(k: int, progress: float, shaped: float, success: bool = False) -> StampedReward:
    return StampedReward(T0 + k * DT, progress, shaped, success)


def test_stamped_array_roundtrip_is_exact_to_the_nanosecond() -> None:
    r = StampedReward(T0 + 7, 0.25, -0.125, True)
    data = r.to_array()
    assert len(data) == len(STAMPED_LAYOUT) == 5
    assert StampedReward.from_array(data) == r
    assert StampedReward.from_array(StampedReward(T0 + 8, 0.25, -0.125, True).to_array()).stamp_ns == T0 + 8
    with pytest.raises(ValueError, match="needs 5 values"):
        StampedReward.from_array([1.0, 2.0, 0.5])


def test_frame_set_stamp_is_the_newest_stamp_within_tolerance() -> None:
    topics = ["/a", "/b"]
    assert frame_set_stamp({"/a": T0, "/b": T0 + 5}, topics, 10) == T0 + 5
    assert frame_set_stamp({"/a": T0, "/b": T0 + 50}, topics, 10) is None  # cameras out of step
    assert frame_set_stamp({"/a": T0}, topics, 10) is None  # a camera has no frame yet
    assert frame_set_stamp({"/a": T0, "/b": T0, "/c": T0 - 10**9}, topics, 0) == T0  # other topics ignored


def test_step_waits_for_the_reward_of_its_own_frames_not_the_latest_arrival() -> None:
    # the old loop summed whatever arrived during a control period: with the reward node 1-2 frames behind,
    # the reward of the action at step k landed on step k+1 or k+2. Matching by stamp gives each step its own.
    m = RewardMatcher()
    m.begin_episode(T0 - 1)
    m.add(rec(0, 0.10, 0.0))
    r0 = m.step_reward(None, T0)  # first observation of the episode
    assert r0 is not None and r0[0] == 0.0 and r0[1].progress == 0.10
    # step 1 observes the frames at T0 + DT, whose reward has not arrived yet: the step must wait
    assert m.step_reward(r0[1], T0 + DT) is None
    m.add(rec(1, 0.40, 0.28))
    r1 = m.step_reward(r0[1], T0 + DT)
    assert r1 is not None and r1[0] == pytest.approx(0.28) and r1[1].progress == 0.40
    # a later set arriving early does not change what step 1 got, and is step 2's own
    m.add(rec(2, 0.30, -0.115))
    assert m.step_reward(r0[1], T0 + DT)[0] == pytest.approx(0.28)  # type: ignore[index]
    r2 = m.step_reward(r1[1], T0 + 2 * DT)
    assert r2 is not None and r2[0] == pytest.approx(-0.115)


def test_sets_between_two_steps_are_summed_once() -> None:
    m = RewardMatcher()
    m.begin_episode(T0 - 1)
    for k, (phi, r) in enumerate([(0.1, 0.0), (0.2, 0.09), (0.5, 0.28), (0.4, -0.12)]):
        m.add(rec(k, phi, r))
    first = m.step_reward(None, T0)
    assert first is not None
    mid = m.step_reward(first[1], T0 + 2 * DT)  # camera twice as fast as control: two sets in this step
    assert mid is not None and mid[0] == pytest.approx(0.09 + 0.28)
    last = m.step_reward(mid[1], T0 + 3 * DT)
    assert last is not None and last[0] == pytest.approx(-0.12)


def test_tolerance_and_missing_sets() -> None:
    m = RewardMatcher(tolerance_ns=1000)
    m.begin_episode(T0 - 1)
    m.add(rec(0, 0.1, 0.0))
    m.add(rec(2, 0.3, 0.2))
    assert m.lookup(T0 + 2 * DT + 900) is not None
    assert m.lookup(T0 + 2 * DT + 5000) is None
    assert m.lookup(T0 + DT) is None  # this frame set was never scored (dropped): the step times out


def test_begin_episode_ignores_frames_stamped_before_the_reset() -> None:
    m = RewardMatcher()
    m.begin_episode(T0 - 1)
    for k in range(3):
        m.add(rec(k, 0.8, 0.05))  # end of the previous episode: cube almost on target
    reset_ns = T0 + 2 * DT + DT // 2
    m.begin_episode(reset_ns)
    # a pre-reset set still in flight arrives after the reset: it must not become the new episode's potential
    assert not m.add(rec(2, 0.8, 0.05))
    assert m.lookup(T0 + 2 * DT) is None
    assert m.add(rec(3, 0.05, 0.0))
    assert not m.add(rec(3, 0.05, 0.0))  # duplicate / out of order
    assert m.ignored == 2
    first = m.step_reward(None, T0 + 3 * DT)
    assert first is not None and first[1].progress == 0.05
    m.add(rec(4, 0.10, 0.95 * 0.10 - 0.05))
    step = m.step_reward(first[1], T0 + 4 * DT)
    assert step is not None and step[0] == pytest.approx(0.045)  # no jump from the old scene's 0.8


def test_matcher_keeps_a_bounded_history() -> None:
    m = RewardMatcher(maxlen=5)
    m.begin_episode(T0 - 1)
    for k in range(20):
        m.add(rec(k, 0.0, 0.0))
    assert m.lookup(T0 + 19 * DT) is not None and m.lookup(T0 + 10 * DT) is None
