"""Command-line entry points ``robo-reward adapt`` and ``robo-reward score`` (argparse; fixed contract).

Bad input prints ONE line ``robo-reward <cmd>: error: <reason>`` to stderr and exits 2; success exits 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn

logger = logging.getLogger(__name__)

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_INPUT)


def _adapt_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="robo-reward adapt", description="Adapt a dense reward model from one demonstration video.")
    p.add_argument("--demo", required=True, metavar="EPISODE", help="directory with one video per camera view (stem = view name), or one video file")
    p.add_argument("--task", required=True, metavar="TEXT", help="task text")
    p.add_argument("--out", required=True, metavar="DIR", help="output reward directory")
    p.add_argument("--keyframes", metavar="FILE", help='JSON [{"stage": name, "start_frame": i, "end_frame": j}, ...]; default: discover stages')
    p.add_argument("--base", metavar="CHECKPOINT", help="base reward-model directory (robo-reward train-reward output) to fine-tune from; its backbone is used")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backbone", default=None, help="vision backbone name (default efficientnet_lite0)")
    p.add_argument("--image-size", type=int, default=None, help="backbone input side in pixels (default 128)")
    p.add_argument("--augment-copies", type=int, default=None, help="domain-jittered copies of the demo (default 4)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _score_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="robo-reward score", description="Per-frame progress of an episode under an adapted reward model.")
    p.add_argument("--reward", required=True, metavar="DIR", help="directory written by robo-reward adapt")
    p.add_argument("--episode", required=True, metavar="EPISODE", help="directory with one video per view, or one video file")
    p.add_argument("--out", required=True, metavar="FILE.json")
    p.add_argument("--task", metavar="TEXT", help="task text (checked against the reward's task)")
    p.add_argument("--max-frames", type=int, default=None, help="score at most this many frames (default 150), interpolate the rest")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _fail(prog: str, exc: BaseException) -> int:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    sys.stderr.write(f"{prog}: error: {msg}\n")
    return EXIT_INPUT


def adapt_main(argv: list[str] | None = None) -> int:
    """``robo-reward adapt --demo EPISODE --task TEXT --out DIR [--keyframes FILE] [--base CHECKPOINT] [--seed N]``."""
    parser = _adapt_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    _setup_logging(args.verbose)
    from robo_reward.adapt.errors import InputError
    from robo_reward.adapt.pipeline import AdaptConfig, default_backbone, run_adapt

    prog = parser.prog
    try:
        backbone = default_backbone()
        if args.base is not None and (args.backbone is not None or args.image_size is not None):
            raise InputError("--backbone/--image-size cannot be combined with --base: the base model fixes the backbone")
        if args.backbone is not None or args.image_size is not None:
            from robo_reward.backbones.base import BackboneConfig

            backbone = BackboneConfig(name=args.backbone or backbone.name, image_size=args.image_size or backbone.image_size)
        extra = {} if args.augment_copies is None else {"augment_copies": args.augment_copies}
        cfg = AdaptConfig(
            demo=args.demo, task=args.task, out=args.out, keyframes=args.keyframes, base=args.base, seed=args.seed, backbone=backbone, **extra
        )
    except (InputError, ValueError) as exc:
        return _fail(prog, exc)
    try:
        summary = run_adapt(cfg)
    except InputError as exc:
        return _fail(prog, exc)
    stages = ", ".join(f"{s['stage']}[{s['start_frame']}-{s['end_frame']}]" for s in summary["stages"])
    base = summary.get("base")
    from_base = ""
    if base:
        views = ", ".join(f"{a}->{b}" for a, b in base["view_map"].items())
        from_base = f", base {base['source']} fine-tuned {int(base['tune']['steps'])} steps (views {views})"
    sys.stdout.write(
        f"wrote {summary['out']}: views {summary['views']}, {summary['num_frames']} frames, stages {stages}{from_base}, "
        f"in-sample VOC {summary['in_sample_voc']:.3f}, {summary['timing']['total_s']:.1f} s\n"
    )
    return 0


def score_main(argv: list[str] | None = None) -> int:
    """``robo-reward score --reward DIR --episode EPISODE --out FILE.json [--task TEXT]``."""
    parser = _score_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    _setup_logging(args.verbose)
    from robo_reward.adapt.errors import InputError
    from robo_reward.adapt.pipeline import ScoreConfig, run_score

    prog = parser.prog
    try:
        extra = {} if args.max_frames is None else {"max_frames": args.max_frames}
        cfg = ScoreConfig(reward=args.reward, episode=args.episode, out=args.out, task=args.task, **extra)
        payload = run_score(cfg)
    except InputError as exc:
        return _fail(prog, exc)
    p = payload["progress"]
    sys.stdout.write(
        f"wrote {args.out}: {payload['num_frames']} frames, views {payload['views']}, progress {p[0]:.2f} -> {p[-1]:.2f}, "
        f"success {payload['success_prob'][-1]:.2f}, {payload['timing']['total_s']:.1f} s\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m robo_reward.adapt.cli {adapt|score} ...`` (the lead's dispatcher calls the two mains directly)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("adapt", "score"):
        sys.stderr.write("usage: python -m robo_reward.adapt.cli {adapt|score} ... (see --help of each)\n")
        return EXIT_INPUT
    return adapt_main(argv[1:]) if argv[0] == "adapt" else score_main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
