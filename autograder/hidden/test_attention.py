"""Hidden tests for `attention`: outputs and gradients against torch, on every device and dtype.

References are computed here by torch; the submission's outputs and gradients come
from `output_and_grads` run next to it (`impl.run`). Inputs are chosen so the classic
mistakes visibly differ: non-square L != S, E != Ev, scores large enough to overflow a
naive softmax, masks with hidden keys, and heads whose scaling differs from the model's.
"""
import math

import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads

SOFTMAX = "attention.softmax"
SDPA = "attention.scaled_dot_product_attention"
MHA = "attention.MultiHeadAttention"


def randn(*shape, device, dtype, scale=1.0, grad=True):
    return (torch.randn(*shape, dtype=torch.float64) * scale).to(device=device, dtype=dtype).requires_grad_(grad)


def check_output_and_grads(got, want, exercise, inputs, names, misconceptions=None):
    assert_close(got["output"], want["output"], exercise=exercise, inputs=inputs, misconceptions=misconceptions)
    for name, g, w in zip(names, got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=exercise, what=f"gradient w.r.t. {name}", inputs=inputs)


# --------------------------------------------------------------------------- softmax

@pytest.mark.exercise("softmax")
@pytest.mark.parametrize("shape,dim", [((7,), 0), ((3, 5), -1), ((3, 5), 0), ((2, 3, 4, 5), 1), ((2, 1, 6), -1),
                                       ((4, 6), 1)])
def test_softmax_values_and_gradient(impl, device, dtype, shape, dim):
    x = randn(*shape, device=device, dtype=dtype, scale=4.0)
    got = impl.run(output_and_grads, impl.softmax, x, dim=dim)
    want = output_and_grads(torch.softmax, x, dim=dim)
    other = (dim + 1) % len(shape)
    wrong = {} if shape[other] == 1 or len(shape) == 1 else {
        f"softmax along dimension {other - len(shape)} instead of {dim}": torch.softmax(x.detach(), dim=other)}
    check_output_and_grads(got, want, SOFTMAX, {"x": x, "dim": dim}, ["x"], wrong)


@pytest.mark.exercise("softmax")
def test_softmax_default_dim_is_last(impl, device):
    x = randn(3, 4, device=device, dtype=torch.float64, grad=False)
    assert_close(impl.softmax(x), torch.softmax(x, dim=-1), exercise=SOFTMAX, inputs={"x": x},
                 misconceptions={"softmax along dimension 0 (the default must be -1)": torch.softmax(x, dim=0)})


@pytest.mark.exercise("softmax")
@pytest.mark.parametrize("scale", [1e2, 1e4])
def test_softmax_large_scores_stay_finite(impl, device, scale):
    x = randn(5, 9, device=device, dtype=torch.float32, scale=scale, grad=False)
    x[0] = scale  # a row of equal, huge scores
    out = impl.softmax(x, dim=-1)
    assert_true(bool(torch.isfinite(out).all()), exercise=SOFTMAX, inputs={"x": x},
                message=f"output has inf/nan for scores of size {scale:g}: exp overflowed. "
                        "Subtract the row maximum before exponentiating.")
    assert_close(out.sum(-1), torch.ones(5, device=device), exercise=SOFTMAX, what="row sums", rtol=1e-5, atol=1e-5)
    assert_close(out, torch.softmax(x, dim=-1), exercise=SOFTMAX, inputs={"x": x}, rtol=0.0, atol=1e-3)


@pytest.mark.exercise("softmax")
def test_softmax_very_negative_scores(impl, device):
    x = torch.tensor([[-1e4, -1e4 + 1.0, -1e4 + 2.0], [-50.0, 0.0, 50.0]], dtype=torch.float64, device=device)
    assert_close(impl.softmax(x, dim=1), torch.softmax(x, dim=1), exercise=SOFTMAX, inputs={"x": x},
                 hint="large negative scores underflow exp(); shifting by the maximum keeps one term at exp(0)")


# --------------------------------------------------------------------------- causal_mask

@pytest.mark.exercise("causal_mask")
@pytest.mark.parametrize("length", [1, 2, 5, 17])
def test_causal_mask(impl, device, length):
    mask = impl.causal_mask(length, device=device)
    expected = torch.ones(length, length, dtype=torch.bool, device=device).tril()
    assert_true(isinstance(mask, torch.Tensor) and mask.dtype == torch.bool, exercise="attention.causal_mask",
                message=f"expected a bool tensor, got {getattr(mask, 'dtype', type(mask).__name__)}")
    assert_close(mask, expected, exercise="attention.causal_mask", inputs={"length": length},
                 misconceptions={"the mask without its diagonal (a position must see itself)":
                                 expected.tril(-1),
                                 "the transposed mask (True above the diagonal)": expected.T})


# --------------------------------------------------------------------------- scaled_dot_product_attention

def sdpa_misconceptions(q, k, v, mask=None, is_causal=False):
    q, k, v = q.detach(), k.detach(), v.detach()
    E = q.shape[-1]
    wrong = {
        "attention without the 1/sqrt(E) scaling": F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=is_causal, scale=1.0),
        "attention scaled by 1/E instead of 1/sqrt(E)": F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=is_causal, scale=1.0 / E),
    }
    scores = q @ k.transpose(-2, -1) / math.sqrt(E)
    if mask is not None and mask.dtype == torch.bool:
        wrong["attention with the mask inverted (True must mean 'may attend')"] = F.scaled_dot_product_attention(
            q, k, v, attn_mask=~mask)
        scores = scores.masked_fill(~mask, float("-inf"))
    if mask is None and not is_causal:
        wrong["attention with the softmax over the queries instead of the keys"] = torch.softmax(scores, -2) @ v
    return wrong


@pytest.mark.exercise("scaled_dot_product_attention")
@pytest.mark.parametrize("batch,L,S,E,Ev", [((), 4, 4, 8, 8), ((2,), 5, 7, 8, 3), ((2, 3), 6, 2, 16, 5),
                                            ((1,), 1, 9, 4, 4)])
def test_attention_values_and_gradients(impl, device, dtype, batch, L, S, E, Ev):
    q = randn(*batch, L, E, device=device, dtype=dtype)
    k = randn(*batch, S, E, device=device, dtype=dtype)
    v = randn(*batch, S, Ev, device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.scaled_dot_product_attention, q, k, v)
    want = output_and_grads(lambda q, k, v: (F.scaled_dot_product_attention(q, k, v),
                                             torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(E), -1)), q, k, v)
    inputs = {"q": q, "k": k, "v": v}
    assert_close(got["output"][0], want["output"][0], exercise=SDPA, inputs=inputs,
                 misconceptions=sdpa_misconceptions(q, k, v))
    assert_close(got["output"][1], want["output"][1], exercise=SDPA, what="weights", inputs=inputs)
    for name, g, w in zip("qkv", got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=SDPA, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("scaled_dot_product_attention")
@pytest.mark.parametrize("kind", ["bool", "bool-broadcast", "float"])
def test_attention_masks(impl, device, dtype, kind):
    q = randn(2, 2, 5, 8, device=device, dtype=dtype)
    k = randn(2, 2, 6, 8, device=device, dtype=dtype)
    v = randn(2, 2, 6, 4, device=device, dtype=dtype)
    if kind == "bool":
        mask = torch.rand(2, 2, 5, 6, device=device) > 0.4
        mask[..., 0] = True  # every query sees at least one key
    elif kind == "bool-broadcast":
        mask = torch.tensor([[True, True, False, True, False, False]], device=device)  # (1, S)
    else:
        mask = torch.randn(5, 6, dtype=dtype, device=device)
        mask[1, 2:] = float("-inf")
    up = torch.randn(2, 2, 5, 4, dtype=dtype, device=device)  # upstream gradient of out (weights get none)
    got = impl.run(output_and_grads, impl.scaled_dot_product_attention, q, k, v, mask=mask, grad_outputs=[up, None])
    want = output_and_grads(F.scaled_dot_product_attention, q, k, v, attn_mask=mask, grad_outputs=[up])
    inputs = {"q": q, "k": k, "v": v, "mask": mask}
    assert_close(got["output"][0], want["output"], exercise=SDPA, inputs=inputs,
                 misconceptions=sdpa_misconceptions(q, k, v, mask))
    for name, g, w in zip("qkv", got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=SDPA, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("scaled_dot_product_attention")
@pytest.mark.parametrize("L,S", [(5, 5), (3, 6), (6, 3)])
def test_attention_is_causal(impl, device, L, S):
    q = randn(2, L, 8, device=device, dtype=torch.float64)
    k = randn(2, S, 8, device=device, dtype=torch.float64)
    v = randn(2, S, 4, device=device, dtype=torch.float64)
    up = torch.randn(2, L, 4, dtype=torch.float64, device=device)
    got = impl.run(output_and_grads, impl.scaled_dot_product_attention, q, k, v, is_causal=True,
                   grad_outputs=[up, None])
    want = output_and_grads(F.scaled_dot_product_attention, q, k, v, is_causal=True, grad_outputs=[up])
    inputs = {"q": q, "k": k, "v": v, "is_causal": True}
    assert_close(got["output"][0], want["output"], exercise=SDPA, inputs=inputs,
                 misconceptions=sdpa_misconceptions(q, k, v, is_causal=True))
    for name, g, w in zip("qkv", got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=SDPA, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("scaled_dot_product_attention")
def test_attention_fully_masked_query_gives_zeros(impl, device):
    q = randn(1, 3, 4, device=device, dtype=torch.float64)
    kv = randn(1, 5, 4, device=device, dtype=torch.float64)
    mask = torch.ones(3, 5, dtype=torch.bool, device=device)
    mask[1] = False
    got = impl.run(output_and_grads, impl.scaled_dot_product_attention, q, kv, kv, mask=mask)
    out, weights = got["output"]
    zeros = torch.zeros(5, dtype=torch.float64, device=device)
    assert_close(weights[0, 1], zeros, exercise=SDPA, what="weights of a query with every key masked",
                 hint="softmax of a row of -inf is nan; give such rows zero weights")
    assert_close(out, F.scaled_dot_product_attention(q, kv, kv, attn_mask=mask).detach(), exercise=SDPA,
                 inputs={"q": q, "mask": mask})
    assert_true(all(bool(torch.isfinite(g).all()) for g in got["inputs"]), exercise=SDPA,
                message="gradients contain nan/inf when a query has every key masked")


@pytest.mark.exercise("scaled_dot_product_attention")
def test_attention_rejects_mask_with_is_causal(impl):
    q = torch.randn(1, 3, 4)
    out, _ = impl.scaled_dot_product_attention(q, q, q)
    assert_close(out, F.scaled_dot_product_attention(q, q, q), exercise=SDPA, inputs={"q": q})
    with pytest.raises(ValueError):
        impl.scaled_dot_product_attention(q, q, q, mask=torch.ones(3, 3, dtype=torch.bool), is_causal=True)


# --------------------------------------------------------------------------- MultiHeadAttention

def build_pair(impl, E, H, device, dtype, bias=True):
    """A torch reference and the submission's module holding the same weights."""
    reference = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True).to(device=device, dtype=dtype)
    with torch.no_grad():
        for p in reference.parameters():  # non-zero biases, so a missing bias shows
            p.copy_(torch.randn_like(p) * 0.5)
    module = impl.MultiHeadAttention(E, H, bias=bias)
    module.to(device=device, dtype=dtype)
    module.load_state_dict(reference.state_dict())
    return reference, module


@pytest.mark.exercise("MultiHeadAttention")
@pytest.mark.parametrize("E,H,L,S", [(8, 2, 5, 5), (12, 3, 4, 7), (16, 1, 3, 3), (16, 8, 6, 2)])
def test_multihead_values_and_gradients(impl, device, dtype, E, H, L, S):
    reference, module = build_pair(impl, E, H, device, dtype)
    query = randn(2, L, E, device=device, dtype=dtype)
    key = randn(2, S, E, device=device, dtype=dtype)
    value = randn(2, S, E, device=device, dtype=dtype)
    got = impl.run(output_and_grads, module, query, key, value)
    want = output_and_grads(reference, query, key, value)
    inputs = {"query": query, "key": key, "value": value, "num_heads": H}
    assert_close(got["output"][0], want["output"][0], exercise=MHA, inputs=inputs)
    assert_close(got["output"][1], want["output"][1], exercise=MHA, what="averaged weights", inputs=inputs)
    for name, g, w in zip(["query", "key", "value"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=MHA, what=f"gradient w.r.t. {name}", inputs=inputs)
    for name, w in want["params"].items():
        assert_close(got["params"].get(name), w, exercise=MHA, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("MultiHeadAttention")
@pytest.mark.parametrize("masks", ["key_padding", "attn_bool", "attn_float", "both", "per_head"])
def test_multihead_masks(impl, device, dtype, masks):
    E, H, B, L, S = 8, 2, 3, 4, 6
    reference, module = build_pair(impl, E, H, device, dtype)
    query = randn(B, L, E, device=device, dtype=dtype)
    key = randn(B, S, E, device=device, dtype=dtype)
    kwargs = {}
    if masks in ("key_padding", "both"):
        kpm = torch.zeros(B, S, dtype=torch.bool, device=device)
        kpm[0, -2:] = True
        kpm[1, 0] = True
        kpm[2, 1] = True
        kwargs["key_padding_mask"] = kpm
    if masks in ("attn_bool", "both"):
        am = torch.rand(L, S, device=device) > 0.6
        am[:, 0] = False  # key 0 always allowed
        kwargs["attn_mask"] = am
    if masks == "attn_float":
        kwargs["attn_mask"] = torch.randn(L, S, dtype=dtype, device=device)
    if masks == "per_head":
        am = torch.rand(B * H, L, S, device=device) > 0.6
        am[..., 0] = False
        kwargs["attn_mask"] = am
    got = impl.run(output_and_grads, module, query, key, key, **kwargs)
    want = output_and_grads(reference, query, key, key, **kwargs)
    inputs = {"query": query, "key": key, **kwargs}
    wrong = {}
    if "key_padding_mask" in kwargs and masks == "key_padding":
        wrong["attention that treats key_padding_mask True as 'may attend' (here True means padding)"] = \
            reference(query, key, key, key_padding_mask=~kwargs["key_padding_mask"])[0].detach()
    assert_close(got["output"][0], want["output"][0], exercise=MHA, inputs=inputs, misconceptions=wrong)
    assert_close(got["output"][1], want["output"][1], exercise=MHA, what="weights", inputs=inputs)
    for name, g, w in zip(["query", "key"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=MHA, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_weights_options(impl, device):
    reference, module = build_pair(impl, 12, 3, device, torch.float64)
    x = randn(2, 5, 12, device=device, dtype=torch.float64, grad=False)
    out, weights = module(x, x, x, average_attn_weights=False)
    ref_out, ref_weights = reference(x, x, x, average_attn_weights=False)
    assert_close(weights, ref_weights.detach(), exercise=MHA, what="per-head weights (B, H, L, S)", inputs={"x": x})
    out, weights = module(x, x, x, need_weights=False)
    assert_true(weights is None, exercise=MHA, message="need_weights=False must return None as the weights")
    assert_close(out, ref_out.detach(), exercise=MHA, inputs={"x": x})


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_unbatched_and_no_bias(impl, device):
    reference, module = build_pair(impl, 8, 4, device, torch.float64, bias=False)
    x = randn(5, 8, device=device, dtype=torch.float64, grad=False)
    out, weights = module(x, x, x)
    ref_out, ref_weights = reference(x, x, x)
    assert_close(out, ref_out.detach(), exercise=MHA, inputs={"x (unbatched)": x, "bias": False})
    assert_close(weights, ref_weights.detach(), exercise=MHA, what="weights", inputs={"x": x})


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_state_dict_and_init(impl):
    E, H = 16, 4
    module = impl.MultiHeadAttention(E, H)
    reference = torch.nn.MultiheadAttention(E, H, batch_first=True)
    ours, theirs = module.state_dict(), reference.state_dict()
    assert_true(sorted(ours) == sorted(theirs), exercise=MHA,
                message=f"state_dict keys {sorted(ours)} differ from nn.MultiheadAttention's {sorted(theirs)}")
    for name, tensor in theirs.items():
        assert_true(tuple(ours[name].shape) == tuple(tensor.shape), exercise=MHA,
                    message=f"{name} has shape {tuple(ours[name].shape)}, expected {tuple(tensor.shape)}")
    bound = math.sqrt(6.0 / (E + 3 * E))  # xavier_uniform_ on the (3E, E) in_proj_weight
    w = ours["in_proj_weight"]
    assert_true(float(w.abs().max()) <= bound and float(w.std()) > bound / 4, exercise=MHA,
                message="in_proj_weight should start Xavier-uniform like nn.MultiheadAttention's "
                        f"(|w| <= {bound:.3f}, not all zeros)")
    assert_true(float(ours["in_proj_bias"].abs().max()) == 0.0, exercise=MHA,
                message="in_proj_bias should start at zero like nn.MultiheadAttention's")


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_rejects_indivisible_heads(impl):
    module = impl.MultiHeadAttention(6, 3)
    assert_true(module.num_heads == 3 if hasattr(module, "num_heads") else True, exercise=MHA,
                message="num_heads attribute should be 3")
    with pytest.raises(ValueError, match="(?i)divisible|num_heads|embed_dim"):
        impl.MultiHeadAttention(10, 3)
