"""Adapters to other robot-learning frameworks (imported explicitly, e.g. ``robo_reward.integrations.isaaclab``)."""
