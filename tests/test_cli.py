"""The `robo-reward` dispatcher: command registry, config validation at the boundary, one-line errors."""

from __future__ import annotations

import pytest

from robo_reward.cli.main import COMMANDS, HydraCommand, load_config, main


def test_usage_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name} " in out


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_config_command_help_shows_its_config_header(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", flag]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: robo-reward record") and "render scripted rollouts" in out and "--cfg" in out


def test_unknown_command_lists_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'trian'" in err and "train-reward" in err


@pytest.mark.parametrize("name", [n for n, s in COMMANDS.items() if isinstance(s, HydraCommand) and n != "score-bag"])
def test_every_config_composes_into_its_typed_schema(name: str) -> None:
    cfg = load_config(name)
    assert type(cfg).__name__ == COMMANDS[name].schema  # type: ignore[union-attr]


def test_overrides_reach_the_typed_config() -> None:
    cfg = load_config("record", ["task=stack", "episodes=7", "image_size=64"])
    assert (cfg.task, cfg.episodes, cfg.image_size) == ("stack", 7, 64)
    cfg = load_config("run", ["quick=true", "adapt_task=reach"])
    assert cfg.quick is True and cfg.n_rl_steps <= 300


def test_bad_override_is_one_line_error_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "episodez=3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "episodez" in err[0]
    assert main(["record", "episodes=many"]) == 2
    assert "episodes" in capsys.readouterr().err
    assert main(["run", "ros=maybe"]) == 2
    assert "ros must be auto, on or off" in capsys.readouterr().err


def test_cfg_flag_prints_resolved_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "task=push", "--cfg"]) == 0
    out = capsys.readouterr().out
    assert "task: push" in out and "views:" in out
