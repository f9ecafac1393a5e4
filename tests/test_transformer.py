"""Public tests for `transformer`: run them with `pytest -m transformer` (or `pytest -k patchify`).

They check shapes, one small numeric case and one error case per exercise; the
grader's hidden tests go further (masks, causality, gradients, float64, train mode,
the CLS token, the learning task with other seeds).
"""
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.synthetic import VIT_TASK
from autograder.fixtures.transformer import reference_block_factory, vit_learns_task


def pe_table(max_len, d_model):
    """The sinusoidal table evaluated in float64."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    angle = pos / 10000.0 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    return torch.stack([angle.sin(), angle.cos()], dim=-1).reshape(max_len, d_model)


@pytest.mark.exercise("sinusoidal_positional_encoding")
def test_pe_small_table(impl):
    pe = impl.sinusoidal_positional_encoding(6, 4)
    assert_close(pe, pe_table(6, 4).float(), exercise="transformer.sinusoidal_positional_encoding",
                 inputs={"max_len": 6, "d_model": 4},
                 misconceptions={"the table with sin and cos swapped (even columns hold sin)":
                                 pe_table(6, 4).reshape(6, 2, 2).flip(-1).reshape(6, 4).float()})


@pytest.mark.exercise("sinusoidal_positional_encoding")
def test_pe_rejects_odd_d_model(impl):
    assert_true(tuple(impl.sinusoidal_positional_encoding(3, 8).shape) == (3, 8),
                exercise="transformer.sinusoidal_positional_encoding", message="expected shape (3, 8)")
    with pytest.raises(ValueError):
        impl.sinusoidal_positional_encoding(10, 5)


@pytest.mark.exercise("PositionalEncoding")
def test_positional_encoding_adds_table(impl):
    module = impl.PositionalEncoding(8, max_len=20)
    x = torch.randn(2, 5, 8)
    assert_close(module(x), x + pe_table(5, 8).float(), exercise="transformer.PositionalEncoding",
                 inputs={"x": x}, misconceptions={"sqrt(d_model) * x + PE (scale the embeddings elsewhere)":
                                                  math.sqrt(8) * x + pe_table(5, 8).float()})
    assert_true("pe" in module.state_dict(), exercise="transformer.PositionalEncoding",
                message="the table should be a buffer named 'pe' (register_buffer)")


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("norm_first", [False, True])
def test_block_matches_torch(impl, norm_first):
    reference = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, norm_first=norm_first).eval()
    block = impl.TransformerEncoderBlock(16, 4, 32, norm_first=norm_first)
    block.load_state_dict(reference.state_dict())
    block.eval()
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        expected = reference(x)
    assert_close(block(x), expected, exercise="transformer.TransformerEncoderBlock",
                 inputs={"x": x, "norm_first": norm_first})


@pytest.mark.exercise("TransformerEncoderBlock")
def test_block_is_causal_and_rejects_bad_heads(impl):
    reference = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True).eval()
    block = impl.TransformerEncoderBlock(8, 2, 16)
    block.load_state_dict(reference.state_dict())
    block.eval()
    x = torch.randn(1, 4, 8)
    mask = torch.ones(4, 4, dtype=torch.bool).triu(1)  # True above the diagonal = blocked
    with torch.no_grad():
        expected = reference(x, src_mask=mask)
    assert_close(block(x, is_causal=True), expected, exercise="transformer.TransformerEncoderBlock",
                 inputs={"x": x, "is_causal": True},
                 hint="common causes: a mask that blocks the diagonal, or not the keys after each query")
    with pytest.raises(ValueError):
        impl.TransformerEncoderBlock(10, 3)


@pytest.mark.exercise("TransformerEncoder")
def test_encoder_stack_matches_torch(impl):
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    reference = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(16), enable_nested_tensor=False).eval()
    factory = impl.run(reference_block_factory, 16, 4, 32, dropout=0.0)
    encoder = impl.TransformerEncoder(factory, 2, norm=impl.run(nn.LayerNorm, 16))
    encoder.load_state_dict(reference.state_dict())
    encoder.eval()
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        expected = reference(x)
    assert_close(encoder(x), expected, exercise="transformer.TransformerEncoder", inputs={"x": x},
                 hint="common causes: one block shared by every layer (call block_factory once per layer), or no "
                      "final norm")


@pytest.mark.exercise("patchify")
def test_patchify_matches_unfold(impl):
    images = torch.randn(2, 3, 8, 12)
    expected = F.unfold(images, 4, stride=4).transpose(1, 2)
    out = impl.patchify(images, 4)
    assert_close(out, expected, exercise="transformer.patchify", inputs={"images": images, "patch_size": 4},
                 hint="common causes: patches not in row-major order, or not flattened in (C, p, p) order")


@pytest.mark.exercise("patchify")
def test_patchify_rejects_indivisible_size(impl):
    assert_true(tuple(impl.patchify(torch.randn(1, 1, 4, 4), 2).shape) == (1, 4, 4), exercise="transformer.patchify",
                message="patchify(randn(1, 1, 4, 4), 2) should have shape (1, 4, 4)")
    with pytest.raises(ValueError):
        impl.patchify(torch.randn(1, 1, 6, 8), 4)


@pytest.mark.exercise("ViT")
def test_vit_shapes_and_parameters(impl):
    model = impl.ViT(8, 4, 3, 5, d_model=16, depth=1, nhead=2, dim_feedforward=32)
    logits = model(torch.randn(2, 3, 8, 8))
    assert_true(isinstance(logits, torch.Tensor) and tuple(logits.shape) == (2, 5), exercise="transformer.ViT",
                message=f"expected logits of shape (2, 5), got {getattr(logits, 'shape', logits)}")
    sd = model.state_dict()
    for name, shape in [("cls_token", (1, 1, 16)), ("pos_embedding", (1, 5, 16))]:
        got = tuple(sd[name].shape) if name in sd else None
        assert_true(got == shape, exercise="transformer.ViT",
                    message=f"parameter {name} should have shape {shape}, got {got}")


@pytest.mark.exercise("ViT")
def test_vit_learns_quadrant_task(impl):
    # Trains VIT_TASK's small ViT for a fixed number of steps (a few seconds of CPU time).
    result = impl.run(vit_learns_task, impl.ViT, seed=0)
    assert_true(result["accuracy"] >= VIT_TASK["min_accuracy"], exercise="transformer.ViT",
                message=f"held-out accuracy {result['accuracy']:.3f} < {VIT_TASK['min_accuracy']} on the quadrant "
                        f"task after {VIT_TASK['steps']} steps (final loss {result['final_loss']:.3f}); "
                        "the label is where the blob is, so the tokens need their position embedding")
