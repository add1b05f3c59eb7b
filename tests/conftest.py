"""Test-session environment: no model hub, ROS 2 traffic on loopback only, a unique ROS domain per session."""

import os

# Must be set before anything imports huggingface_hub / rclpy.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
os.environ.setdefault("MPLBACKEND", "Agg")
