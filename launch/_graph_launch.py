"""Shared by the ``*.launch.py`` files: turn a graph YAML (see robo_reward.real.bringup) into launch actions.

Imports ``launch`` / ``launch_ros`` (ROS 2 installs only). Parameter values ``"$(arg x)"`` become
``LaunchConfiguration("x")``, which launch_ros parses as YAML -- the same rule as the pure-Python bring-up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_ARG = re.compile(r"\$\(arg ([A-Za-z_][A-Za-z0-9_]*)\)")


def _value(v: Any) -> Any:
    from launch.substitutions import LaunchConfiguration
    from launch_ros.parameter_descriptions import ParameterValue

    if isinstance(v, str):
        m = _ARG.fullmatch(v.strip())
        if m:
            return ParameterValue(LaunchConfiguration(m.group(1)))  # parsed as YAML at launch time
        parts = _ARG.split(v)
        if len(parts) > 1:
            return [LaunchConfiguration(p) if i % 2 else p for i, p in enumerate(parts) if p]
    return v


def graph_launch_description(graph_yaml: Path) -> Any:
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument
    from launch.conditions import LaunchConfigurationEquals
    from launch_ros.actions import Node

    raw = yaml.safe_load(Path(graph_yaml).read_text())
    actions: list[Any] = [
        DeclareLaunchArgument(name, default_value=str(spec.get("default", "")),
                              description=str(spec.get("description", "")))
        for name, spec in (raw.get("arguments") or {}).items()
    ]
    for n in raw["nodes"]:
        cond = n.get("condition")
        actions.append(Node(
            executable=n["executable"],  # console script of the robo-reward package (on PATH)
            name=n["name"],
            output="screen",
            parameters=[{k: _value(v) for k, v in (n.get("parameters") or {}).items()}],
            remappings=[(k, _value(v)) for k, v in (n.get("remappings") or {}).items()],
            condition=LaunchConfigurationEquals(cond["arg"], str(cond["equals"])) if cond else None,
        ))
    return LaunchDescription(actions)
