"""`ros2 launch launch/real_arm.launch.py [name:=value ...]` -- the graph in launch/real_arm.yaml.

The YAML is the single source of truth; without ROS 2 launch installed, run the same graph with
`python -m robo_reward.real.bringup launch/real_arm.yaml [name:=value ...]`. List the arguments with
`ros2 launch launch/real_arm.launch.py --show-args`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _graph_launch import graph_launch_description  # noqa: E402


def generate_launch_description():
    return graph_launch_description(Path(__file__).resolve().with_name("real_arm.yaml"))
