"""Turn the main job's stage results into figures (PNG) and ``report.html``."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from robo_reward.report.figure import pyplot, save_figure
from robo_reward.report.html import Figure, Section, Table, write_report
from robo_reward.stages import StageResult

logger = logging.getLogger(__name__)


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def quality_table(ev: dict[str, Any]) -> Table:
    rows = []
    for name, m in [("all tasks", ev.get("overall", {}))] + sorted(ev.get("per_task", {}).items()):
        rows.append([name, _num(m.get("voc_success")), _num(m.get("voc_reversed")), _num(m.get("outcome_accuracy")),
                     _num(m.get("auroc_success"))])
    return Table(["held-out episodes", "VOC (success)", "VOC (reversed)", "3-way accuracy", "AUROC success vs not"], rows,
                 "VOC = Spearman of progress vs frame index; goal reference always from another episode.")


def views_table(ev: dict[str, Any]) -> Table:
    views = ev.get("overall", {}).get("views", {})
    rows = [[name, _num(v.get("voc_success")), _num(v.get("auroc_success"))] for name, v in views.items()]
    return Table(["views used", "VOC (success)", "AUROC"], rows, "All views fused vs each single view.")


def plot_adapt_curves(curves_path: Path, path: Path, title: str) -> Path:
    plt = pyplot()
    curves = json.loads(Path(curves_path).read_text())
    colors = {"success": "tab:green", "partial": "tab:orange", "failure": "tab:red", "reversed": "tab:purple"}
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for kind, items in curves.items():
        for i, item in enumerate(items[:6]):
            p = np.asarray(item["progress"])
            ax.plot(np.linspace(0, 1, len(p)), p, color=colors.get(kind, "gray"), alpha=0.8, label=kind if i == 0 else None)
    ax.set(xlabel="episode time (normalised)", ylabel="progress Φ", ylim=(-0.02, 1.02), title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def plot_rollout_strip(frames: np.ndarray, progress: np.ndarray, path: Path, title: str, n: int = 6) -> Path:
    """n evenly spaced frames on top, the progress curve under them with the frames' times marked."""
    plt = pyplot()
    t = len(frames)
    idx = np.linspace(0, t - 1, n).round().astype(int)
    fig = plt.figure(figsize=(1.6 * n, 3.6))
    gs = fig.add_gridspec(2, n, height_ratios=[1.0, 0.9])
    for j, i in enumerate(idx):
        ax = fig.add_subplot(gs[0, j])
        ax.imshow(frames[i])
        ax.set_title(f"t={i}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(gs[1, :])
    ax.plot(np.arange(t), progress, color="tab:blue")
    ax.scatter(idx, progress[idx], color="tab:blue", zorder=3)
    ax.set(xlim=(0, t - 1), ylim=(-0.02, 1.02), xlabel="frame", ylabel="progress Φ")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def plot_learning_curves(rl: dict[str, Any], path: Path, task: str) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, color in (("sparse", "tab:gray"), ("pbrs", "tab:blue")):
        r = rl.get(name, {})
        ts, sr = r.get("eval_timesteps", []), r.get("eval_success_rate", [])
        pts = [(t, s) for t, s in zip(ts, sr) if s is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", color=color, label=f"{name} (final {_num(r.get('final_success_rate')):.2f})")
    ax.set(xlabel="environment steps", ylabel="success rate", ylim=(-0.02, 1.02), title=f"{task}: sparse vs PBRS")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def plot_ros(traces_path: Path, path: Path, task: str) -> Path:
    plt = pyplot()
    traces = json.loads(Path(traces_path).read_text())
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, tr in traces.items():
        ax.plot(tr["t"], tr["progress"], label=f"{name} (sim success: {tr['success']})")
    ax.set(xlabel="seconds since reset", ylabel="/reward/progress", ylim=(-0.02, 1.02), title=f"live over ROS 2: {task}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def plot_timings(stages: Sequence[StageResult], path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.6))
    names = [s.name + (" (cached)" if s.cached else "") for s in stages]
    ax.barh(names[::-1], [s.seconds for s in stages][::-1], color="tab:blue")
    ax.set(xlabel="seconds (when last run)")
    fig.tight_layout()
    save_figure(fig, path)
    return path


def _rollout_strip(adapt: dict[str, Any], data_dir: Path, path: Path) -> Path | None:
    """Held-out success episode of the adapted task, with the adapted reward's progress under it."""
    from robo_reward.data import read_episode

    curves = json.loads(Path(adapt["curves"]).read_text())
    if not curves.get("success"):
        return None
    item = curves["success"][0]
    ep = read_episode(Path(data_dir) / "adapt_test" / item["episode"])
    view = "front" if "front" in ep.frames else ep.views[0]
    return plot_rollout_strip(ep.frames[view], np.asarray(item["progress"]), path,
                              f"{adapt['task']} (held-out, randomised scene), '{view}' view, adapted reward")


def build_report(out_dir: Path, cfg_dict: dict[str, Any], stages: Sequence[StageResult], ros_note: str,
                 wall_seconds: float, host: str) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    by = {s.name: s.results for s in stages}
    sections: list[Section] = []
    quick = " (quick: toy sizes, numbers are not meaningful)" if cfg_dict.get("quick") else ""

    rec = by["data"]
    sheet = Path(shutil.copy(rec["contact_sheet"], out_dir / "contact_sheet.png"))
    counts = [[k, v.get("success", 0), v.get("partial", 0), v.get("failure", 0)] for k, v in rec["episodes"].items()]
    sections.append(Section("1. Demonstrations recorded in PyBullet", "Scripted experts and failure generators on a "
                            "Franka Panda; one video per camera view.", [Figure(sheet, "Contact sheet: rows are "
                            "camera views, columns evenly spaced frames of one successful episode.")],
                            [Table(["dataset", "success", "partial", "failure"], counts)]))

    ev = by["reward_eval"]
    figs = []
    if ev.get("plot") and Path(ev["plot"]).is_file():
        figs.append(Figure(Path(shutil.copy(ev["plot"], out_dir / "progress_curves.png")),
                           "Progress on held-out success, partial, failure and time-reversed episodes."))
    if ev.get("outcome_plot") and Path(ev["outcome_plot"]).is_file():
        figs.append(Figure(Path(shutil.copy(ev["outcome_plot"], out_dir / "outcomes.png")),
                           "The 3-way success / partial / failure call per task: each held-out episode at its peak "
                           "and final progress, coloured by its true outcome, crossed when called wrong; dashed: the "
                           "thresholds fit at training time."))
    sections.append(Section("2. Process reward model: quality on held-out episodes" + quick,
                            f"Trained on {', '.join(cfg_dict['train_tasks'])} from frozen EfficientNet-Lite0 "
                            "features (ImageNet weights) and MiniLM task text.", figs,
                            [quality_table(ev), views_table(ev)]))

    ad = by["adapt"]
    m = ad["metrics"]
    figs = [Figure(plot_adapt_curves(Path(ad["curves"]), out_dir / "adapt_curves.png",
                                     f"adapted reward on held-out '{ad['task']}' episodes"),
                   "Adapted reward on held-out episodes of the new task (randomised lighting, table, cameras).")]
    strip = _rollout_strip(ad, Path(cfg_dict["out"]) / "data", out_dir / "rollout_strip.png")
    if strip is not None:
        figs.append(Figure(strip, "A held-out rollout with the adapted reward's progress under it."))
    sections.append(Section(f"3. Few-shot adaptation from one demo video: {ad['task']}" + quick,
                            f"Task text: \"{ad['instruction']}\". The base model never trained on this task.", figs,
                            [Table(["VOC (success)", "VOC (reversed)", "AUROC success vs not", "adapt s", "score s (median)"],
                                   [[_num(m["voc_success"]), _num(m["voc_reversed"]), _num(m["auroc_success_vs_not"]),
                                     _num(m["adapt_seconds"]), _num(m["score_seconds_median"])]],
                                   f"episodes scored: {m['counts']}")]))

    rl = by["rl"]
    lc = plot_learning_curves(rl, out_dir / "learning_curves.png", ad["task"])
    rows = [[k, _num(v.get("final_success_rate")), _num(v.get("final_mean_progress")), _num(v.get("final_mean_length")),
             _num(v.get("env_steps_per_s"))] for k, v in rl.items()]
    sections.append(Section("4. Policy learning with potential-based shaping" + quick,
                            "SAC on state observations; the learned reward sees the camera frames. PBRS: "
                            "r = r_sparse + γΦ(s') − Φ(s), Φ = adapted progress.", [Figure(lc, "Evaluation success rate during training.")],
                            [Table(["reward", "final success", "true progress at the end", "mean episode length", "env steps/s"], rows)]))

    if "ros" in by:
        r = by["ros"]
        fig = plot_ros(Path(r["traces"]), out_dir / "ros_live.png", r["task"])
        rows = [[k, v["messages"], _num(v["final_progress"]), _num(v["max_progress"]), str(v["success"])]
                for k, v in r["summary"].items()]
        sections.append(Section("5. Live on a simulated arm over ROS 2", "sim arm node (PyBullet behind ros2_control-style "
                                "topics) + reward node, real DDS on loopback.", [Figure(fig, "Progress published by the reward node.")],
                                [Table(["autopilot", "messages", "final progress", "max progress", "sim success"], rows)]))
    else:
        sections.append(Section("5. Live on a simulated arm over ROS 2", f"Skipped: {ros_note}."))

    tf = plot_timings(stages, out_dir / "timings.png")
    sections.append(Section("6. Timings", f"Wall time of this invocation: {wall_seconds:.0f} s on {host}.",
                            [Figure(tf, "Stage wall times.")],
                            [Table(["stage", "seconds", "cached"], [[s.name, s.seconds, str(s.cached)] for s in stages])]))
    sections.append(Section("Configuration", json.dumps(cfg_dict, indent=1)))
    return write_report(out_dir, "robo-reward: main job report", f"seed {cfg_dict['seed']}", sections)


def report_numbers_finite(summary: dict[str, Any]) -> list[str]:
    """Names of headline numbers that are missing or not finite (used by the tests)."""
    bad = []
    checks = {
        "reward_eval.voc_success": summary.get("reward_eval", {}).get("overall", {}).get("voc_success"),
        "reward_eval.voc_reversed": summary.get("reward_eval", {}).get("overall", {}).get("voc_reversed"),
        "adapt.voc_success": summary.get("adapt", {}).get("metrics", {}).get("voc_success"),
        "rl.pbrs.final_success_rate": summary.get("rl", {}).get("pbrs", {}).get("final_success_rate"),
        "rl.sparse.final_success_rate": summary.get("rl", {}).get("sparse", {}).get("final_success_rate"),
    }
    for name, v in checks.items():
        if v is None or not math.isfinite(_num(v)):
            bad.append(name)
    return bad
