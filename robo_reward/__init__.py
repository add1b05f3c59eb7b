"""robo-reward: learned, step-aware process rewards for robot manipulation.

Importing the package does no work (no torch models, no hub access); see the submodules.
"""

__version__ = "0.1.0"
