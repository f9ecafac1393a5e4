"""Hidden tests for `attention`: outputs and gradients against torch, on every device and dtype.

References are computed here by torch; the submission's outputs and gradients come
from `output_and_grads` run next to it (`impl.run`). Inputs are chosen so the classic
mistakes visibly differ: non-square L != S, E != Ev, scores large enough to overflow a
naive softmax, masks with hidden keys, and heads whose scaling differs from the model's.
"""
import copy
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
                 hint="common causes: large negative scores underflow exp(); shifting by the maximum keeps one term "
                      "at exp(0)")


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


def fully_masked_hint(row: torch.Tensor, S: int) -> str | None:
    """What went wrong in the weights of a fully masked query, judged from what they are."""
    if bool(torch.isnan(row).any()):
        return "these weights are nan: softmax of a row of -inf is nan; give such rows zero weights"
    if bool(torch.isinf(row).any()):
        return "these weights are infinite; a query with every key masked must get zero weights"
    if bool(torch.allclose(row, torch.full_like(row, 1.0 / S))):
        return (f"these weights are uniform (1/{S}): masking with a large finite negative number instead of "
                "-inf spreads the weight evenly; a query with every key masked must get zero weights")
    return None


@pytest.mark.exercise("scaled_dot_product_attention")
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_attention_fully_masked_query_gives_zeros(impl, device, kind):
    L, S = 3, 5
    q = randn(1, L, 4, device=device, dtype=torch.float64)
    k = randn(1, S, 4, device=device, dtype=torch.float64)
    v = randn(1, S, 3, device=device, dtype=torch.float64)
    allowed = torch.ones(L, S, dtype=torch.bool, device=device)
    allowed[1] = False
    allowed[2, 3:] = False
    mask = allowed if kind == "bool" else torch.zeros(L, S, dtype=torch.float64, device=device).masked_fill(
        ~allowed, float("-inf"))
    up = torch.randn(1, L, 3, dtype=torch.float64, device=device)
    up_w = torch.randn(1, L, S, dtype=torch.float64, device=device)  # the weights get a gradient too
    got = impl.run(output_and_grads, impl.scaled_dot_product_attention, q, k, v, mask=mask, grad_outputs=[up, up_w])
    want = output_and_grads(F.scaled_dot_product_attention, q, k, v, attn_mask=mask, grad_outputs=[up])
    # torch's out gives the fully masked row zeros and no gradient; the weights of the other rows are
    # torch's softmax, and the upstream gradient of the weights flows back through those rows only

    def weights_of_other_rows(q, k):
        scores = (q @ k.transpose(-2, -1) / math.sqrt(4))[:, [0, 2]]  # (1, 2, S)
        return torch.softmax(scores.masked_fill(~allowed[[0, 2]], float("-inf")), -1)

    ref_w = output_and_grads(weights_of_other_rows, q, k, grad_outputs=[up_w[:, [0, 2]]])
    out, weights = got["output"]
    inputs = {"q": q, "k": k, "v": v, "mask": mask}
    zeros = torch.zeros(S, dtype=torch.float64, device=device)
    assert_close(weights[0, 1], zeros, exercise=SDPA, what="weights of a query with every key masked",
                 inputs=inputs, hint=fully_masked_hint(weights[0, 1], S))
    assert_close(weights[:, [0, 2]], ref_w["output"], exercise=SDPA, what="weights", inputs=inputs)
    assert_close(out, want["output"], exercise=SDPA, inputs=inputs,
                 hint="common causes: a query with every key masked must get a zero output" if not bool(
                     torch.isfinite(out[0, 1]).all()) or bool(out[0, 1].abs().max() > 0) else None)
    finite = all(bool(torch.isfinite(g).all()) for g in got["inputs"])
    assert_true(finite, exercise=SDPA, inputs=inputs,
                message="gradients contain nan/inf when a query has every key masked: a nan made by the "
                        "softmax of a row of -inf still flows back through torch.where or masked_fill "
                        "applied after it; give that row finite scores before the softmax")
    for i, name in enumerate("qkv"):
        expected = want["inputs"][i] + (ref_w["inputs"][i] if name != "v" else 0)
        assert_close(got["inputs"][i], expected, exercise=SDPA, what=f"gradient w.r.t. {name}", inputs=inputs,
                     hint="common causes: a query with every key masked must have zero gradient and add nothing to "
                          "k's and "
                          "v's" if name == "q" and bool(got["inputs"][0][0, 1].abs().max() > 0) else None)


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


def with_score_scale(reference, factor):
    """A copy of ``reference`` whose scores are multiplied by ``factor`` (its query projection is)."""
    wrong = copy.deepcopy(reference)
    E = reference.embed_dim
    with torch.no_grad():
        wrong.in_proj_weight[:E] *= factor
        if wrong.in_proj_bias is not None:
            wrong.in_proj_bias[:E] *= factor
    return wrong


def mha_scaling_misconceptions(reference, query, key, value, **kwargs):
    """Outputs of multi-head attention whose heads scale their scores wrongly."""
    E, H = reference.embed_dim, reference.num_heads
    head = E // H
    wrong = {"multi-head attention without the 1/sqrt(E/H) scaling":
             with_score_scale(reference, math.sqrt(head))(query, key, value, **kwargs)[0].detach()}
    if H > 1:
        wrong["multi-head attention scaled by 1/sqrt(E) (the model size) instead of 1/sqrt(E/H) (the head size)"] = \
            with_score_scale(reference, math.sqrt(head / E))(query, key, value, **kwargs)[0].detach()
    return wrong


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
    assert_close(got["output"][0], want["output"][0], exercise=MHA, inputs=inputs,
                 misconceptions=mha_scaling_misconceptions(reference, query, key, value))
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
        am[:, [0, 2]] = False  # keys 0 and 2 always allowed (key 0 is padding in batch element 1)
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


class AttentionBySdpa(torch.nn.Module):
    """``nn.MultiheadAttention``'s computation with torch's ``scaled_dot_product_attention`` as the core:
    a query that may attend to no key gets a zero attention output there (torch's module gives nan)."""

    def __init__(self, reference):
        super().__init__()
        self.in_proj_weight, self.in_proj_bias, self.out_proj = (
            reference.in_proj_weight, reference.in_proj_bias, reference.out_proj)
        self.num_heads = reference.num_heads

    def forward(self, query, key, value, key_padding_mask, attn_mask):
        B, L, E = query.shape
        S, H = key.shape[1], self.num_heads
        q, k, v = (F.linear(x, w, b).view(B, -1, H, E // H).transpose(1, 2) for x, w, b in zip(
            (query, key, value), self.in_proj_weight.chunk(3), self.in_proj_bias.chunk(3)))
        allowed = ~(attn_mask.view(1, 1, L, S) | key_padding_mask.view(B, 1, 1, S))  # (B, 1, L, S)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # (B, H, L, E/H)
        return self.out_proj(out.transpose(1, 2).reshape(B, L, E))


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_query_with_no_allowed_key(impl, device):
    E, H, B, L, S = 8, 2, 3, 4, 5
    reference, module = build_pair(impl, E, H, device, torch.float64)
    query = randn(B, L, E, device=device, dtype=torch.float64)
    key = randn(B, S, E, device=device, dtype=torch.float64)
    value = randn(B, S, E, device=device, dtype=torch.float64)
    kpm = torch.zeros(B, S, dtype=torch.bool, device=device)
    kpm[0, -2:] = True
    kpm[1] = True  # batch element 1: every key is padding
    am = torch.zeros(L, S, dtype=torch.bool, device=device)
    am[2] = True  # query 2 may attend to nothing
    am[0, 1] = True
    kwargs = {"key_padding_mask": kpm, "attn_mask": am}
    inputs = {"query": query, "key": key, "value": value, **kwargs}
    up = torch.randn(B, L, E, dtype=torch.float64, device=device)  # upstream gradient of out (weights get none)
    got = impl.run(output_and_grads, module, query, key, value, **kwargs, grad_outputs=[up, None])
    out, weights = got["output"]
    with torch.no_grad():
        torch_out, torch_weights = reference(query, key, value, **kwargs)
    defined = torch.isfinite(torch_out).all(-1)  # (B, L): where torch's module gives numbers
    assert_true(bool(torch.isfinite(out).all()), exercise=MHA, inputs=inputs,
                message="output has nan/inf for a query that may attend to no key (every key padded or its "
                        "attn_mask row all masked): torch gives nan there, this module must give out_proj.bias")
    assert_close(out[defined], torch_out[defined], exercise=MHA, what="output where torch's is defined",
                 inputs=inputs)
    bias = reference.out_proj.bias.detach().expand(int((~defined).sum()), E)
    assert_close(out[~defined], bias, exercise=MHA, what="output of a query that may attend to no key",
                 inputs=inputs, misconceptions={"zeros (it must be out_proj applied to a zero attention output, "
                                                "i.e. out_proj.bias)": torch.zeros_like(bias)})
    assert_close(weights[defined], torch_weights[defined], exercise=MHA, what="weights where torch's are defined",
                 inputs=inputs)
    assert_close(weights[~defined], torch.zeros_like(weights[~defined]), exercise=MHA, inputs=inputs,
                 what="weights of a query that may attend to no key",
                 hint=fully_masked_hint(weights[~defined], S))
    want = output_and_grads(AttentionBySdpa(reference), query, key, value, **kwargs, grad_outputs=[up])
    assert_close(out, want["output"], exercise=MHA, inputs=inputs)
    for name, g, w in zip(["query", "key", "value"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=MHA, what=f"gradient w.r.t. {name}", inputs=inputs)
    for name, w in want["params"].items():
        assert_close(got["params"].get(name), w, exercise=MHA, what=f"gradient w.r.t. {name}", inputs=inputs)


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
    assert_close(weights, ref_weights.detach(), exercise=MHA, what="weights (L, S)", inputs={"x (unbatched)": x})
    kpm = torch.tensor([False, True, False, False, True], device=device)
    out, weights = module(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    ref_out, ref_weights = reference(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    inputs = {"x (unbatched)": x, "key_padding_mask": kpm}
    assert_close(out, ref_out.detach(), exercise=MHA, inputs=inputs)
    assert_close(weights, ref_weights.detach(), exercise=MHA, what="per-head weights (H, L, S)", inputs=inputs)
    out, weights = module(x, x, x, need_weights=False)
    assert_true(weights is None, exercise=MHA, message="need_weights=False must return None as the weights",
                inputs={"x (unbatched)": x})


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_state_dict(impl):
    E, H = 16, 4
    module = impl.MultiHeadAttention(E, H)
    reference = torch.nn.MultiheadAttention(E, H, batch_first=True)
    ours, theirs = module.state_dict(), reference.state_dict()
    assert_true(sorted(ours) == sorted(theirs), exercise=MHA,
                message=f"state_dict keys {sorted(ours)} differ from nn.MultiheadAttention's {sorted(theirs)}")
    for name, tensor in theirs.items():
        assert_true(tuple(ours[name].shape) == tuple(tensor.shape), exercise=MHA,
                    message=f"{name} has shape {tuple(ours[name].shape)}, expected {tuple(tensor.shape)}")



def check_uniform(w, bound, name, how):
    """``w`` looks like U(-bound, bound): inside the bound, and its std within 10 % of bound/sqrt(3)."""
    std = float(w.std())
    assert_true(float(w.abs().max()) <= bound and abs(std - bound / math.sqrt(3)) < 0.1 * bound / math.sqrt(3),
                exercise=MHA, message=f"{name} should start {how}, U(-{bound:.4f}, {bound:.4f}) (std "
                                      f"{bound / math.sqrt(3):.4f}); got |w| <= {float(w.abs().max()):.4f}, "
                                      f"std {std:.4f}")


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_initialisation(impl):
    E, H = 32, 4
    ours = impl.MultiHeadAttention(E, H).state_dict()
    check_uniform(ours["in_proj_weight"], math.sqrt(6.0 / (E + 3 * E)), "in_proj_weight",
                  "Xavier-uniform over the whole (3E, E) matrix like nn.MultiheadAttention's")
    check_uniform(ours["out_proj.weight"], 1.0 / math.sqrt(E), "out_proj.weight", "as nn.Linear's weight")
    for name in ("in_proj_bias", "out_proj.bias"):
        assert_true(float(ours[name].abs().max()) == 0.0, exercise=MHA,
                    message=f"{name} should start at zero like nn.MultiheadAttention's")
    plain = impl.MultiHeadAttention(E, H, bias=False).state_dict()
    assert_true(sorted(plain) == ["in_proj_weight", "out_proj.weight"], exercise=MHA,
                message=f"with bias=False the state_dict should hold in_proj_weight and out_proj.weight only, got "
                        f"{sorted(plain)}")


@pytest.mark.exercise("MultiHeadAttention")
def test_multihead_rejects_indivisible_heads(impl):
    module = impl.MultiHeadAttention(6, 3)
    assert_true(module.num_heads == 3 if hasattr(module, "num_heads") else True, exercise=MHA,
                message="num_heads attribute should be 3")
    with pytest.raises(ValueError, match="(?i)divisible|num_heads|embed_dim"):
        impl.MultiHeadAttention(10, 3)
