"""Figures are written atomically: a failed save leaves the previous file whole and no temp file behind."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from robo_reward.report.figure import save_figure  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _fig():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


def test_save_figure_writes_a_png_and_closes_the_figure(tmp_path):
    fig = _fig()
    path = save_figure(fig, tmp_path / "sub" / "curve.png", dpi=50)
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in path.parent.iterdir()] == ["curve.png"]
    assert not plt.fignum_exists(fig.number)


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_figure(_fig(), tmp_path / "curve.png", dpi=50)
    before = path.read_bytes()
    fig = _fig()

    def broken(fname, **kw):
        with open(fname, "wb") as fh:
            fh.write(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]
    assert not plt.fignum_exists(fig.number)
