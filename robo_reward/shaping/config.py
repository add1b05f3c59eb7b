"""Configuration of the reward shaping (``configs/shaping/*.yaml`` <-> :class:`ShapingConfig`)."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class ChoiceEnum(str, enum.Enum):
    """A string enum whose unknown values raise a ValueError listing the valid ones; str() is the value
    (so OmegaConf interpolations such as ``${shaping.kind}`` give ``pbrs``)."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "ChoiceEnum":
        valid = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"{cls.__name__}: got {value!r}; expected one of {valid}.")


class ShapingKind(ChoiceEnum):
    """How progress Phi becomes a dense reward term.

    * ``pbrs``: gamma * Phi(s') - Phi(s) (potential-based, policy invariant; Ng, Harada & Russell 1999).
    * ``naive``: Phi(s') (pays for being near the goal every step -> the "semantic trap").
    * ``delta``: Phi(s') - Phi(s) (no gamma: not invariant when gamma < 1).
    * ``sigmoid``: sigmoid(k * (Phi(s') - ref)), bounded and centred (also pays for hovering).
    * ``none``: no dense term (sparse reward only).
    """

    pbrs = "pbrs"
    naive = "naive"
    delta = "delta"
    sigmoid = "sigmoid"
    none = "none"


class SparseSource(ChoiceEnum):
    """Where the sparse task reward r_gold comes from."""

    env = "env"  # info["success"] from the environment
    model = "model"  # the reward model (see ShapingConfig.model_success)
    none = "none"


class ModelSuccess(ChoiceEnum):
    """Which reward-model output decides success when ``sparse == "model"``."""

    prob = "prob"  # success_prob >= success_threshold
    progress = "progress"  # progress >= 1 - delta (Robo-Dopamine's r_gold)
    either = "either"


@dataclass
class ShapingConfig:
    """Shaped reward r = sparse_weight * r_gold + dense_weight * term(Phi).

    Strings are accepted for the enum fields (``kind="pbrs"``) and converted in ``__post_init__``.
    """

    kind: ShapingKind = ShapingKind.pbrs
    """dense term: pbrs | naive | delta | sigmoid | none"""
    gamma: float | None = None
    """discount of the PBRS term; None = the learner's discount (required for policy invariance)"""
    sparse: SparseSource = SparseSource.env
    """source of the sparse success reward: env | model | none"""
    sparse_weight: float = 10.0
    """weight of the sparse success reward r_gold. 10 by default: with a learned, noisy Phi a learner finds the
    states where Phi errs high, and a heavy r_gold keeps finishing the task worth more (SAC on reach, learned
    reward, 12k steps: final success 0.00/0.03 with weight 1, 0.20/0.17/0.37/0.13 with 10; see
    configs/shaping/pbrs.yaml)"""
    dense_weight: float = 1.0
    """weight of the dense (progress) term"""
    model_success: ModelSuccess = ModelSuccess.either
    """with sparse=model: success from prob (success_prob >= threshold), progress (Phi >= 1-delta) or either"""
    success_threshold: float = 0.5
    """success_prob threshold for sparse=model"""
    delta: float = 0.05
    """progress tolerance: Phi(s') >= 1 - delta counts as success for sparse=model"""
    sigmoid_k: float = 10.0
    """slope k of the sigmoid term"""
    sigmoid_ref: float = 0.5
    """centre of the sigmoid term"""

    def __post_init__(self) -> None:
        self.kind = ShapingKind(self.kind)
        self.sparse = SparseSource(self.sparse)
        self.model_success = ModelSuccess(self.model_success)
        errors = []
        if self.gamma is not None and not 0.0 < self.gamma <= 1.0:
            errors.append(f"gamma must be in (0, 1] or null (= the learner's discount), got {self.gamma}")
        if not 0.0 <= self.success_threshold <= 1.0:
            errors.append(f"success_threshold must be in [0, 1], got {self.success_threshold}")
        if not 0.0 <= self.delta < 1.0:
            errors.append(f"delta must be in [0, 1), got {self.delta}")
        if self.sigmoid_k <= 0:
            errors.append(f"sigmoid_k must be > 0, got {self.sigmoid_k}")
        if errors:
            raise ValueError("ShapingConfig: " + "; ".join(errors) + ". Fix these fields in configs/shaping/*.yaml.")

    def resolve_gamma(self, learner_gamma: float) -> float:
        """The discount to use for the PBRS term.

        PBRS only leaves the optimal policy unchanged when its gamma equals the learner's discount, so a
        mismatch is allowed (for ablations) but logged as a warning.
        """
        if self.gamma is None:
            return float(learner_gamma)
        if self.kind is ShapingKind.pbrs and abs(self.gamma - learner_gamma) > 1e-9:
            logger.warning(
                "shaping.gamma=%s differs from the learner's gamma=%s: PBRS is then not policy invariant. "
                "Set shaping.gamma=null to tie them.", self.gamma, learner_gamma,
            )
        return float(self.gamma)
