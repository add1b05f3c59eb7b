"""PairSampler: the hop and done targets agree with the labels of the frames drawn."""

import numpy as np
import pytest

from robo_reward.reward.data import EmbeddedEpisode, PairSampler
from robo_reward.reward.labels import hop_label


def _episode(name: str, code: int, outcome: str, t: int, final: float) -> EmbeddedEpisode:
    # frame i's embedding is (i, episode code) so a batch row can be traced back to its frame
    progress = np.linspace(0.0, final, t).astype(np.float32)
    if outcome == "success":
        progress[-3:] = 1.0
    emb = np.stack([np.array([i, code], np.float32) for i in range(t)])
    return EmbeddedEpisode(name, "task", "do it", outcome, {"v": emb}, progress)


@pytest.fixture
def episodes():
    return [_episode(f"s{i}", i, "success", 20 + i, 1.0) for i in range(3)] + [
        _episode(f"f{i}", 10 + i, "partial", 25, 0.4) for i in range(3)]


def _rows(batch, episodes):
    by_code = {int(ep.emb["v"][0, 1]): ep for ep in episodes}
    for i in range(len(batch)):
        ep = by_code[int(batch.after[i, 0, 1])]
        yield i, ep, int(batch.after[i, 0, 0])


def test_targets_match_frame_labels(episodes):
    s = PairSampler(episodes, ["v"], {"task": np.zeros(4, np.float32)})
    b = s.sample(128, np.random.default_rng(0))
    for i, ep, q in _rows(b, episodes):
        phi_q = float(ep.progress[q])
        assert b.done[i] == float(ep.outcome == "success" and phi_q >= 1.0)
        if b.kind[i] == 0:  # forward: BEFORE is the start, Phi_p = 0
            assert b.hop[i] == pytest.approx(float(hop_label(0.0, phi_q)), abs=1e-6)
        elif b.kind[i] == 1:  # backward: BEFORE is the goal, Phi_p = 1
            assert b.hop[i] == pytest.approx(float(hop_label(1.0, phi_q)), abs=1e-6)
