"""Pure-Python bring-up of a node graph described in YAML (``launch/*.yaml``), without ``ros2 launch``.

The same YAML is read by ``launch/*.launch.py`` so both stay one source of truth. Format::

    arguments:                      # launch arguments: name -> {default, description}
      task: {default: pick_place, description: "sim task"}
    nodes:
      - name: reward_node           # node name (remapped with __node:=)
        entry: robo_reward.real.nodes.reward_node:main   # what bring-up runs
        executable: robo-reward-reward-node              # console script that `ros2 launch` runs
        condition: {arg: mode, equals: finetune}         # optional: start only when the argument matches
        parameters: {image_size: 64, task: "$(arg task)"}
        remappings: {"reward/progress": "/progress"}

``"$(arg name)"`` as a whole value becomes the argument's value parsed as YAML (as ``ros2 launch`` does for
parameters: ``"[a, b]"`` -> a list, ``"0.2"`` -> a float); inside a longer string it is replaced as text.
Each node runs as its own process: ``python -c <import entry; main()> --ros-args -r __node:=<name>
--params-file <tmp.yaml> -r from:=to``. Run ``python -m robo_reward.real.bringup launch/sim_arm.yaml task:=reach``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

logger = logging.getLogger(__name__)

_ARG = re.compile(r"\$\(arg ([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass
class NodeSpec:
    """One node of the graph after argument substitution."""

    name: str
    entry: str  # "package.module:function"
    executable: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    remappings: dict[str, str] = field(default_factory=dict)


@dataclass
class Graph:
    arguments: dict[str, dict[str, str]]  # name -> {default, description}
    nodes: list[NodeSpec]


def _substitute(value: Any, args: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        whole = _ARG.fullmatch(value.strip())
        if whole:
            raw = args[whole.group(1)]
            return raw if raw.strip() == "" else yaml.safe_load(raw)
        return _ARG.sub(lambda m: args[m.group(1)], value)
    if isinstance(value, list):
        return [_substitute(v, args) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, args) for k, v in value.items()}
    return value


def load_graph(path: str | Path, overrides: Mapping[str, str] | None = None) -> Graph:
    """Read a graph YAML, apply ``overrides`` (argument name -> string value), resolve conditions and args."""
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, dict) or "nodes" not in raw:
        raise ValueError(f"{path}: expected a mapping with 'arguments' and 'nodes'")
    arguments = {k: {"default": str(v.get("default", "")), "description": str(v.get("description", ""))}
                 for k, v in (raw.get("arguments") or {}).items()}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(arguments))
    if unknown:
        raise ValueError(f"{path}: unknown launch arguments {unknown}; declared: {sorted(arguments)}")
    args = {k: overrides.get(k, v["default"]) for k, v in arguments.items()}
    missing = sorted({m for m in _ARG.findall(yaml.safe_dump(raw.get("nodes")))} - set(args))
    if missing:
        raise ValueError(f"{path}: nodes use undeclared arguments {missing}")
    nodes = []
    for n in raw["nodes"]:
        cond = n.get("condition")
        if cond is not None and str(args[cond["arg"]]) != str(cond["equals"]):
            continue
        nodes.append(NodeSpec(name=n["name"], entry=n["entry"], executable=n.get("executable", ""),
                              parameters=_substitute(n.get("parameters") or {}, args),
                              remappings={str(k): str(_substitute(v, args))
                                          for k, v in (n.get("remappings") or {}).items()}))
    return Graph(arguments, nodes)


def node_command(spec: NodeSpec, params_file: str | Path) -> list[str]:
    """The argv that runs ``spec`` as a process (python interpreter of this environment)."""
    module, _, func = spec.entry.partition(":")
    code = f"import sys; from {module} import {func or 'main'} as m; sys.exit(m(sys.argv))"
    cmd = [sys.executable, "-c", code, "--ros-args", "-r", f"__node:={spec.name}", "--params-file", str(params_file)]
    for src, dst in spec.remappings.items():
        cmd += ["-r", f"{src}:={dst}"]
    return cmd


def write_params(spec: NodeSpec, directory: str | Path) -> Path:
    """Write the node's parameters as a ROS 2 params file (``/**: ros__parameters: ...``)."""
    path = Path(directory) / f"{spec.name}.params.yaml"
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": spec.parameters}}, sort_keys=False))
    return path


def _die_with_parent() -> None:
    """Linux: the node gets SIGTERM when the bring-up process dies, even by SIGKILL, so no node is left
    running (and publishing, or commanding an arm) without the process that started it."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


class Bringup:
    """Start every node of a graph as a process; ``stop()`` (or leaving the ``with`` block) ends them.

    ``env`` is added to the environment of each process (e.g. ROS_DOMAIN_ID); logs go to ``log_dir``.
    """

    def __init__(self, graph: Graph, env: Mapping[str, str] | None = None, log_dir: str | Path | None = None
                 ) -> None:
        self.graph = graph
        self.env = {**os.environ, **(env or {})}
        self._tmp = tempfile.TemporaryDirectory(prefix="robo_reward_bringup_")
        self.log_dir = Path(log_dir) if log_dir is not None else Path(self._tmp.name)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> "Bringup":
        for spec in self.graph.nodes:
            params = write_params(spec, self._tmp.name)
            log = open(self.log_dir / f"{spec.name}.log", "wb")
            self.procs[spec.name] = subprocess.Popen(node_command(spec, params), env=self.env, stdout=log,
                                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
            log.close()
            logger.info("started %s (pid %d)", spec.name, self.procs[spec.name].pid)
        return self

    def dead(self) -> dict[str, int]:
        """Nodes that exited, with their return codes."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 5.0) -> dict[str, int]:
        """SIGINT every node, then SIGKILL after ``timeout``; returns the exit codes."""
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        codes = {n: int(p.returncode) for n, p in self.procs.items()}
        self._tmp.cleanup()
        return codes

    def __enter__(self) -> "Bringup":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``robo-reward-bringup GRAPH.yaml [name:=value ...]``: start the graph and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("graph", help="graph YAML, e.g. launch/sim_arm.yaml")
    parser.add_argument("args", nargs="*", help="launch arguments as name:=value")
    parser.add_argument("--show-args", action="store_true", help="list the launch arguments and exit")
    ns = parser.parse_args(argv)
    overrides = {}
    for a in ns.args:
        if ":=" not in a:
            parser.error(f"launch arguments are name:=value, got {a!r}")
        k, _, v = a.partition(":=")
        overrides[k] = v
    graph = load_graph(ns.graph, overrides)
    if ns.show_args:
        for k, v in graph.arguments.items():
            sys.stdout.write(f"{k} (default {v['default']!r}): {v['description']}\n")
        return 0
    logging.basicConfig(level=logging.INFO, format="[bringup] %(message)s")
    bring = Bringup(graph, log_dir=Path.cwd() / "bringup_logs").start()
    try:
        while True:
            dead = bring.dead()
            if dead:
                logger.error("node(s) exited: %s; see bringup_logs/", dead)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        bring.stop()


if __name__ == "__main__":
    raise SystemExit(main())
