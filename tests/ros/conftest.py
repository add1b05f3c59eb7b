"""Fixtures for the ROS 2 tests: an isolated DDS domain per test session, process helpers, a probe node.

Every process gets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and a ``ROS_DOMAIN_ID`` derived from the pytest
pid (or ``ROBO_REWARD_TEST_DOMAIN_ID`` when set, to stay clear of ids in use), so parallel sessions (and other
machines) never see each other's topics.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from robo_reward.real.live import spin_until

DOMAIN_ID = int(os.environ.get("ROBO_REWARD_TEST_DOMAIN_ID", 1 + os.getpid() % 100))  # fixed id: set it
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_DOMAIN_ID"] = str(DOMAIN_ID)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def ros_env() -> dict[str, str]:
    """Environment for node subprocesses (unique domain, localhost discovery)."""
    return {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DOMAIN_ID": str(DOMAIN_ID),
            "PYTHONUNBUFFERED": "1"}


class NodeProc:
    """A node started as ``python -c 'from <module> import main; main()' --ros-args --params-file``."""

    def __init__(self, module: str, name: str, params: dict[str, Any], env: dict[str, str], tmp: Path) -> None:
        pfile = tmp / f"{name}.params.yaml"
        pfile.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
        self.log_path = tmp / f"{name}.log"
        code = f"import sys; from {module} import main; sys.exit(main(sys.argv))"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", code, "--ros-args", "-r", f"__node:={name}",
                                          "--params-file", str(pfile)], env=env, stdout=log,
                                         stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def start_node(ros_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., NodeProc]]:
    procs: list[NodeProc] = []

    def _start(module: str, name: str, **params: Any) -> NodeProc:
        p = NodeProc(module, name, params, ros_env, tmp_path)
        procs.append(p)
        return p

    yield _start
    for p in procs:
        p.stop()


@pytest.fixture
def probe() -> Iterator[Any]:
    """An rclpy node in the test process (own context, the session's domain)."""
    import rclpy
    from rclpy.context import Context

    ctx = Context()
    rclpy.init(context=ctx, domain_id=DOMAIN_ID)
    node = rclpy.create_node(f"probe_{os.getpid()}", context=ctx)
    from rclpy.executors import SingleThreadedExecutor

    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    node.spin_for = lambda seconds, until=None: spin_until(ex, seconds, until)  # type: ignore[attr-defined]
    yield node
    ex.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=ctx)


@pytest.fixture
def trigger(probe: Any) -> Callable[..., Any]:
    """``trigger("/service")`` calls a std_srvs/Trigger service from the probe node."""
    return lambda name, timeout=10.0: call_trigger(probe, name, timeout)


def call_trigger(node: Any, name: str, timeout: float = 10.0) -> Any:
    """Call a std_srvs/Trigger service from the probe node and return the response."""
    from std_srvs.srv import Trigger

    cli = node.create_client(Trigger, name)
    assert node.spin_for(timeout, cli.service_is_ready), f"service {name} not available"
    fut = cli.call_async(Trigger.Request())
    assert node.spin_for(timeout, fut.done), f"service {name} did not answer"
    node.destroy_client(cli)
    return fut.result()
