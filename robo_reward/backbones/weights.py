"""Weight files: load them safely, hash them, find hub weights without hanging, save backbones to safetensors.

Loading uses safetensors or ``torch.load(weights_only=True)`` only. A hub tag resolves to a file in the local
Hugging Face cache first; the network is tried only when ``HF_HUB_OFFLINE`` is unset *and* the hub answers a
3-second TCP probe, so a machine without internet fails at once with instructions instead of hanging.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import torch

from robo_reward.data.atomic import atomic_path

if TYPE_CHECKING:
    from robo_reward.backbones.base import Backbone

logger = logging.getLogger(__name__)

#: File endings treated as local weight files when given as ``weights``.
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
#: ``weights`` value that asks for random initialisation explicitly.
RANDOM = "random"


class WeightsUnavailableError(RuntimeError):
    """Hub weights are neither cached locally nor downloadable right now."""


def looks_like_path(weights: str) -> bool:
    """True if ``weights`` names a local file rather than a hub/pretrained tag."""
    return weights.endswith(WEIGHT_SUFFIXES) or os.sep in weights or "/" in weights or Path(weights).is_file()


def _check_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"Weight file {str(p)!r} does not exist (or is not a file). Check backbone.weights: it must be a local "
            f"weight file ({', '.join(WEIGHT_SUFFIXES)}), a pretrained tag, or null."
        )
    return p


@functools.lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a file's bytes (memoised per (path, size, mtime))."""
    p = _check_file(path).resolve()
    st = p.stat()
    return _sha256_cached(str(p), st.st_size, st.st_mtime_ns)


def _unwrap(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "module"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(
            f"Weight file {str(path)!r} does not hold a state dict (a non-empty mapping of parameter names to "
            f"tensors); got {type(obj).__name__}. Save weights with robo_reward.backbones.save_weights()."
        )
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def load_state_file(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Load a state dict from .safetensors (safetensors) or a torch checkpoint (``weights_only=True``), on CPU.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is corrupt, truncated, unsafe to unpickle, or holds no state dict; names the file.
    """
    p = _check_file(path)
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: object = load_file(str(p), device="cpu")
        else:
            obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # safetensors, pickle and zip errors have no common base class
        raise ValueError(
            f"Could not read weight file {str(p)!r}: {type(exc).__name__}: {_first_line(exc)}. The file is corrupt, truncated "
            "or not a weight file (torch checkpoints are loaded with weights_only=True). Re-download or re-save it."
        ) from exc
    return _unwrap(obj, p)


def load_into(model: torch.nn.Module, path: str | os.PathLike[str], what: str) -> None:
    """Load a weight file into ``model`` strictly, with an error naming the file and the mismatched keys."""
    load_state_into(model, load_state_file(path), path, what)


def load_state_into(
    model: torch.nn.Module, state: dict[str, torch.Tensor], path: str | os.PathLike[str], what: str
) -> None:
    """Strict ``load_state_dict`` whose error names the file and the mismatched keys."""
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(
            f"Weight file {str(path)!r} does not match {what}: {len(result.missing_keys)} missing keys "
            f"(e.g. {result.missing_keys[:3]}), {len(result.unexpected_keys)} unexpected keys "
            f"(e.g. {result.unexpected_keys[:3]}). Check backbone.model_name / backbone.image_size."
        )


def save_weights(backbone: Backbone, path: str | os.PathLike[str]) -> Path:
    """Save a backbone's weights to a local .safetensors file (atomically), loadable via ``weights: <path>``.

    Returns:
        The written path.
    """
    from safetensors.torch import save_file

    p = Path(path).expanduser()
    if p.suffix != ".safetensors":
        raise ValueError(f"save_weights writes safetensors; give a path ending in .safetensors, got {str(p)!r}.")
    p.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).contiguous().clone()
             for k, v in backbone.model.state_dict().items()}
    metadata = {"backbone": backbone.name, "model_name": backbone.model_name, "embed_dim": str(backbone.embed_dim)}
    with atomic_path(p) as tmp:
        save_file(state, tmp, metadata=metadata)
    logger.info("Saved %s weights (%d tensors) to %s", backbone.name, len(state), p)
    return p


def _hub_offline() -> bool:
    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return flag in ("1", "true", "yes", "on")


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    from huggingface_hub import constants

    url = urlparse(os.environ.get("HF_ENDPOINT", constants.ENDPOINT))
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def resolve_hub_file(repo_id: str, filenames: list[str], what: str, cache_dir: str | None = None) -> Path:
    """Find a hub weight file: the local HF cache first, then (if allowed and reachable) a download.

    Args:
        repo_id: Hugging Face repo, e.g. 'timm/vit_small_patch16_224.dino'.
        filenames: candidate files in order of preference (safetensors first).
        what: human description for error messages, e.g. "dino 'vit_small_patch16_224.dino'".
        cache_dir: HF cache dir (default: HF_HUB_CACHE / ~/.cache/huggingface/hub).

    Raises:
        WeightsUnavailableError: not cached and the hub is offline/unreachable; says how to provide the weights.
    """
    from huggingface_hub import constants, hf_hub_download

    cache_dir = cache_dir or os.environ.get("HF_HUB_CACHE") or None  # read now: huggingface_hub reads it at import
    for name in filenames:
        try:
            return Path(hf_hub_download(repo_id, name, cache_dir=cache_dir, local_files_only=True))
        except Exception:  # LocalEntryNotFoundError and friends: not cached
            continue
    offline = _hub_offline()
    reason = "HF_HUB_OFFLINE=1 is set" if offline else "the hub is unreachable (no network)"
    if not offline and _hub_reachable():
        last: Exception | None = None
        for name in filenames:
            try:
                logger.info("Downloading %s/%s for %s", repo_id, name, what)
                return Path(hf_hub_download(repo_id, name, cache_dir=cache_dir, etag_timeout=10))
            except Exception as exc:
                last = exc
        reason = f"the download failed ({type(last).__name__}: {last})"
    cache = cache_dir or constants.HF_HUB_CACHE
    raise WeightsUnavailableError(
        f"Weights for {what} are not available: {', '.join(filenames)} from hub repo {repo_id!r} is not in the "
        f"local Hugging Face cache ({cache}) and {reason}. Provide the weights locally: (a) set backbone.weights "
        f"to a local .safetensors/.pt file (e.g. one written by robo_reward.backbones.save_weights), or (b) on a "
        f"machine with internet run `hf download {repo_id} {filenames[0]}` and copy its HF cache folder here "
        f"(or point HF_HUB_CACHE at it)."
    )


def resolve_url_file(url: str, cache_dir: Path, what: str) -> Path:
    """A URL-hosted checkpoint is used only if already in ``cache_dir`` (no download without the hub client)."""
    target = cache_dir / os.path.basename(urlparse(url).path)
    if target.is_file():
        return target
    raise WeightsUnavailableError(
        f"Weights for {what} ({url}) are not in the local cache {str(target)!r}. Download that file on a machine "
        f"with internet and place it there, or set backbone.weights to a local weight file."
    )
