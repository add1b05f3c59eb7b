"""`robo-reward <command> ...`: the one entry point (the composition root; the only place that touches Hydra).

Config-driven commands take Hydra overrides (``robo-reward record task=pick_place episodes=50``); the
few-shot commands ``adapt`` and ``score`` keep a fixed argparse contract because other tools call them.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

logger = logging.getLogger("robo_reward")


@dataclass(frozen=True)
class HydraCommand:
    """A command backed by ``configs/<config>.yaml`` and a typed dataclass ``<module>.<schema>``."""

    config: str
    module: str
    schema: str
    help: str
    runner: str = "run"


@dataclass(frozen=True)
class ArgparseCommand:
    target: str  # "module:function", function(argv) -> int
    help: str


# The one registry of commands.
COMMANDS: dict[str, HydraCommand | ArgparseCommand] = {
    "run": HydraCommand("pipeline", "robo_reward.pipeline", "PipelineConfig", "the main job end to end, with a report"),
    "record": HydraCommand("record", "robo_reward.sim.record", "RecordConfig", "record a multi-view demo dataset in PyBullet"),
    "train-reward": HydraCommand(
        "train_reward", "robo_reward.reward.train", "TrainRewardConfig", "train the process reward model"
    ),
    "eval-reward": HydraCommand(
        "eval_reward", "robo_reward.reward.evaluate", "EvalRewardConfig", "evaluate a reward model (JSON + plots)"
    ),
    "train": HydraCommand("train", "robo_reward.rl.train", "TrainConfig", "train a policy with a (shaped) reward"),
    "adapt": ArgparseCommand("robo_reward.adapt.cli:adapt_main", "adapt a reward model from one demo video"),
    "score": ArgparseCommand("robo_reward.adapt.cli:score_main", "score an episode with a reward model"),
    "score-bag": HydraCommand(
        "score_bag", "robo_reward.real.bag_score", "BagScoreConfig", "score a rosbag2 recording's camera topics"
    ),
}


def config_dir() -> Path:
    import robo_reward.configs

    return Path(robo_reward.configs.__file__).resolve().parent


def compose(config: str, overrides: Sequence[str] = ()) -> Any:
    """Compose ``configs/<config>.yaml`` with Hydra overrides; returns a DictConfig."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name=config, overrides=list(overrides))


def to_typed(cfg: Any, schema: type) -> Any:
    """Validate a DictConfig against a dataclass schema (unknown keys and wrong types fail) and build it."""
    from omegaconf import OmegaConf

    merged = OmegaConf.merge(OmegaConf.structured(schema), cfg)
    return OmegaConf.to_object(merged)


def load_config(command: str, overrides: Sequence[str] = ()) -> Any:
    """The typed config object a Hydra command would run with."""
    spec = COMMANDS[command]
    if not isinstance(spec, HydraCommand):
        raise ValueError(f"{command!r} is not a config-driven command")
    schema = getattr(importlib.import_module(spec.module), spec.schema)
    return to_typed(compose(spec.config, overrides), schema)


def _usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: robo-reward <command> [overrides or options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {spec.help}" for name, spec in COMMANDS.items()]
    lines += [
        "",
        "Config-driven commands take Hydra overrides (key=value, group=option) and --cfg to print the",
        "resolved config; adapt and score take --help.",
    ]
    return "\n".join(lines)


def _user_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [ValueError, FileNotFoundError, KeyError]
    try:
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        types += [HydraException, OmegaConfBaseException]
    except ImportError:
        pass
    return tuple(types)


def _run_hydra(name: str, spec: HydraCommand, args: list[str]) -> int:
    from omegaconf import OmegaConf

    if "-h" in args or "--help" in args:
        print(_hydra_help(name, spec))
        return 0
    show_cfg = "--cfg" in args
    overrides = [a for a in args if a != "--cfg"]
    bad = [a for a in overrides if a.startswith("-")]
    if bad:
        raise ValueError(f"unknown option {bad[0]!r}; {name} takes Hydra overrides like key=value (and --cfg)")
    module = importlib.import_module(spec.module)
    cfg = compose(spec.config, overrides)
    typed = to_typed(cfg, getattr(module, spec.schema))
    if show_cfg:
        print(OmegaConf.to_yaml(OmegaConf.structured(typed)))
        return 0
    result = getattr(module, spec.runner)(typed)
    if isinstance(result, dict) and result.get("summary"):
        print(result["summary"])
    return 0


def _hydra_help(name: str, spec: HydraCommand) -> str:
    """Usage of a config-driven command: its one-line help and the header comment of its config file."""
    header = []
    for line in (config_dir() / f"{spec.config}.yaml").read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("# ").rstrip())
    return "\n".join([f"usage: robo-reward {name} [key=value ...] [--cfg]", "", spec.help, "", *header, "",
                      f"Every key with its default: robo-reward {name} --cfg"])


def _one_line(exc: BaseException) -> str:
    """A user-facing one-line reason: the first line, plus the config key and cause Hydra/OmegaConf keep apart."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    msg = lines[0]
    key = getattr(exc, "full_key", None)
    if key:
        msg += f" (config key: {key})"
    if msg.startswith("Could not override '"):
        name = msg.split("'")[1]
        msg = f"unknown config key {name!r}; check the spelling (add --cfg to print the valid keys and values)"
    return msg


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=os.environ.get("ROBO_REWARD_LOG", "INFO").upper(),
        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("--version", "version"):
        from robo_reward import __version__

        print(f"robo-reward {__version__}")
        return 0
    name, rest = args[0], args[1:]
    spec = COMMANDS.get(name)
    if spec is None:
        print(f"robo-reward: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    if isinstance(spec, ArgparseCommand):
        module_name, func = spec.target.split(":")
        fn: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), func)
        return int(fn(rest) or 0)
    try:
        return _run_hydra(name, spec, rest)
    except _user_error_types() as exc:
        if os.environ.get("ROBO_REWARD_DEBUG"):
            raise
        msg = _one_line(exc)
        print(f"robo-reward {name}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"robo-reward {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
