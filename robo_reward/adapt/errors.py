"""The one exception type for bad user input in ``robo-reward adapt`` / ``robo-reward score``."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input (video, keyframes, reward directory, flags). The message is one line saying what to fix.

    The command-line entry points catch it and print ``robo-reward <cmd>: error: <message>`` with no traceback.
    """
