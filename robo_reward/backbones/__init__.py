"""Vision backbones, task-text encoders and the embedding cache.

Importing this package loads no weights and imports neither open_clip, timm nor sentence-transformers;
builders do that when called.
"""

from robo_reward.backbones.base import Backbone, BackboneConfig, BackboneName, Preprocess, resolve_device
from robo_reward.backbones.cache import EmbeddingCache
from robo_reward.backbones.registry import BACKBONES, available_backbones, build_backbone
from robo_reward.backbones.text import TextEncoder, TextEncoderConfig, TextEncoderName, build_text_encoder
from robo_reward.backbones.weights import WeightsUnavailableError, load_state_file, save_weights

__all__ = [
    "BACKBONES",
    "Backbone",
    "BackboneConfig",
    "BackboneName",
    "EmbeddingCache",
    "Preprocess",
    "TextEncoder",
    "TextEncoderConfig",
    "TextEncoderName",
    "WeightsUnavailableError",
    "available_backbones",
    "build_backbone",
    "build_text_encoder",
    "load_state_file",
    "resolve_device",
    "save_weights",
]
