"""Matplotlib figures: Agg pyplot, and writing figures atomically (a reader never sees half a PNG), closed after."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from robo_reward.data.atomic import atomic_path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display on servers and in CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: float = 110) -> Path:
    """Save ``fig`` to ``path`` (format from its suffix) through a temporary file in the same folder and
    ``os.replace``; the figure is closed either way. Returns the path."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    return Path(path)
