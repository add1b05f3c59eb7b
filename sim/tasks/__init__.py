"""Task registry: name -> Task class (the one map; add new tasks here)."""

from __future__ import annotations

from robo_reward.sim.tasks.base import Task
from robo_reward.sim.tasks.drawer import DrawerTask
from robo_reward.sim.tasks.pick_place import PickPlaceTask
from robo_reward.sim.tasks.push import PushTask
from robo_reward.sim.tasks.reach import ReachTask
from robo_reward.sim.tasks.stack import StackTask

TASKS: dict[str, type[Task]] = {t.name: t for t in (ReachTask, PushTask, PickPlaceTask, StackTask, DrawerTask)}


def make_task(name: str) -> Task:
    """Instantiate a task by name."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; available: {sorted(TASKS)}.")
    return TASKS[name]()


__all__ = ["TASKS", "Task", "make_task"]
