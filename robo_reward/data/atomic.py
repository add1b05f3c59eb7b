"""Atomic file writes: a crash or an error while writing leaves either the old file or the new one, never half.

Every writer in the project goes through :func:`atomic_path`: the data goes to a temporary file in the target's
folder (same suffix, so writers that pick the format from the name, such as matplotlib or OpenCV, still work), is
flushed to disk, and replaces the target with ``os.replace`` (atomic on POSIX and Windows within one file system).
On an error the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import enum
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "json_default", "json_ready",
           "default_permissions"]


def _process_umask() -> int:
    """The process's umask, read once at import (setting and restoring it later would race other threads)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _process_umask()


def default_permissions(path: str | os.PathLike[str]) -> None:
    """Give a file or folder made by ``tempfile.mkstemp`` / ``mkdtemp`` (owner-only: 0600 / 0700) the permissions
    a plain ``open()`` / ``mkdir()`` would have given it (0666 / 0777 minus the umask), so that what the project
    writes atomically can be read by whoever could read the folder it lands in."""
    base = 0o777 if os.path.isdir(path) else 0o666
    os.chmod(path, base & ~_UMASK)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on leaving the block without an error, fsync it and move
    it onto ``path`` (parents are created). On an error, delete it and re-raise.

    >>> with atomic_path("run/model.safetensors") as tmp:  # doctest: +SKIP
    ...     save_file(tensors, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        default_permissions(tmp)
        yield tmp
        with open(tmp, "rb") as fh:  # writers that take a path do not sync: do it before the rename
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically. Returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically. Returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, default: Callable[[Any], Any] | None = None,
                      indent: int | None = 1) -> Path:
    """Write strict JSON atomically.

    numpy arrays and scalars, paths and enums are converted (``default`` converts other types, see
    :func:`json_ready`). NaN and infinities become ``null``: Python's json would write the bare tokens ``NaN`` /
    ``Infinity``, which strict parsers (browsers, jq, most languages' JSON libraries) reject, and a metric over an
    empty set is NaN."""
    text = json.dumps(json_ready(obj, default), indent=indent, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def json_ready(obj: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """``obj`` with containers rebuilt as dicts / lists, numpy values, paths and enums converted and non-finite
    floats replaced by ``None``, so that ``json.dumps(..., allow_nan=False)`` succeeds. ``default`` converts the
    types those conversions do not know (e.g. ``str``); without it they raise ``TypeError``."""
    if obj is None or isinstance(obj, (str, bool, int)) and not isinstance(obj, enum.Enum):
        return obj
    if isinstance(obj, float):  # np.float64 is a float
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {_json_key(k): json_ready(v, default) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v, default) for v in obj]
    try:
        return json_ready(json_default(obj), default)
    except TypeError:
        if default is None:
            raise
    return json_ready(default(obj))


def _json_key(k: Any) -> Any:
    if isinstance(k, np.generic):
        return k.item()
    return k.value if isinstance(k, enum.Enum) else k


def json_default(o: Any) -> Any:
    """``default=`` for :func:`json.dumps`: numpy arrays and scalars, paths and enums; ``TypeError`` otherwise."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, enum.Enum):
        return o.value
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")
