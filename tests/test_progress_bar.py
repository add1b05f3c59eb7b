"""ProgressBar: tqdm on a terminal, log lines where tqdm would stay silent (CI, nohup, pipes)."""

from __future__ import annotations

import io
import logging

from robo_reward.progress import ProgressBar


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "robo_reward.progress"]


def test_off_a_terminal_it_logs_counts_time_left_and_postfix(caplog):
    caplog.set_level(logging.INFO)
    bar = ProgressBar(total=4, desc="train reward", unit="step", log_every=0.0, file=io.StringIO())
    assert bar.disable  # a StringIO is not a terminal: tqdm would draw nothing
    bar.update(1)
    bar.set_postfix(loss="0.1234")
    bar.update(2)
    bar.close()
    lines = _lines(caplog)
    assert lines[0].startswith("train reward: 1/4 step (25 %)") and "s left" in lines[0]
    assert lines[1].startswith("train reward: 3/4 step (75 %)") and lines[1].endswith("loss 0.1234")
    assert lines[-1].startswith("train reward: 3/4 step") and lines[-1].endswith("(done)")
    bar.close()  # closing twice logs nothing more
    assert len(_lines(caplog)) == len(lines)


def test_iterating_yields_every_item_and_counts_it(caplog):
    caplog.set_level(logging.INFO)
    items = list(ProgressBar(["a", "b", "c"], desc="embedding", unit="episode", log_every=0.0, file=io.StringIO()))
    assert items == ["a", "b", "c"]
    lines = _lines(caplog)
    assert [line.split(" (")[0] for line in lines[:3]] == [f"embedding: {i}/3 episode" for i in (1, 2, 3)]


def test_short_work_logs_nothing_and_disable_true_silences_it(caplog):
    caplog.set_level(logging.INFO)
    with ProgressBar(total=3, desc="quick", file=io.StringIO()) as bar:  # default: a line every 30 s
        bar.update(3)
    off = ProgressBar(total=3, desc="rank 1", log_every=0.0, disable=True, file=io.StringIO())
    off.update(3)
    off.close()
    assert _lines(caplog) == []


def test_on_a_terminal_it_is_plain_tqdm(caplog):
    caplog.set_level(logging.INFO)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    with ProgressBar(total=2, desc="record", log_every=0.0, file=out) as bar:
        bar.update(2)
    assert "record" in out.getvalue() and "2/2" in out.getvalue()
    assert _lines(caplog) == []
