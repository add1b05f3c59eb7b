"""Progress for long work that shows on a terminal and in logs alike.

tqdm draws a bar on a terminal and, with ``disable=None``, stays silent when stderr is not one (CI, ``nohup``, a
pipe, a batch job): a 10-minute embedding or training run then prints nothing until it ends. :class:`ProgressBar` is
tqdm on a terminal; where tqdm would stay silent it logs a line every ``log_every`` seconds instead (done, total,
elapsed, time left, the bar's postfix), and one at the end when the work took that long. tqdm has no such mode
(its ``logging_redirect_tqdm`` routes log records through a visible bar, the opposite direction), hence this class.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterable, Iterator

from tqdm.auto import tqdm

_LOG = logging.getLogger("robo_reward.progress")


class ProgressBar(tqdm):
    """``tqdm(...)`` with ``disable=None`` by default; off a terminal, a log line every ``log_every`` seconds.

    ``disable=True`` (e.g. a non-zero rank, ``progress=False``) silences both the bar and the log lines.

    Args:
        log_every: seconds between log lines when no bar is drawn.
        logger: where the lines go (default ``robo_reward.progress``).
    """

    def __init__(self, iterable: Iterable[Any] | None = None, *args: Any, log_every: float = 30.0,
                 logger: logging.Logger | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("disable", None)
        auto = kwargs["disable"] is None
        super().__init__(iterable, *args, **kwargs)
        self._logger = (logger or _LOG) if (auto and self.disable) else None
        if self._logger is None:
            return
        if self.total is None and iterable is not None and hasattr(iterable, "__len__"):
            self.total = len(iterable)  # type: ignore[arg-type]
        self._desc = kwargs.get("desc") or "progress"
        self._unit = kwargs.get("unit", "it")
        self._every = float(log_every)
        self._t0 = self._last = time.monotonic()
        self._post = ""
        self._logged = False
        self._done = False

    # -- used only when logging (tqdm's own methods return early when it is disabled)
    def _emit(self, now: float, final: bool = False) -> None:
        assert self._logger is not None
        elapsed = now - self._t0
        if self.total:
            pct = 100.0 * self.n / self.total
            head = f"{self._desc}: {self.n:g}/{self.total:g} {self._unit} ({pct:.0f} %), {elapsed:.0f} s"
            running = not final and 0 < self.n < self.total
            tail = f", ~{elapsed * (self.total - self.n) / self.n:.0f} s left" if running else ""
        else:
            head, tail = f"{self._desc}: {self.n:g} {self._unit}, {elapsed:.0f} s", ""
        self._logger.info("%s%s%s%s", head, tail, f", {self._post}" if self._post else "", " (done)" if final else "")
        self._last = now
        self._logged = True

    def update(self, n: float | None = 1) -> bool | None:
        if self._logger is None:
            return super().update(n)
        self.n += 1 if n is None else n
        now = time.monotonic()
        if now - self._last >= self._every:
            self._emit(now)
        return None

    def __iter__(self) -> Iterator[Any]:
        if self._logger is None:
            yield from super().__iter__()
            return
        for item in self.iterable:
            yield item
            self.update(1)

    def set_postfix(self, ordered_dict: Any = None, refresh: bool | None = True, **kwargs: Any) -> None:
        if self._logger is None:
            return super().set_postfix(ordered_dict, refresh, **kwargs)
        items = {**dict(ordered_dict or {}), **kwargs}
        self._post = ", ".join(f"{k} {v}" for k, v in items.items())

    def close(self) -> None:
        if getattr(self, "_logger", None) is not None and not self._done:
            self._done = True
            now = time.monotonic()
            if self._logged or now - self._t0 >= self._every:
                self._emit(now, final=True)
        super().close()
