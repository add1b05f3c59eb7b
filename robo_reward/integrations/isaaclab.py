"""Isaac Lab reward term: learned progress from camera sensors, shaped on the GPU.

Isaac Lab is optional: if ``isaaclab`` is importable the term subclasses its ``ManagerTermBase`` (so the
``RewardManager`` accepts it), otherwise a plain base class with the same shape is used (for tests/docs).

Register it in a manager-based env config::

    from isaaclab.managers import RewardTermCfg as RewTerm
    from robo_reward.integrations.isaaclab import LearnedProgressReward
    from robo_reward.loading import load_progress_model   # trained or adapted reward directory
    from robo_reward.shaping import ShapingConfig

    @configclass
    class RewardsCfg:
        progress = RewTerm(
            func=LearnedProgressReward,
            params={
                "sensors": {"front": "front_cam", "wrist": "wrist_cam"},   # reward-model view -> scene sensor
                "model_factory": lambda num_envs, device: load_progress_model(DIR, num_envs, task="pick_place", device=device),
                "shaping": ShapingConfig(kind="pbrs", sparse="model"),
                "gamma": 0.99,                                            # the learner's discount
            },
            weight=1.0,
        )

The RewardManager multiplies every term by ``weight * dt``: a constant scale, which keeps PBRS policy
invariant (use ``weight = 1 / env.step_dt`` to get the raw shaped reward). Per-term episode sums are in
:attr:`LearnedProgressReward.episode_sums`; Isaac Lab itself logs the weighted total as
``Episode_Reward/<term name>``.

Frame timing: Isaac Lab computes rewards after the physics step and *before* resetting done envs, so at
``__call__`` the cameras show s' (= s_T for done envs), and ``termination_manager.terminated`` (true ends,
Phi(s_T) := 0) vs ``time_outs`` (truncation, real Phi(s_T)) is already known. At ``reset(env_ids)`` the
cameras still show the old episode (they re-render later), so the term only marks those envs; at their next
``__call__`` it calls ``model.reset`` with the frames of the new episode's first *observed* state s_1, so
that step is shaped with Phi(s_0) approximated by Phi(s_1) (reward (gamma - 1) * Phi(s_1) + sparse).
Success for the sparse term comes from the model (``sparse="model"``) or is left to another Isaac Lab term
(``sparse="none"``); ``sparse="env"`` is rejected.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

import torch

from robo_reward.shaping import ShapedReward, ShapingConfig, SparseSource
from robo_reward.types import BatchedProgressModel

logger = logging.getLogger(__name__)

try:  # pragma: no cover - Isaac Lab is not installable here
    from isaaclab.managers import ManagerTermBase as _TermBase
except ImportError:

    class _TermBase:  # type: ignore[no-redef]
        """Stand-in for ``isaaclab.managers.ManagerTermBase`` (same constructor and properties)."""

        def __init__(self, cfg: Any, env: Any):
            self.cfg = cfg
            self._env = env

        @property
        def num_envs(self) -> int:
            return int(self._env.num_envs)

        @property
        def device(self) -> str:
            return str(self._env.device)

        def reset(self, env_ids: Sequence[int] | None = None) -> None:
            pass


ModelFactory = Callable[[int, str], BatchedProgressModel]  # (num_envs, device) -> model


def read_camera(env: Any, sensor: str, key: str = "rgb") -> torch.Tensor:
    """(num_envs, H, W, 3) uint8 frames of scene sensor ``sensor`` (alpha dropped)."""
    try:
        cam = env.scene[sensor]
    except KeyError:
        raise ValueError(f"LearnedProgressReward: no sensor {sensor!r} in the scene; add a camera with that name "
                         "to the scene config or fix params['sensors'].") from None
    img = cam.data.output[key]
    if img.ndim != 4 or img.shape[-1] not in (3, 4):
        raise ValueError(f"sensor {sensor!r} output[{key!r}] must be (num_envs, H, W, 3|4), got {tuple(img.shape)}.")
    return img[..., :3]


class LearnedProgressReward(_TermBase):
    """Stateful Isaac Lab reward term: shaped learned progress, (num_envs,) float32 on ``env.device``.

    ``cfg.params`` (see the module docstring): ``sensors`` (view -> sensor name), ``model_factory``
    ((num_envs, device) -> BatchedProgressModel), ``shaping`` (ShapingConfig, default PBRS + model success),
    ``gamma`` (the learner's discount), ``image_key`` (camera output key, default "rgb").
    """

    def __init__(self, cfg: Any, env: Any):
        super().__init__(cfg, env)
        params = dict(getattr(cfg, "params", {}) or {})
        missing = [k for k in ("sensors", "model_factory", "gamma") if k not in params]
        if missing:
            raise ValueError(f"LearnedProgressReward needs params {missing}; got {sorted(params)}. "
                             "See robo_reward.integrations.isaaclab for a RewTerm example.")
        self.sensors: dict[str, str] = dict(params["sensors"])
        self.image_key: str = params.get("image_key", "rgb")
        self.model: BatchedProgressModel = params["model_factory"](self.num_envs, self.device)
        if self.model.num_envs != self.num_envs:
            raise ValueError(f"model_factory built a model for {self.model.num_envs} envs, env has {self.num_envs}.")
        unknown = [v for v in self.model.views if v not in self.sensors]
        if unknown:
            raise ValueError(f"the reward model needs views {unknown}; map them to scene cameras in "
                             f"params['sensors'] (got {sorted(self.sensors)}).")
        shaping = params.get("shaping") or ShapingConfig(sparse="model")
        if shaping.sparse is SparseSource.env:
            raise ValueError("LearnedProgressReward: shaping.sparse='env' is not available in Isaac Lab; use "
                             "sparse='model' or sparse='none' plus a separate success RewTerm.")
        self.shaper = ShapedReward(shaping, float(params["gamma"]), self.num_envs, device=self.device)
        self._pending = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)  # need model.reset
        self.last_terms: dict[str, torch.Tensor] = {}
        self.last_progress = torch.zeros(self.num_envs, device=self.device)

    @property
    def episode_sums(self) -> dict[str, torch.Tensor]:
        """Per-term sums of the running episodes, {term: (num_envs,)}."""
        return self.shaper.episode_sums

    def _frames(self, env: Any) -> dict[str, torch.Tensor]:
        return {view: read_camera(env, self.sensors[view], self.image_key) for view in self.model.views}

    def reset(self, env_ids: Sequence[int] | torch.Tensor | None = None) -> None:
        """Mark ``env_ids`` (None = all) as starting a new episode; their model state is reset at the next call."""
        if env_ids is None:
            self._pending[:] = True
        else:
            self._pending[torch.as_tensor(env_ids, device=self.device, dtype=torch.long)] = True

    def __call__(self, env: Any, sensors: Mapping[str, str] | None = None, model_factory: Any = None,
                 shaping: Any = None, gamma: float | None = None, image_key: str = "rgb") -> torch.Tensor:
        """Shaped reward of the transition every env just made, (num_envs,) float32.

        The keyword arguments mirror ``cfg.params`` (Isaac Lab passes them on every call); they are read once
        in ``__init__``.
        """
        frames = self._frames(env)
        pending = torch.nonzero(self._pending).flatten()
        if pending.numel():
            out0 = self.model.reset(pending, {v: f[pending] for v, f in frames.items()})
            self.shaper.reset(pending, out0.progress.to(self.device, torch.float32))
            self._pending[pending] = False
        out = self.model.step(frames)
        tm = getattr(env, "termination_manager", None)
        terminated = (tm.terminated.to(self.device) if tm is not None
                      else torch.zeros(self.num_envs, dtype=torch.bool, device=self.device))
        total, terms = self.shaper.compute(out.progress.to(self.device, torch.float32), terminated=terminated,
                                           success_prob=out.success_prob.to(self.device, torch.float32))
        self.last_terms = terms
        self.last_progress = out.progress.to(self.device, torch.float32)
        return total.clone()
