"""``robo-reward eval_reward``: how good is a trained process reward model on held-out episodes.

Numbers (all with the reference start/goal taken from OTHER successful episodes of the same task, up to
``num_references`` of them, scores averaged):

* ``voc_success``: mean Spearman of progress vs frame index on successful episodes (value-order correlation);
* ``voc_reversed``: the same on time-reversed successful episodes (should be close to -1);
* ``label_spearman``: mean Spearman of progress vs the stage labels on every episode (failures included);
* ``outcome_accuracy``: 3-way success / partial / failure accuracy: success from the final progress, partial vs
  failure from the peak progress (:func:`~robo_reward.reward.calibration.peak_progress`) or, by the model's
  ``outcome_rule``, from the peak of the engaged head's probability
  (:func:`~robo_reward.reward.calibration.engaged_peak`); thresholds fit on held-out training episodes (stored
  with the model); ``outcome_accuracy_compare``: the other rule's accuracy on the same model;
* ``auroc_success``: success vs not-success AUROC from final progress;
* ``episodes`` (overall only): per episode its path, task, true and predicted outcome, final and peak progress,
  engaged peak;
  drawn in ``outcomes.png`` with the thresholds, one panel per task (next to ``progress_curves.png``);
* ``views``: ``voc_success`` / ``auroc_success`` with all views and with each single view;
* ``no_goal``: ``voc_success`` without the goal reference.

Leave-one-task-out: set ``task_texts`` for a task the model never saw; its reference demo is taken from the
evaluation episodes (one successful demo), never from the episode being scored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from scipy.stats import spearmanr

from robo_reward.data.atomic import atomic_write_json
from robo_reward.progress import ProgressBar
from robo_reward.report.figure import pyplot, save_figure
from robo_reward.reward.calibration import OUTCOME_CLASSES, classify_features, curve_features, outcome_features
from robo_reward.reward.data import EmbeddedEpisode, Reference, other_references
from robo_reward.reward.scoring import EpisodeScore, ProgressScorer

logger = logging.getLogger(__name__)


@dataclass
class EvalRewardConfig:
    """Evaluation of a trained reward model (maps onto ``configs/eval_reward.yaml``)."""

    model_dir: str = "runs/reward/model"
    """reward-model directory written by train_reward"""
    data_roots: List[str] = field(default_factory=lambda: ["data/episodes_test"])
    """held-out recorded episodes"""
    tasks: Optional[List[str]] = None
    """evaluate only these tasks (null = all)"""
    task_texts: Dict[str, str] = field(default_factory=dict)
    """extra tasks the model never trained on (leave-one-task-out): task -> instruction; their episodes are scored
    with the text and one reference demo from the evaluation data"""
    num_references: int = 3
    """each episode is scored against up to this many other successful demos of its task, averaged"""
    cache_dir: str = "data/cache/embeddings"
    out_dir: str = "runs/reward_eval"
    """JSON metrics and PNG plots go here"""
    device: str = "auto"
    max_curves: int = 5
    """episodes per outcome drawn in the progress-curve plot"""

    def __post_init__(self) -> None:
        if not self.data_roots:
            raise ValueError("data_roots is empty: give at least one folder of held-out episodes")
        if self.num_references < 1:
            raise ValueError(f"num_references must be >= 1, got {self.num_references}")
        if self.max_curves < 0:
            raise ValueError(f"max_curves must be >= 0, got {self.max_curves}")


def voc(progress: np.ndarray) -> float:
    """Value-order correlation: Spearman of (T,) progress vs frame index (0 for constant curves)."""
    if len(progress) < 2 or np.ptp(progress) == 0:
        return 0.0
    return float(spearmanr(np.arange(len(progress)), progress)[0])


def auroc(scores_pos: Sequence[float], scores_neg: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U with ties counted half); NaN if a class is empty."""
    p, n = np.asarray(scores_pos, float), np.asarray(scores_neg, float)
    if p.size == 0 or n.size == 0:
        return float("nan")
    greater = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(greater / (p.size * n.size))


def references_for(ep: EmbeddedEpisode, pool: Sequence[EmbeddedEpisode], texts: dict[str, np.ndarray | None],
                   fallback: dict[str, Reference], k: int = 1) -> list[Reference]:
    """Up to ``k`` references from other successful episodes of the task in ``pool``, else the stored one (unless
    it was made from ``ep``: models saved before references were keyed by path name their source by folder name)."""
    try:
        return other_references(ep, pool, texts, k)  # type: ignore[arg-type]
    except ValueError:
        if ep.task in fallback and fallback[ep.task].source not in (ep.key, ep.name.removesuffix("/reversed")):
            return [fallback[ep.task]]
        raise ValueError(f"no reference demo for task {ep.task!r} other than episode {ep.key}") from None


def evaluate_embedded(
    scorer: ProgressScorer,
    episodes: Sequence[EmbeddedEpisode],
    texts: dict[str, np.ndarray | None],
    thresholds: dict[str, Any] | None,
    stored_refs: dict[str, Reference] | None = None,
    num_references: int = 1,
    score_cache: dict[tuple, EpisodeScore] | None = None,
    progress: bool = False,
) -> tuple[dict[str, Any], dict[str, list[tuple[str, EpisodeScore]]]]:
    """All metrics on embedded episodes; also returns the scored curves per outcome (for plots).

    ``score_cache``: a dict shared between calls on the same episodes (the whole set, then each task's subset),
    keyed by :attr:`EmbeddedEpisode.key`: an episode's references come from successful episodes of its own task
    only, so its scores do not depend on which other tasks are in ``episodes`` and are computed once (halves
    ``eval-reward``'s time).
    ``progress``: a progress bar over the curves to score (on a terminal).
    """
    stored_refs = stored_refs or {}
    cache = {} if score_cache is None else score_cache
    views = [v for v in scorer.views if v in episodes[0].emb]
    succ = [e for e in episodes if e.outcome == "success"]
    curves: dict[str, list[tuple[str, EpisodeScore]]] = {k: [] for k in (*OUTCOME_CLASSES, "reversed")}
    # calls of score() below: every episode with all views; successes reversed and without the goal; per single
    # view, the successes' VOC and every episode's final progress (cached calls tick too)
    total = len(episodes) + 2 * len(succ) + (len(views) * (len(succ) + len(episodes)) if len(views) > 1 else 0)
    bar = ProgressBar(total=total, desc="scoring", unit="curve", disable=None if progress else True, leave=False)

    def score(ep: EmbeddedEpisode, vs: Sequence[str], use_goal: bool = True) -> EpisodeScore:
        key = (ep.key, ep.outcome == "reversed", tuple(vs), use_goal)  # a reversed copy keeps its source's key
        if key not in cache:
            ref = references_for(ep, episodes, texts, stored_refs, num_references)
            cache[key] = scorer.score_embeddings({v: ep.emb[v] for v in vs}, ref, use_goal=use_goal)
        bar.update()
        return cache[key]

    feats, outcomes, label_rho, voc_s = [], [], [], []
    for ep in episodes:
        s = score(ep, views)
        curves.setdefault(ep.outcome, []).append((ep.name, s))
        feats.append(outcome_features(s.progress, s.success_prob, s.engaged))
        outcomes.append(ep.outcome)
        if np.ptp(ep.progress) > 0 and np.ptp(s.progress) > 0:
            label_rho.append(float(spearmanr(ep.progress, s.progress)[0]))
        if ep.outcome == "success":
            voc_s.append(voc(s.progress))
    voc_r = []
    for ep in succ:
        rev = ep.reversed()
        s = score(rev, views)
        curves["reversed"].append((rev.name, s))
        voc_r.append(voc(s.progress))
    finals_a, outcomes_a = np.asarray([f["final"] for f in feats]), np.asarray(outcomes)
    peaks = [f["peak"] for f in feats]
    res: dict[str, Any] = {
        "num_episodes": len(episodes),
        "outcome_counts": {k: int((outcomes_a == k).sum()) for k in OUTCOME_CLASSES},
        "voc_success": _mean(voc_s),
        "voc_reversed": _mean(voc_r),
        "label_spearman": _mean(label_rho),
        "auroc_success": auroc(finals_a[outcomes_a == "success"], finals_a[outcomes_a != "success"]),
        "final_progress_mean": {k: _mean(finals_a[outcomes_a == k].tolist()) for k in OUTCOME_CLASSES},
        "peak_progress_mean": {k: _mean(np.asarray(peaks)[outcomes_a == k].tolist()) for k in OUTCOME_CLASSES},
    }
    if thresholds:
        tasks = [e.task for e in episodes]
        pred = classify_features(feats, thresholds, tasks)
        res["outcome_accuracy"] = float(np.mean(pred == outcomes_a))
        compare = thresholds.get("compare") or {}
        if compare:
            res["outcome_accuracy_compare"] = {name: float(np.mean(classify_features(feats, th, tasks) == outcomes_a))
                                               for name, th in compare.items()}
        res["confusion"] = {t: {p: int(((outcomes_a == t) & (pred == p)).sum()) for p in OUTCOME_CLASSES}
                            for t in OUTCOME_CLASSES}
        res["episodes"] = [{"path": e.key, "task": e.task, "outcome": e.outcome,
                            "predicted": str(pr), "final_progress": f["final"], "peak_progress": f["peak"],
                            "engaged_peak": f["engaged"]}
                           for e, pr, f in zip(episodes, pred, feats)]
        res["thresholds"] = thresholds
    subsets = {"all": views, **{v: [v] for v in views}} if len(views) > 1 else {"all": views}
    res["views"] = {}
    for name, vs in subsets.items():
        if name == "all":
            v_voc, fins = voc_s, finals_a
        else:
            v_voc = [voc(score(e, vs).progress) for e in succ]
            fins = np.asarray([curve_features(*_pp(score(e, vs)))[0] for e in episodes])
        res["views"][name] = {"voc_success": _mean(v_voc),
                              "auroc_success": auroc(fins[outcomes_a == "success"], fins[outcomes_a != "success"])}
    singles = [res["views"][v]["voc_success"] for v in views if v in res["views"] and v != "all"]
    res["multiview_gain_over_best_single"] = (res["voc_success"] - max(singles)) if singles else 0.0
    res["no_goal"] = {"voc_success": _mean([voc(score(e, views, use_goal=False).progress) for e in succ])}
    bar.close()
    return res, curves


def _pp(s: EpisodeScore) -> tuple[np.ndarray, np.ndarray]:
    return s.progress, s.success_prob


def _mean(x: Sequence[float]) -> float:
    return float(np.mean(x)) if len(x) else float("nan")


def plot_curves(curves: dict[str, list[tuple[str, EpisodeScore]]], path: str | Path, max_curves: int = 5) -> Path:
    """PNG with one panel per outcome (success, partial, failure, reversed): progress and success prob vs frame."""
    plt = pyplot()

    kinds = ["success", "partial", "failure", "reversed"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), sharey=True)
    for ax, kind in zip(axes, kinds):
        for name, s in curves.get(kind, [])[:max_curves]:
            (line,) = ax.plot(s.progress, label=name.split("/")[-1] if kind != "reversed" else name.split("/")[-2])
            ax.plot(s.success_prob, ls=":", color=line.get_color(), alpha=0.7)
        ax.set_title(f"{kind} ({len(curves.get(kind, []))} episodes)")
        ax.set_xlabel("frame")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        if curves.get(kind):
            ax.legend(fontsize=6, loc="best")
    axes[0].set_ylabel("progress (solid), success prob (dotted)")
    fig.tight_layout()
    return save_figure(fig, path)


OUTCOME_COLORS = {"success": "tab:green", "partial": "tab:orange", "failure": "tab:red"}


def plot_outcomes(rows: Sequence[dict[str, Any]], thresholds: dict[str, Any], path: str | Path) -> Path:
    """PNG of the 3-way call, one panel per task: each episode at (peak, final progress), coloured by its true
    outcome, crossed out when called wrong, with the task's thresholds (final >= success line: success; else
    peak >= partial line: partial; else failure). The peak is the engaged head's when the thresholds use it, else
    the peak progress."""
    plt = pyplot()

    tasks = sorted({r["task"] for r in rows})
    fig, axes = plt.subplots(1, max(len(tasks), 1), figsize=(3.4 * max(len(tasks), 1), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        rs = [r for r in rows if r["task"] == task]
        th = (thresholds.get("per_task") or {}).get(task, thresholds)
        x_key, x_label = ("engaged_peak", "engaged peak") if "partial_engaged" in th else ("peak_progress", "peak progress")
        for kind, color in OUTCOME_COLORS.items():
            ok = [r for r in rs if r["outcome"] == kind and r["predicted"] == kind]
            bad = [r for r in rs if r["outcome"] == kind and r["predicted"] != kind]
            ax.scatter([r[x_key] for r in ok], [r["final_progress"] for r in ok], s=14, color=color,
                       alpha=0.7, label=kind)
            ax.scatter([r[x_key] for r in bad], [r["final_progress"] for r in bad], s=40, color=color,
                       marker="x", label=f"{kind}, called wrong" if bad else None)
        ax.axhline(th["success"], color="k", lw=1, ls="--")
        vertical = [k for k in ("partial_peak", "partial_engaged") if k in th]
        if vertical:
            ax.plot([th[vertical[0]]] * 2, [-0.02, th["success"]], color="gray", lw=1, ls="--")
        elif "partial" in th:
            ax.axhline(th["partial"], color="gray", lw=1, ls="--")
        acc = float(np.mean([r["predicted"] == r["outcome"] for r in rs])) if rs else float("nan")
        ax.set(title=f"{task}: 3-way {acc:.2f} ({len(rs)} episodes)", xlabel=x_label, xlim=(-0.02, 1.02),
               ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper left")
    axes[0][0].set_ylabel("final progress")
    fig.tight_layout()
    return save_figure(fig, path)


def run(cfg: EvalRewardConfig) -> dict[str, Any]:
    """Evaluate ``cfg.model_dir`` on ``cfg.data_roots``; writes metrics.json and progress_curves.png."""
    from robo_reward.reward.data import load_embedded_episodes
    from robo_reward.reward.pipeline import load_reward_model
    from robo_reward.reward.train import video_encoder

    pipe = load_reward_model(cfg.model_dir, cfg.device, load_backbone=True, load_text_encoder=bool(cfg.task_texts))
    episodes = load_embedded_episodes(cfg.data_roots, video_encoder(pipe.backbone, cfg.cache_dir),
                                      [v for v in pipe.views], cfg.tasks)
    texts: dict[str, np.ndarray | None] = {t: r.text for t, r in pipe.references.items()}
    if cfg.task_texts:
        assert pipe.text_encoder is not None
        vecs = pipe.text_encoder.encode(list(cfg.task_texts.values())).detach().float().cpu().numpy()
        texts.update({t: vecs[i] for i, t in enumerate(cfg.task_texts)})
    unknown = sorted({e.task for e in episodes} - set(texts))
    if unknown:
        raise ValueError(f"tasks {unknown} are unknown to the model; give their instructions in task_texts")
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"model_dir": cfg.model_dir, "per_task": {}}
    scores: dict[tuple, EpisodeScore] = {}  # each episode is scored once for the overall and the per-task figures
    all_res, curves = evaluate_embedded(pipe.scorer, episodes, texts, pipe.meta.get("outcome_thresholds"),
                                        pipe.references, cfg.num_references, scores, progress=True)
    results["overall"] = all_res
    results["loto_tasks"] = sorted(cfg.task_texts)
    for task in sorted({e.task for e in episodes}):
        eps = [e for e in episodes if e.task == task]
        if any(e.outcome == "success" for e in eps):
            results["per_task"][task] = evaluate_embedded(pipe.scorer, eps, texts, pipe.meta.get("outcome_thresholds"),
                                                          pipe.references, cfg.num_references, scores)[0]
    for r in results["per_task"].values():
        r.pop("episodes", None)  # listed once, under overall
    results["plot"] = str(plot_curves(curves, out / "progress_curves.png", cfg.max_curves))
    if all_res.get("episodes"):
        results["outcome_plot"] = str(plot_outcomes(all_res["episodes"], pipe.meta["outcome_thresholds"],
                                                    out / "outcomes.png"))
    atomic_write_json(out / "metrics.json", results, indent=2)
    logger.info("VOC success %.3f, reversed %.3f, 3-way acc %s", all_res["voc_success"], all_res["voc_reversed"],
                all_res.get("outcome_accuracy"))
    files = [out / "metrics.json", results["plot"], results.get("outcome_plot")]
    return {**results, "summary": summary_table(results) + "\nwrote " + ", ".join(str(f) for f in files if f)}


def summary_table(results: dict[str, Any]) -> str:
    """Per task and overall: VOC, reversed VOC, 3-way accuracy (and the other outcome rule's), AUROC and each single
    view's VOC (terminal text)."""
    rows = [*sorted(results["per_task"].items()), ("overall", results["overall"])]
    views = [v for v in results["overall"].get("views", {}) if v != "all"]
    compare = list(results["overall"].get("outcome_accuracy_compare", {}))
    lines = [f"{'task':12s} {'VOC':>6s} {'revVOC':>7s} {'3-way':>6s}" + "".join(f" {'3w:' + c:>10s}" for c in compare)
             + f" {'AUROC':>6s}" + "".join(f" {v:>7s}" for v in views)]
    for task, r in rows:
        vv = "".join(f" {r.get('views', {}).get(v, {}).get('voc_success', float('nan')):7.3f}" for v in views)
        cc = "".join(f" {r.get('outcome_accuracy_compare', {}).get(c, float('nan')):10.3f}" for c in compare)
        lines.append(f"{task:12s} {r['voc_success']:6.3f} {r['voc_reversed']:7.3f} "
                     f"{r.get('outcome_accuracy', float('nan')):6.3f}{cc} {r['auroc_success']:6.3f}{vv}")
    if compare:
        lines.append(f"(3w:<rule>: 3-way accuracy of the same model with the {', '.join(compare)} rule)")
    if views:
        lines.append("(view columns: VOC on successes with that view alone)")
    return "\n".join(lines)
