"""Public tests for `attention`: run them with `pytest -m attention` (or `pytest -k softmax`).

They check shapes, one small numeric case and one error case per exercise; the
grader's hidden tests go further (masks, gradients, float64, odd shapes).
"""
import math

import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true


@pytest.mark.exercise("softmax")
def test_softmax_small_example(impl):
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert_close(impl.softmax(x), torch.softmax(x, dim=-1), exercise="attention.softmax", inputs={"x": x})


@pytest.mark.exercise("softmax")
def test_softmax_other_dim_and_large_scores(impl):
    x = torch.tensor([[1000.0, 0.0], [1001.0, 2.0]])
    out = impl.softmax(x, dim=0)
    assert_true(bool(torch.isfinite(out).all()), exercise="attention.softmax",
                message="output has inf/nan for scores near 1000: subtract the maximum before exp",
                inputs={"x": x})
    assert_close(out, torch.softmax(x, dim=0), exercise="attention.softmax", inputs={"x": x, "dim": 0})


@pytest.mark.exercise("causal_mask")
def test_causal_mask_small(impl):
    mask = impl.causal_mask(3)
    expected = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])
    assert_close(mask, expected, exercise="attention.causal_mask", inputs={"length": 3})


@pytest.mark.exercise("scaled_dot_product_attention")
def test_attention_shapes_and_values(impl):
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 5)
    out, weights = impl.scaled_dot_product_attention(q, k, v)
    assert_close(out, F.scaled_dot_product_attention(q, k, v), exercise="attention.scaled_dot_product_attention",
                 inputs={"q": q, "k": k, "v": v},
                 misconceptions={"attention without the 1/sqrt(E) scaling":
                                 F.scaled_dot_product_attention(q, k, v, scale=1.0)})
    assert_close(weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), dim=-1),
                 exercise="attention.scaled_dot_product_attention", what="weights")


@pytest.mark.exercise("scaled_dot_product_attention")
def test_attention_causal_and_rejects_mask_with_is_causal(impl):
    q = torch.randn(1, 3, 4)
    out, _ = impl.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert_close(out, F.scaled_dot_product_attention(q, q, q, is_causal=True),
                 exercise="attention.scaled_dot_product_attention", inputs={"q": q, "is_causal": True},
                 misconceptions={"attention without the 1/sqrt(E) scaling":
                                 F.scaled_dot_product_attention(q, q, q, is_causal=True, scale=1.0)})
    with pytest.raises(ValueError):
        impl.scaled_dot_product_attention(q, q, q, mask=torch.ones(3, 3, dtype=torch.bool), is_causal=True)


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_matches_torch(impl):
    reference = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    mha = impl.MultiHeadAttention(8, 2)
    mha.load_state_dict(reference.state_dict())
    x = torch.randn(2, 5, 8)
    out, weights = mha(x, x, x)
    ref_out, ref_weights = reference(x, x, x)
    assert_close(out, ref_out.detach(), exercise="attention.MultiHeadAttention", inputs={"x": x})
    assert_close(weights, ref_weights.detach(), exercise="attention.MultiHeadAttention", what="weights")


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_parameters_and_rejects_indivisible_heads(impl):
    mha = impl.MultiHeadAttention(8, 2)
    names = sorted(k for k in mha.state_dict())
    assert_true(names == ["in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"],
                exercise="attention.MultiHeadAttention", message=f"unexpected state_dict keys {names}")
    with pytest.raises(ValueError):
        impl.MultiHeadAttention(10, 3)
