"""Hidden tests for `transformer`: positional encodings, encoder blocks and stacks, patches and a ViT.

References are computed here by torch: the sinusoidal table in float64, ``F.unfold`` for the
patches, ``nn.TransformerEncoderLayer`` / ``nn.TransformerEncoder(..., enable_nested_tensor=False)``
(batch first) holding the same ``state_dict`` as the submission. The submission's outputs and
gradients come from ``output_and_grads`` run next to it (``impl.run``). Inputs are chosen so the
classic mistakes visibly differ: inputs that are not already normalised (a normalised residual
stream shows), LayerNorm weights away from (1, 0), eps = 0.5, every layer of a stack with its own
weights (shared layers show), padded keys, causal masks checked both against torch and as a
property, positions up to 6000 in float64, non-square images with C > 1, and a ViT whose
encoder is swapped for the identity so that what reaches the head is known exactly.

The torch reference always gets an explicit causal mask: ``nn.TransformerEncoderLayer`` ignores
``is_causal`` in its eval fast path and raises for ``is_causal=True`` without a mask in training.
"""
import copy
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads
from autograder.fixtures.synthetic import VIT_TASK
from autograder.fixtures.transformer import (encoder_input, reference_block_factory, replace_encoder_with_identity,
                                             seeded_output_and_grads, vit_learns_task, with_default_dtype)

PE = "transformer.sinusoidal_positional_encoding"
POSENC = "transformer.PositionalEncoding"
BLOCK = "transformer.TransformerEncoderBlock"
ENC = "transformer.TransformerEncoder"
PATCH = "transformer.patchify"
VIT = "transformer.ViT"

CAUSAL_HINT = ("common causes: is_causal=True (or a causal src_mask) must block every key strictly after the query: "
               "position t attends to 0..t, the diagonal stays allowed (for nn.MultiheadAttention a bool mask "
               "is True where attention is NOT allowed)")


def randn(*shape, device, dtype, scale=1.0, shift=0.0, grad=False):
    x = torch.randn(*shape, dtype=torch.float64) * scale + shift
    return x.to(device=device, dtype=dtype).requires_grad_(grad)


def causal_bool(L, device="cpu"):
    """(L, L) bool mask in nn.MultiheadAttention's convention: True above the diagonal = blocked."""
    return torch.ones(L, L, dtype=torch.bool, device=device).triu(1)


# --------------------------------------------------------------------------- sinusoidal_positional_encoding

def pe_table(max_len, d_model, exponent="2i", layout="interleaved"):
    """The sinusoidal table evaluated in float64 (and a few known-wrong variants of it)."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    idx = torch.arange(0, d_model, 2, dtype=torch.float64)
    if exponent == "i":
        idx = idx / 2
    angle = pos / 10000.0 ** (idx / d_model)  # (max_len, d/2)
    if layout == "interleaved":
        return torch.stack([angle.sin(), angle.cos()], dim=-1).reshape(max_len, d_model)
    if layout == "swapped":
        return torch.stack([angle.cos(), angle.sin()], dim=-1).reshape(max_len, d_model)
    return torch.cat([angle.sin(), angle.cos()], dim=-1)  # "halves"


def pe_misconceptions(max_len, d_model, dtype):
    wrong = {
        "the table with sin and cos swapped (column 2i holds sin, column 2i+1 holds cos)":
            pe_table(max_len, d_model, layout="swapped"),
        "the table with exponent i/d instead of 2i/d (2i is the even column index, shared by the "
        "sin/cos pair)": pe_table(max_len, d_model, exponent="i"),
        "sin in the first half of the columns and cos in the second half (they interleave: "
        "column 2i holds sin, 2i+1 cos)": pe_table(max_len, d_model, layout="halves"),
    }
    return {k: v.to(dtype) for k, v in wrong.items()}


@pytest.mark.exercise("sinusoidal_positional_encoding")
@pytest.mark.parametrize("max_len,d_model", [(1, 2), (10, 4), (50, 8), (7, 64), (129, 6), (300, 16)])
def test_pe_values(impl, max_len, d_model):
    pe = impl.sinusoidal_positional_encoding(max_len, d_model)
    inputs = {"max_len": max_len, "d_model": d_model}
    assert_true(isinstance(pe, torch.Tensor) and pe.dtype == torch.get_default_dtype(), exercise=PE,
                message=f"expected a tensor in the default dtype {torch.get_default_dtype()}, "
                        f"got {getattr(pe, 'dtype', type(pe).__name__)}", inputs=inputs)
    expected = pe_table(max_len, d_model).float()
    assert_close(pe, expected, exercise=PE, inputs=inputs,
                 misconceptions=pe_misconceptions(max_len, d_model, torch.float32))


@pytest.mark.exercise("sinusoidal_positional_encoding")
def test_pe_large_positions_float64(impl):
    # Under torch.set_default_dtype(torch.float64) the table must be exact in float64: a table computed
    # in float32 and cast (the usual tutorial code) is off by ~1e-4 near position 5000.
    pe = impl.run(with_default_dtype, impl.sinusoidal_positional_encoding, torch.float64, 6000, 64)
    assert_true(isinstance(pe, torch.Tensor) and pe.dtype == torch.float64, exercise=PE,
                message=f"with default dtype float64 the table should be float64, got "
                        f"{getattr(pe, 'dtype', type(pe).__name__)}")
    assert_close(pe, pe_table(6000, 64), exercise=PE, inputs={"max_len": 6000, "d_model": 64,
                                                                "default dtype": torch.float64},
                 hint="common causes: compute the table in float64 and cast to the default dtype at the end: in "
                      "float32, pos / 10000^(2i/d) for pos in the thousands loses ~1e-4 after the sine",
                 misconceptions=pe_misconceptions(6000, 64, torch.float64))


@pytest.mark.exercise("sinusoidal_positional_encoding")
def test_pe_large_positions_float32(impl):
    pe = impl.sinusoidal_positional_encoding(6000, 32)
    assert_close(pe, pe_table(6000, 32).float(), exercise=PE, inputs={"max_len": 6000, "d_model": 32},
                 hint="common causes: compute the table in float64 and cast at the end (float32 angles lose ~1e-4 at "
                      "pos 5000)")


@pytest.mark.exercise("sinusoidal_positional_encoding")
@pytest.mark.parametrize("d_model", [1, 5, 63])
def test_pe_rejects_odd_d_model(impl, d_model):
    assert_close(impl.sinusoidal_positional_encoding(3, 2), pe_table(3, 2).float(), exercise=PE,
                 inputs={"max_len": 3, "d_model": 2})
    with pytest.raises(ValueError):
        impl.sinusoidal_positional_encoding(10, d_model)


# --------------------------------------------------------------------------- PositionalEncoding

@pytest.mark.exercise("PositionalEncoding")
@pytest.mark.parametrize("B,L,D,max_len", [(2, 5, 8, 20), (3, 1, 4, 1), (1, 50, 16, 50), (4, 7, 6, None)])
def test_positional_encoding_values_and_gradient(impl, device, dtype, B, L, D, max_len):
    module = impl.PositionalEncoding(D) if max_len is None else impl.PositionalEncoding(D, max_len=max_len)
    module.to(device=device, dtype=dtype)
    x = randn(B, L, D, device=device, dtype=dtype, grad=True)
    table = pe_table(L, D).to(device=device, dtype=dtype)
    got = impl.run(output_and_grads, module, x)
    want = output_and_grads(lambda x: x + table, x)
    inputs = {"x": x, "max_len": max_len or 5000}
    assert_close(got["output"], want["output"], exercise=POSENC, inputs=inputs,
                 misconceptions={"sqrt(d_model) * x + PE[:L] (the sqrt(d_model) scaling belongs to the embedding "
                                 "layer, not here)": math.sqrt(D) * x.detach() + table,
                                 "x alone (the table was not added)": x.detach()})
    assert_close(got["inputs"][0], want["inputs"][0], exercise=POSENC, what="gradient w.r.t. x", inputs=inputs)


@pytest.mark.exercise("PositionalEncoding")
def test_positional_encoding_table_is_a_buffer(impl):
    module = impl.PositionalEncoding(6, max_len=40)
    state = module.state_dict()
    assert_true(sorted(state) == ["pe"], exercise=POSENC,
                message=f"state_dict keys should be ['pe'] (a buffer, no parameters), got {sorted(state)}")
    assert_true(len(list(module.parameters())) == 0, exercise=POSENC,
                message="the table is fixed: register it as a buffer, not an nn.Parameter")
    assert_close(state["pe"], pe_table(40, 6).float(), exercise=POSENC, what="buffer pe", check_dtype=False)
    module.to(torch.float64)
    assert_true(module.state_dict()["pe"].dtype == torch.float64, exercise=POSENC,
                message="module.to(torch.float64) should convert the buffer pe (register_buffer, not a plain "
                        "attribute)")


@pytest.mark.exercise("PositionalEncoding")
def test_positional_encoding_dropout_train_and_eval(impl):
    module = impl.PositionalEncoding(16, max_len=64, dropout=0.5)
    x = randn(4, 50, 16, device="cpu", dtype=torch.float64)
    y = x + pe_table(50, 16)
    module.to(torch.float64)
    module.eval()
    assert_close(module(x), y, exercise=POSENC, what="eval-mode output (dropout off)", inputs={"x": x})
    module.train()
    out = module(x)
    dropped = out == 0
    # Property check, not a reference comparison: the buffer may hold the table rounded to float32 (error
    # < 6e-8 after the 1 / (1 - p) = 2 scaling), so allow 1e-6.
    kept_ok = torch.allclose(torch.where(dropped, 2 * y, out), 2 * y, rtol=1e-6, atol=1e-6)
    # 3200 elements with p = 0.5: the dropped fraction has std 0.0088, so [0.4, 0.6] is > 11 sigma (p < 1e-25).
    frac = float(dropped.double().mean())
    assert_true(kept_ok and 0.4 <= frac <= 0.6, exercise=POSENC, inputs={"x": x, "dropout": 0.5},
                message=f"train-mode output should be dropout(x + PE[:L]): each element 0 or 2 * (x + PE) for p=0.5 "
                        f"(got {frac:.1%} zeros, kept elements {'right' if kept_ok else 'wrong'}); "
                        "apply dropout after adding the table")


@pytest.mark.exercise("PositionalEncoding")
def test_positional_encoding_rejects_too_long_input(impl):
    module = impl.PositionalEncoding(8, max_len=4)
    x = torch.randn(1, 4, 8)
    assert_close(module(x), x + pe_table(4, 8).float(), exercise=POSENC, inputs={"x": x})
    with pytest.raises(ValueError):
        module(torch.randn(1, 5, 8))
    with pytest.raises(ValueError):
        impl.PositionalEncoding(7)


# --------------------------------------------------------------------------- TransformerEncoderBlock

def randomize_(module, seed=0):
    """Non-default weights: LayerNorms away from (1, 0), non-zero attention biases."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.3 * noise)
            elif name.endswith("bias"):
                p.copy_(0.2 * noise)
            else:
                p.copy_(p + 0.1 * noise * p.std())
    return module


def block_pair(impl, d_model, nhead, dim_ff, device, dtype, seed=0, **kwargs):
    """A torch nn.TransformerEncoderLayer and the submission's block holding the same weights (eval mode)."""
    reference = nn.TransformerEncoderLayer(d_model, nhead, dim_ff, batch_first=True, **kwargs)
    randomize_(reference, seed)
    reference.to(device=device, dtype=dtype).eval()
    block = impl.TransformerEncoderBlock(d_model, nhead, dim_ff, **kwargs)
    block.to(device=device, dtype=dtype)
    block.load_state_dict(reference.state_dict())
    block.eval()
    return reference, block


def block_misconceptions(ref, x, mask=None, kpm=None):
    """What known-wrong blocks return, computed from the reference layer's own submodules."""
    x = x.detach()
    act = ref.activation

    def sa(h):
        return ref.self_attn(h, h, h, attn_mask=mask, key_padding_mask=kpm, need_weights=False)[0]

    def ff(h):
        return ref.linear2(act(ref.linear1(h)))

    def ff_late(h):
        return act(ref.linear2(ref.linear1(h)))

    def pre(f=ff):
        h = x + sa(ref.norm1(x))
        return h + f(ref.norm2(h))

    def post(f=ff):
        h = ref.norm1(x + sa(x))
        return ref.norm2(h + f(h))

    with torch.no_grad():
        late = "the activation applied after linear2 instead of between linear1 and linear2"
        if ref.norm_first:
            h = x + sa(ref.norm1(x))
            n1 = ref.norm1(x)
            h2 = ref.norm2(n1 + sa(n1))
            return {
                "the post-norm formula (norm_first=False), but norm_first=True is pre-norm": post(),
                "pre-norm without the residual connection around the feed-forward branch (x = ff(norm2(x)))":
                    ff(ref.norm2(h)),
                "pre-norm whose residual stream is normalised too (x = norm1(x) + sa(norm1(x))): the residual "
                "must carry the un-normalised x": h2 + ff(h2),
                late: pre(ff_late),
            }
        h = ref.norm1(x + sa(x))
        return {
            "the pre-norm formula (norm_first=True), but norm_first=False is post-norm": pre(),
            "post-norm without the residual connection around the feed-forward branch (x = norm2(ff(x)))":
                ref.norm2(ff(h)),
            "post-norm without the residual connection around the attention branch": ref.norm2(
                ref.norm1(sa(x)) + ff(ref.norm1(sa(x)))),
            late: post(ff_late),
        }


def check_block(got, want, inputs, misconceptions=None, hint=None, params=True):
    assert_close(got["output"], want["output"], exercise=BLOCK, inputs=inputs, misconceptions=misconceptions,
                 hint=hint)
    for g, w in zip(got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=BLOCK, what="gradient w.r.t. src", inputs=inputs, hint=hint)
    if params:
        for name, w in want["params"].items():
            assert_close(got["params"].get(name), w, exercise=BLOCK, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_block_values_and_gradients(impl, device, dtype, norm_first, activation):
    reference, block = block_pair(impl, 16, 4, 32, device, dtype, activation=activation, norm_first=norm_first)
    x = randn(3, 6, 16, device=device, dtype=dtype, scale=2.0, shift=0.5, grad=True)  # not already normalised
    got = impl.run(output_and_grads, block, x)
    want = output_and_grads(reference, x)
    wrong = block_misconceptions(reference, x)
    if activation == "gelu":
        tanh_ref = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, norm_first=norm_first,
                                              activation=lambda t: F.gelu(t, approximate="tanh"))
        tanh_ref.to(device=device, dtype=dtype).eval()
        tanh_ref.load_state_dict(reference.state_dict())
        with torch.no_grad():
            wrong["the tanh approximation of gelu (activation='gelu' is the exact erf GELU, F.gelu's default)"] = \
                tanh_ref(x.detach())
    check_block(got, want, {"src": x, "norm_first": norm_first, "activation": activation}, wrong)


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_block_gelu_relu_large_inputs_float64(impl, device, activation):
    # Inputs of size ~3 put the MLP's pre-activations where exact and tanh GELU differ by ~1e-4.
    reference, block = block_pair(impl, 16, 2, 48, device, torch.float64, seed=3, activation=activation,
                                  norm_first=True)
    x = randn(2, 5, 16, device=device, dtype=torch.float64, scale=3.0)
    with torch.no_grad():
        want = reference(x)
        wrong = {}
        if activation == "gelu":
            tanh_ref = nn.TransformerEncoderLayer(16, 2, 48, batch_first=True, norm_first=True,
                                                  activation=lambda t: F.gelu(t, approximate="tanh"))
            tanh_ref.to(device=device, dtype=torch.float64).eval()
            tanh_ref.load_state_dict(reference.state_dict())
            wrong["the tanh approximation of gelu (activation='gelu' is the exact erf GELU, F.gelu's default)"] = \
                tanh_ref(x)
    assert_close(block(x), want, exercise=BLOCK, inputs={"src": x, "activation": activation}, misconceptions=wrong)


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("d_model,nhead,dim_ff,B,L", [(8, 1, 16, 1, 1), (12, 3, 20, 2, 7), (16, 8, 24, 3, 4),
                                                      (6, 2, 6, 4, 9)])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_shapes_and_heads(impl, device, d_model, nhead, dim_ff, B, L, norm_first):
    reference, block = block_pair(impl, d_model, nhead, dim_ff, device, torch.float64, seed=d_model,
                                  norm_first=norm_first)
    x = randn(B, L, d_model, device=device, dtype=torch.float64, scale=1.5, shift=-0.3, grad=True)
    got = impl.run(output_and_grads, block, x)
    want = output_and_grads(reference, x)
    check_block(got, want, {"src": x, "nhead": nhead, "dim_feedforward": dim_ff, "norm_first": norm_first},
                block_misconceptions(reference, x))


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_layer_norm_eps(impl, device, norm_first):
    reference, block = block_pair(impl, 8, 2, 16, device, torch.float64, layer_norm_eps=0.5, norm_first=norm_first)
    x = randn(2, 5, 8, device=device, dtype=torch.float64, scale=0.7, grad=True)
    got = impl.run(output_and_grads, block, x)
    want = output_and_grads(reference, x)
    default_eps = copy.deepcopy(reference)
    default_eps.norm1.eps = default_eps.norm2.eps = 1e-5
    with torch.no_grad():
        wrong = {"LayerNorms with the default eps 1e-5 instead of layer_norm_eps": default_eps(x.detach())}
    check_block(got, want, {"src": x, "layer_norm_eps": 0.5, "norm_first": norm_first}, wrong)


def make_masks(kind, B, H, L, device, dtype):
    gen = torch.Generator().manual_seed(7)
    kwargs = {}
    if kind in ("bool_mask", "bool_both"):
        m = torch.rand(L, L, generator=gen) > 0.6
        m.fill_diagonal_(False)  # every query may attend to itself
        kwargs["src_mask"] = m.to(device)
    if kind == "float_mask":
        m = torch.randn(L, L, generator=gen, dtype=torch.float64).to(dtype)
        m[1, 3:] = float("-inf")
        kwargs["src_mask"] = m.to(device)
    if kind == "per_head_mask":
        m = torch.rand(B * H, L, L, generator=gen) > 0.6
        m[:, :, 0] = False
        kwargs["src_mask"] = m.to(device)
    if kind in ("bool_padding", "bool_both"):
        kpm = torch.zeros(B, L, dtype=torch.bool)
        kpm[0, -2:] = True
        kpm[1, 0] = True
        kwargs["src_key_padding_mask"] = kpm.to(device)
    if kind == "float_padding":
        kpm = torch.zeros(B, L, dtype=torch.float64)
        kpm[0, -3:] = float("-inf")
        kpm[2] = torch.randn(L, generator=gen, dtype=torch.float64)
        kwargs["src_key_padding_mask"] = kpm.to(device=device, dtype=dtype)
    return kwargs


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("kind", ["bool_mask", "float_mask", "per_head_mask", "bool_padding", "float_padding",
                                  "bool_both"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_masks(impl, device, dtype, kind, norm_first):
    B, H, L, D = 3, 2, 6, 8
    reference, block = block_pair(impl, D, H, 16, device, dtype, norm_first=norm_first)
    x = randn(B, L, D, device=device, dtype=dtype, grad=True)
    kwargs = make_masks(kind, B, H, L, device, dtype)
    got = impl.run(output_and_grads, block, x, **kwargs)
    want = output_and_grads(reference, x, **kwargs)
    wrong = block_misconceptions(reference, x, kwargs.get("src_mask"), kwargs.get("src_key_padding_mask"))
    with torch.no_grad():
        if "src_key_padding_mask" in kwargs:
            wrong["attention that ignores src_key_padding_mask (padded keys must get no weight)"] = \
                reference(x.detach(), src_mask=kwargs.get("src_mask"))
        if "src_mask" in kwargs:
            wrong["attention that ignores src_mask"] = \
                reference(x.detach(), src_key_padding_mask=kwargs.get("src_key_padding_mask"))
    check_block(got, want, {"src": x, **kwargs}, wrong, params=False)


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_is_causal(impl, device, dtype, norm_first):
    reference, block = block_pair(impl, 16, 4, 32, device, dtype, norm_first=norm_first)
    x = randn(2, 5, 16, device=device, dtype=dtype, grad=True)
    got = impl.run(output_and_grads, block, x, is_causal=True)
    want = output_and_grads(reference, x, src_mask=causal_bool(5, device))
    check_block(got, want, {"src": x, "is_causal": True}, hint=CAUSAL_HINT, params=False)


@pytest.mark.exercise("TransformerEncoderBlock")
def test_block_is_causal_with_mask_uses_the_mask(impl, device):
    reference, block = block_pair(impl, 8, 2, 16, device, torch.float64)
    x = randn(2, 6, 8, device=device, dtype=torch.float64)
    mask = causal_bool(6, device)
    float_mask = torch.zeros(6, 6, dtype=torch.float64, device=device).masked_fill(mask, float("-inf"))
    with torch.no_grad():
        want = reference(x, src_mask=mask)
    assert_close(block(x, src_mask=mask, is_causal=True), want, exercise=BLOCK,
                 inputs={"src": x, "src_mask": mask, "is_causal": True}, hint=CAUSAL_HINT)
    assert_close(block(x, src_mask=float_mask, is_causal=True), want, exercise=BLOCK,
                 inputs={"src": x, "src_mask (float)": float_mask, "is_causal": True}, hint=CAUSAL_HINT)


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("how", ["is_causal", "src_mask"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_causality_property(impl, device, how, norm_first):
    # Property: with a causal mask, the output at position t does not depend on the inputs after t.
    L = 7
    _, block = block_pair(impl, 8, 2, 16, device, torch.float64, norm_first=norm_first)
    kwargs = {"is_causal": True} if how == "is_causal" else {"src_mask": causal_bool(L, device)}
    x = randn(2, L, 8, device=device, dtype=torch.float64)
    out = block(x, **kwargs)
    for t in (0, 2, L - 2):
        changed = x.clone()
        changed[:, t + 1:] += 3.0 * torch.randn(2, L - t - 1, 8, dtype=torch.float64, device=device)
        out2 = block(changed, **kwargs)
        # Exact up to float64 rounding: the masked keys get weight exactly 0.
        assert_close(out2[:, :t + 1], out[:, :t + 1], exercise=BLOCK, rtol=1e-10, atol=1e-10,
                     what=f"outputs at positions 0..{t} after changing the inputs after position {t}",
                     inputs={"src": x, **kwargs}, hint=CAUSAL_HINT)
        assert_true(bool((out2[:, t + 1:] - out[:, t + 1:]).abs().max() > 1e-6), exercise=BLOCK,
                    message=f"changing the inputs after position {t} did not change the outputs there")


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_unbatched_input(impl, device, norm_first):
    reference, block = block_pair(impl, 8, 4, 12, device, torch.float64, norm_first=norm_first)
    x = randn(5, 8, device=device, dtype=torch.float64, scale=2.0, grad=True)
    got = impl.run(output_and_grads, block, x)
    want = output_and_grads(reference, x)
    check_block(got, want, {"src (L, D), unbatched": x, "norm_first": norm_first})


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_train_mode_dropout_matches_torch(impl, device, norm_first):
    # Same seed before both forwards: blocks that apply dropout1, dropout (MLP hidden, after the activation)
    # and dropout2 where nn.TransformerEncoderLayer does draw the same masks. Attention-weight dropout is
    # switched off in both (its random stream depends on how the attention is called).
    reference, block = block_pair(impl, 16, 4, 32, device, torch.float64, dropout=0.5, norm_first=norm_first)
    reference.train()
    block.train()
    reference.self_attn.dropout = 0.0
    block.self_attn.dropout = 0.0
    x = randn(3, 6, 16, device=device, dtype=torch.float64, grad=True)
    got = impl.run(seeded_output_and_grads, block, 1234, x)
    want = seeded_output_and_grads(reference, 1234, x)
    hint = ("common causes: in train mode dropout1 follows the attention, dropout follows the activation inside the "
            "MLP (linear2(dropout(activation(linear1(x))))), and dropout2 follows linear2, as in "
            "nn.TransformerEncoderLayer")
    check_block(got, want, {"src": x, "dropout": 0.5, "norm_first": norm_first, "mode": "train"}, hint=hint)
    with torch.no_grad():
        eval_out = reference.eval()(x.detach())
    assert_true(bool((got["output"] - eval_out).abs().max() > 1e-3), exercise=BLOCK,
                message="with dropout=0.5 in train mode the output equals the eval-mode output: dropout is not applied")


@pytest.mark.exercise("TransformerEncoderBlock")
def test_block_train_mode_without_dropout(impl, device):
    reference, block = block_pair(impl, 8, 2, 16, device, torch.float64, dropout=0.0, norm_first=True)
    reference.train()
    block.train()
    x = randn(2, 4, 8, device=device, dtype=torch.float64, scale=2.0, grad=True)
    got = impl.run(output_and_grads, block, x, src_key_padding_mask=torch.tensor(
        [[False, False, False, True], [False] * 4], device=device))
    want = output_and_grads(reference, x, src_key_padding_mask=torch.tensor(
        [[False, False, False, True], [False] * 4], device=device))
    check_block(got, want, {"src": x, "mode": "train", "dropout": 0.0})


@pytest.mark.exercise("TransformerEncoderBlock")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_block_state_dict_and_submodules(impl, norm_first):
    block = impl.TransformerEncoderBlock(12, 3, 20, dropout=0.3, layer_norm_eps=1e-3, norm_first=norm_first)
    reference = nn.TransformerEncoderLayer(12, 3, 20, dropout=0.3, layer_norm_eps=1e-3, norm_first=norm_first,
                                           batch_first=True)
    ours, theirs = block.state_dict(), reference.state_dict()
    assert_true(sorted(ours) == sorted(theirs), exercise=BLOCK,
                message=f"state_dict keys {sorted(ours)} differ from nn.TransformerEncoderLayer's {sorted(theirs)}")
    for name, tensor in theirs.items():
        assert_true(tuple(ours[name].shape) == tuple(tensor.shape), exercise=BLOCK,
                    message=f"{name} has shape {tuple(ours[name].shape)}, expected {tuple(tensor.shape)}")
    attn = block.self_attn
    assert_true(impl.isinstance(attn, nn.MultiheadAttention) and attn.batch_first is True, exercise=BLOCK,
                message="self_attn should be nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)")
    assert_true(attn.num_heads == 3 and math.isclose(attn.dropout, 0.3), exercise=BLOCK,
                message=f"self_attn should have 3 heads and dropout 0.3 (got {attn.num_heads} and {attn.dropout})")
    for name in ("dropout", "dropout1", "dropout2"):
        p = getattr(block, name).p
        assert_true(math.isclose(p, 0.3), exercise=BLOCK, message=f"{name}.p should be 0.3, got {p}")
    for name in ("norm1", "norm2"):
        eps = getattr(block, name).eps
        assert_true(math.isclose(eps, 1e-3), exercise=BLOCK,
                    message=f"{name}.eps should be layer_norm_eps = 1e-3, got {eps}")


@pytest.mark.exercise("TransformerEncoderBlock")
def test_block_state_dict_round_trip(impl, device):
    # The submission's own (fresh) weights, loaded into torch's layer, give torch's output.
    block = impl.TransformerEncoderBlock(8, 2, 16, norm_first=True)
    block.to(device=device, dtype=torch.float64)
    block.eval()
    reference = nn.TransformerEncoderLayer(8, 2, 16, norm_first=True, batch_first=True)
    reference.to(device=device, dtype=torch.float64).eval()
    reference.load_state_dict(block.state_dict())
    x = randn(2, 5, 8, device=device, dtype=torch.float64)
    with torch.no_grad():
        want = reference(x)
    assert_close(block(x), want, exercise=BLOCK, inputs={"src": x})


@pytest.mark.exercise("TransformerEncoderBlock")
def test_block_rejects_bad_arguments(impl):
    block = impl.TransformerEncoderBlock(8, 2, 16, activation="gelu")
    block.eval()
    out = block(torch.randn(1, 3, 8))
    assert_true(tuple(out.shape) == (1, 3, 8), exercise=BLOCK, message=f"output shape {tuple(out.shape)} != (1, 3, 8)")
    with pytest.raises(ValueError):
        impl.TransformerEncoderBlock(10, 3)
    with pytest.raises(ValueError):
        impl.TransformerEncoderBlock(8, 2, activation="tanh")


# --------------------------------------------------------------------------- TransformerEncoder

def encoder_pair(impl, num_layers, with_norm, device, dtype, d_model=16, nhead=4, dim_ff=32, norm_first=False):
    """nn.TransformerEncoder (every layer with its own weights) and the submission's stack of trusted blocks."""
    layer = nn.TransformerEncoderLayer(d_model, nhead, dim_ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    final = nn.LayerNorm(d_model) if with_norm else None
    reference = nn.TransformerEncoder(layer, num_layers, norm=final, enable_nested_tensor=False)
    for k, lay in enumerate(reference.layers):  # the clones start identical: give each its own weights
        randomize_(lay, seed=100 + k)
    if final is not None:
        randomize_(final, seed=99)
    reference.to(device=device, dtype=dtype).eval()
    factory = impl.run(reference_block_factory, d_model, nhead, dim_ff, dropout=0.0, norm_first=norm_first)
    norm = impl.run(nn.LayerNorm, d_model) if with_norm else None
    encoder = impl.TransformerEncoder(factory, num_layers, norm=norm)
    encoder.to(device=device, dtype=dtype)
    encoder.load_state_dict(reference.state_dict())
    encoder.eval()
    return reference, encoder


def encoder_misconceptions(reference, x, **kwargs):
    x = x.detach()
    wrong = {}
    with torch.no_grad():
        if reference.norm is not None:
            no_norm = copy.deepcopy(reference)
            no_norm.norm = None
            wrong["the stack without its final norm (apply norm to the last block's output)"] = no_norm(x, **kwargs)
        if len(reference.layers) > 1:
            shared = copy.deepcopy(reference)
            for lay in shared.layers:
                lay.load_state_dict(reference.layers[-1].state_dict())
            wrong["a stack whose layers all share one block (call block_factory once per layer)"] = shared(x, **kwargs)
    return wrong


@pytest.mark.exercise("TransformerEncoder")
@pytest.mark.parametrize("num_layers,with_norm,norm_first", [(1, False, False), (2, True, False), (3, True, True),
                                                             (2, False, True)])
def test_encoder_values_and_gradients(impl, device, dtype, num_layers, with_norm, norm_first):
    reference, encoder = encoder_pair(impl, num_layers, with_norm, device, dtype, norm_first=norm_first)
    x = randn(2, 5, 16, device=device, dtype=dtype, scale=1.5, grad=True)
    got = impl.run(output_and_grads, encoder, x)
    want = output_and_grads(reference, x)
    inputs = {"src": x, "num_layers": num_layers, "norm": with_norm}
    assert_close(got["output"], want["output"], exercise=ENC, inputs=inputs,
                 misconceptions=encoder_misconceptions(reference, x))
    assert_close(got["inputs"][0], want["inputs"][0], exercise=ENC, what="gradient w.r.t. src", inputs=inputs)
    for name, w in want["params"].items():
        assert_close(got["params"].get(name), w, exercise=ENC, what=f"gradient w.r.t. {name}", inputs=inputs,
                     hint="common causes: each layer needs its own block: call block_factory once per layer")


@pytest.mark.exercise("TransformerEncoder")
@pytest.mark.parametrize("kind", ["causal_mask", "is_causal", "bool_padding", "float_mask_and_padding"])
def test_encoder_passes_masks_to_every_layer(impl, device, dtype, kind):
    B, L = 3, 6
    reference, encoder = encoder_pair(impl, 2, True, device, dtype, d_model=8, nhead=2, dim_ff=16)
    x = randn(B, L, 8, device=device, dtype=dtype, grad=True)
    mine, theirs = {}, {}
    if kind == "causal_mask":
        mine = theirs = {"mask": causal_bool(L, device)}
    elif kind == "is_causal":
        mine, theirs = {"is_causal": True}, {"mask": causal_bool(L, device)}
    elif kind == "bool_padding":
        kpm = torch.zeros(B, L, dtype=torch.bool, device=device)
        kpm[0, -2:] = True
        kpm[2, 1] = True
        mine = theirs = {"src_key_padding_mask": kpm}
    else:
        mask = torch.randn(L, L, dtype=torch.float64).to(device=device, dtype=dtype)
        kpm = torch.zeros(B, L, dtype=dtype, device=device)
        kpm[1, -3:] = float("-inf")
        mine = theirs = {"mask": mask, "src_key_padding_mask": kpm}
    got = impl.run(output_and_grads, encoder, x, **mine)
    want = output_and_grads(reference, x, **theirs)
    inputs = {"src": x, **mine}
    hint = ("common causes: pass mask (as src_mask), src_key_padding_mask and is_causal to every layer, not only the "
            "first"
            + ("; " + CAUSAL_HINT if kind == "is_causal" else ""))
    assert_close(got["output"], want["output"], exercise=ENC, inputs=inputs, hint=hint)
    assert_close(got["inputs"][0], want["inputs"][0], exercise=ENC, what="gradient w.r.t. src", inputs=inputs)


@pytest.mark.exercise("TransformerEncoder")
def test_encoder_layers_are_distinct(impl):
    factory = impl.run(reference_block_factory, 8, 2, 16, dropout=0.0)
    encoder = impl.TransformerEncoder(factory, 3)
    reference = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 3,
                                      enable_nested_tensor=False)
    ours, theirs = encoder.state_dict(), reference.state_dict()
    assert_true(sorted(ours) == sorted(theirs), exercise=ENC,
                message=f"state_dict keys {sorted(ours)} differ from nn.TransformerEncoder's {sorted(theirs)}")
    n_params = sum(p.numel() for p in encoder.parameters())
    expected = sum(p.numel() for p in reference.parameters())
    assert_true(len(encoder.layers) == 3 and n_params == expected, exercise=ENC,
                message=f"3 layers should hold {expected} parameters, found {n_params} in {len(encoder.layers)} "
                        "layers: call block_factory once per layer (a repeated block shares its weights), and keep "
                        "the layers in an nn.ModuleList")


@pytest.mark.exercise("TransformerEncoder")
def test_encoder_zero_layers_is_just_the_norm(impl, device):
    norm = impl.run(nn.LayerNorm, 6)
    encoder = impl.TransformerEncoder(impl.run(reference_block_factory, 6, 2, 8), 0, norm=norm)
    encoder.to(device=device, dtype=torch.float64)
    x = randn(2, 3, 6, device=device, dtype=torch.float64)
    assert_close(encoder(x), F.layer_norm(x, (6,)), exercise=ENC, inputs={"src": x, "num_layers": 0})
    plain = impl.TransformerEncoder(impl.run(reference_block_factory, 6, 2, 8), 0)
    assert_close(plain(x.float()), x.float(), exercise=ENC, inputs={"src": x, "num_layers": 0, "norm": None})


@pytest.mark.exercise("TransformerEncoder")
def test_encoder_rejects_bad_arguments(impl):
    encoder = impl.TransformerEncoder(impl.run(reference_block_factory, 8, 2, 16), 1)
    out = encoder(torch.randn(1, 3, 8))
    assert_true(tuple(out.shape) == (1, 3, 8), exercise=ENC, message=f"output shape {tuple(out.shape)} != (1, 3, 8)")
    with pytest.raises(TypeError):
        impl.TransformerEncoder(3, 2)
    with pytest.raises(ValueError):
        impl.TransformerEncoder(impl.run(reference_block_factory, 8, 2, 16), -1)


# --------------------------------------------------------------------------- patchify

def unfold_patches(images, p):
    return F.unfold(images, p, stride=p).transpose(-1, -2)


def patch_misconceptions(images, p):
    x = images.detach()
    B, C, H, W = x.shape
    blocks = x.reshape(B, C, H // p, p, W // p, p)
    N = (H // p) * (W // p)
    wrong = {
        "patches flattened channels last, in (p, p, C) order (unfold flattens each patch in (C, p, p) order)":
            blocks.permute(0, 2, 4, 3, 5, 1).reshape(B, N, C * p * p),
        "patches numbered column by column (unfold's order is row by row: left to right, then top to bottom)":
            blocks.permute(0, 4, 2, 1, 3, 5).reshape(B, N, C * p * p),
        "a plain reshape to (B, N, C*p*p): a reshape alone cannot cut patches, permute the axes "
        "(B, C, H/p, p, W/p, p) -> (B, H/p, W/p, C, p, p) first": x.reshape(B, N, C * p * p),
    }
    return wrong


@pytest.mark.exercise("patchify")
@pytest.mark.parametrize("shape,p", [((2, 3, 8, 12), 4), ((1, 1, 8, 8), 4), ((3, 2, 6, 9), 3), ((2, 1, 5, 5), 1),
                                     ((1, 4, 4, 4), 4), ((2, 3, 10, 4), 2)])
def test_patchify_values_and_gradient(impl, device, dtype, shape, p):
    images = randn(*shape, device=device, dtype=dtype, grad=True)
    got = impl.run(output_and_grads, impl.patchify, images, p)
    want = output_and_grads(unfold_patches, images, p)
    inputs = {"images": images, "patch_size": p}
    assert_close(got["output"], want["output"], exercise=PATCH, inputs=inputs,
                 misconceptions=patch_misconceptions(images, p))
    assert_close(got["inputs"][0], want["inputs"][0], exercise=PATCH, what="gradient w.r.t. images", inputs=inputs)


@pytest.mark.exercise("patchify")
def test_patchify_arange_image(impl):
    images = torch.arange(2 * 8 * 12, dtype=torch.float64).reshape(1, 2, 8, 12)
    assert_close(impl.patchify(images, 4), unfold_patches(images, 4), exercise=PATCH,
                 inputs={"images (arange)": images, "patch_size": 4}, misconceptions=patch_misconceptions(images, 4))


@pytest.mark.exercise("patchify")
def test_patchify_unbatched(impl, device):
    images = randn(3, 6, 4, device=device, dtype=torch.float64)
    assert_close(impl.patchify(images, 2), unfold_patches(images, 2), exercise=PATCH,
                 inputs={"images (C, H, W)": images, "patch_size": 2})


@pytest.mark.exercise("patchify")
@pytest.mark.parametrize("shape,p", [((1, 1, 6, 8), 4), ((2, 3, 8, 6), 4), ((1, 1, 5, 5), 2)])
def test_patchify_rejects_indivisible_size(impl, shape, p):
    images = torch.randn(1, 1, 4, 4)
    assert_close(impl.patchify(images, 2), unfold_patches(images, 2), exercise=PATCH, inputs={"images": images})
    with pytest.raises(ValueError):
        impl.patchify(torch.randn(*shape), p)


# --------------------------------------------------------------------------- ViT

SMALL_VIT = dict(d_model=16, depth=1, nhead=2, dim_feedforward=32)


def randomized_vit(impl, image_size, patch_size, in_channels, num_classes, device=None, dtype=None, seed=0,
                   all_weights=False, **kwargs):
    """A ViT with a random cls_token and pos_embedding (std 1), so both visibly matter.

    With ``all_weights`` every other floating tensor of the state_dict is redrawn too, whatever the submission's
    own initialisation (a timm-style truncated-normal(0.02) init makes every signal tiny): matrices
    N(0, 1/fan_in), 1-d weights 1 + N(0, 0.1²) (LayerNorm scales), biases N(0, 0.1²).
    """
    model = impl.ViT(image_size, patch_size, in_channels, num_classes, **(kwargs or SMALL_VIT))
    if device is not None:
        model.to(device=device, dtype=dtype)
    state = model.state_dict()
    gen = torch.Generator().manual_seed(seed)
    for name in ("cls_token", "pos_embedding"):
        if name in state:
            state[name] = torch.randn(state[name].shape, generator=gen, dtype=torch.float64).to(state[name])
    for name, value in state.items():
        if not all_weights or name in ("cls_token", "pos_embedding") or not value.is_floating_point():
            continue
        noise = torch.randn(value.shape, generator=gen, dtype=torch.float64)
        if value.dim() >= 2:
            noise = noise / math.sqrt(value[0].numel())
        elif name.endswith("weight"):
            noise = 1.0 + 0.1 * noise
        else:
            noise = 0.1 * noise
        state[name] = noise.to(value)
    model.load_state_dict(state)
    model.eval()
    return model, state


def swap_patches(images, p, a, b):
    """Exchange the p x p patches number a and b (row-major) of every image."""
    out = images.clone()
    W = images.shape[-1] // p
    (ra, ca), (rb, cb) = divmod(a, W), divmod(b, W)
    out[..., ra * p:(ra + 1) * p, ca * p:(ca + 1) * p] = images[..., rb * p:(rb + 1) * p, cb * p:(cb + 1) * p]
    out[..., rb * p:(rb + 1) * p, cb * p:(cb + 1) * p] = images[..., ra * p:(ra + 1) * p, ca * p:(ca + 1) * p]
    return out


@pytest.mark.exercise("ViT")
@pytest.mark.parametrize("image_size,p,C,classes", [(8, 4, 3, 5), ((8, 12), 4, 2, 3), (6, 2, 1, 10), (4, 4, 3, 2)])
def test_vit_shapes_and_parameters(impl, image_size, p, C, classes):
    model = impl.ViT(image_size, p, C, classes, **SMALL_VIT)
    H, W = (image_size, image_size) if isinstance(image_size, int) else image_size
    N = (H // p) * (W // p)
    logits = model(torch.randn(3, C, H, W))
    assert_true(isinstance(logits, torch.Tensor) and tuple(logits.shape) == (3, classes), exercise=VIT,
                message=f"expected logits of shape (3, {classes}), got {tuple(getattr(logits, 'shape', ()))}",
                inputs={"image_size": image_size, "patch_size": p})
    params = dict(model.named_parameters())
    for name, shape in [("cls_token", (1, 1, 16)), ("pos_embedding", (1, N + 1, 16))]:
        got = tuple(params[name].shape) if name in params else None
        assert_true(got == shape, exercise=VIT, inputs={"image_size": image_size, "patch_size": p},
                    message=f"learned parameter {name} should have shape {shape} (N = {N} patches), got {got}")


@pytest.mark.exercise("ViT")
def test_vit_default_sizes(impl):
    model = impl.ViT(16, 4, 1, 4)
    state = model.state_dict()
    shapes = {k: tuple(state[k].shape) for k in ("cls_token", "pos_embedding") if k in state}
    assert_true(shapes == {"cls_token": (1, 1, 64), "pos_embedding": (1, 17, 64)}, exercise=VIT,
                message=f"with the defaults (d_model=64) expected cls_token (1, 1, 64) and pos_embedding (1, 17, 64), "
                        f"got {shapes}")
    assert_true(tuple(model(torch.randn(2, 1, 16, 16)).shape) == (2, 4), exercise=VIT,
                message="expected logits of shape (2, 4)")


@pytest.mark.exercise("ViT")
@pytest.mark.parametrize("image_size,p", [(8, 4), ((8, 12), 4)])
def test_vit_head_reads_the_cls_token(impl, image_size, p):
    # With the encoder replaced by the identity, the CLS output is cls_token + pos_embedding[:, 0] whatever
    # the image: the logits must be head(norm(cls_token + pos_embedding[:, 0])) for every image.
    model, state = randomized_vit(impl, image_size, p, 3, 5, device="cpu", dtype=torch.float64)
    impl.run(replace_encoder_with_identity, model)
    H, W = (image_size, image_size) if isinstance(image_size, int) else image_size
    images = randn(4, 3, H, W, device="cpu", dtype=torch.float64, scale=2.0)
    logits = model(images)
    cls, pos = state["cls_token"], state["pos_embedding"]
    expected = model.head(model.norm(cls[:, 0] + pos[:, 0])).expand(4, -1)
    assert_close(logits, expected, exercise=VIT, what="logits with the encoder replaced by the identity",
                 inputs={"images": images},
                 misconceptions={"head(norm(cls_token)): add pos_embedding to the CLS token too (index 0 is the "
                                 "CLS position)": model.head(model.norm(cls[:, 0])).expand(4, -1)},
                 hint="common causes: the head must read the CLS token: position 0 of cat([cls_token, patch tokens]) + "
                      "pos_embedding, after the encoder and the final norm (not the mean of the tokens, not a patch "
                      "token)")


@pytest.mark.exercise("ViT")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_vit_uses_patch_positions(impl, device, dtype):
    # Without pos_embedding the encoder is permutation-equivariant, so swapping two patches would leave the
    # CLS output unchanged (up to rounding); with random position embeddings of std 1 and every weight redrawn
    # (whatever the submission's init) it changes by O(0.1).
    model, _ = randomized_vit(impl, 8, 4, 2, 3, device=device, dtype=dtype, all_weights=True)
    images = randn(3, 2, 8, 8, device=device, dtype=dtype)
    logits = model(images)
    for a, b in [(0, 3), (1, 2)]:
        swapped = model(swap_patches(images, 4, a, b))
        change = float((swapped - logits).detach().abs().max())
        assert_true(change > 1e-3, exercise=VIT, inputs={"images": images},
                    message=f"swapping patches {a} and {b} changed the logits by only {change:.2e}: the model cannot "
                            "tell where a patch is; add pos_embedding (position embeddings) to the tokens")


@pytest.mark.exercise("ViT")
def test_vit_gradients_reach_cls_and_positions(impl, device):
    model, _ = randomized_vit(impl, 8, 4, 3, 5, device=device, dtype=torch.float64)
    model.train()
    images = randn(2, 3, 8, 8, device=device, dtype=torch.float64, grad=True)
    got = impl.run(output_and_grads, model, images)
    grads = got["params"]
    for name, why in [("cls_token", "the CLS token must feed the head"),
                      ("pos_embedding", "the position embedding must be added to the tokens")]:
        g = grads.get(name)
        norm = float(g.abs().max()) if isinstance(g, torch.Tensor) else 0.0
        assert_true(norm > 0 and bool(torch.isfinite(g).all()), exercise=VIT,
                    message=f"the gradient w.r.t. {name} is {'zero' if norm == 0 else 'not finite'}: {why}")
    if "pos_embedding" in grads:
        per_position = grads["pos_embedding"].abs().sum(-1)[0]  # (N + 1,)
        assert_true(bool((per_position > 0).all()), exercise=VIT,
                    message="some rows of pos_embedding get no gradient: add all N + 1 position embeddings "
                            "(CLS position first) to the tokens")
    g = got["inputs"][0]
    assert_true(bool(torch.isfinite(g).all()) and float(g.abs().max()) > 0, exercise=VIT,
                message="the gradient w.r.t. the images is zero or not finite")


@pytest.mark.exercise("ViT")
def test_vit_device_dtype_and_dropout(impl, device):
    model = impl.ViT(8, 4, 3, 5, d_model=16, depth=2, nhead=2, dim_feedforward=32, dropout=0.5)
    model.to(device=device, dtype=torch.float64)
    images = randn(4, 3, 8, 8, device=device, dtype=torch.float64)
    model.eval()
    a, b = model(images), model(images)
    assert_true(a.dtype == torch.float64 and a.device.type == torch.device(device).type, exercise=VIT,
                message=f"after model.to({device}, float64) the logits should be float64 on {device}, got {a.dtype} "
                        f"on {a.device}")
    assert_close(a, b, exercise=VIT, what="eval-mode logits of two identical calls (dropout must be off in eval)")
    model.train()
    c = model(images)
    assert_true(bool((c - a).abs().max() > 1e-6), exercise=VIT,
                message="with dropout=0.5 the train-mode logits equal the eval-mode ones: pass dropout to the "
                        "token dropout and the encoder blocks")


@pytest.mark.exercise("ViT")
def test_vit_token_dropout(impl):
    # x = encoder(dropout(x)) with x = cat([cls_token, patch tokens]) + pos_embedding: in train mode every element
    # of that whole sequence (CLS position included) is zeroed or scaled by 1 / (1 - p) before the encoder; in
    # eval mode it passes unchanged. The model's own eval-mode encoder input is the reference, so any correct
    # patch embedding passes.
    p = 0.25
    model, _ = randomized_vit(impl, 8, 4, 3, 5, device="cpu", dtype=torch.float64, **dict(SMALL_VIT, dropout=p))
    images = randn(4, 3, 8, 8, device="cpu", dtype=torch.float64)
    inputs = {"images": images, "dropout": p}
    clean = impl.run(encoder_input, model, images, seed=0)
    assert_close(impl.run(encoder_input, model, images, seed=1), clean, exercise=VIT, inputs=inputs,
                 what="eval-mode encoder input of a second call (dropout must be off in eval mode)")
    model.train()
    dropped = impl.run(encoder_input, model, images, seed=0)
    zeroed = dropped == 0
    expected = torch.where(zeroed, torch.zeros_like(clean), clean / (1 - p))
    assert_close(dropped, expected, exercise=VIT, inputs=inputs,
                 what="train-mode encoder input (each element zeroed or scaled by 1 / (1 - p))",
                 misconceptions={
                     "the tokens without dropout: apply self.dropout to cat([cls_token, tokens]) + pos_embedding "
                     "before the encoder": clean,
                     "dropout on the patch tokens only: the CLS position is part of the dropped-out sequence":
                         torch.cat([clean[:, :1], expected[:, 1:]], dim=1),
                     "dropout without the 1 / (1 - p) rescaling (use nn.Dropout)": torch.where(zeroed, 0.0, clean),
                 })
    fraction = float(zeroed.double().mean())
    assert_true(0.1 < fraction < 0.4, exercise=VIT, inputs=inputs,
                message=f"in train mode {fraction:.0%} of the encoder input is zeroed, expected about p = {p:.0%}: "
                        "the token dropout is nn.Dropout(dropout) on the whole token sequence")


def reference_vit_encoder(d_model, nhead, dim_ff, depth, dropout=0.0, **kwargs):
    """nn.TransformerEncoder of ``depth`` batch-first layers, each with its own random weights (eval mode)."""
    layer = nn.TransformerEncoderLayer(d_model, nhead, dim_ff, dropout=dropout, batch_first=True, **kwargs)
    reference = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
    for k, lay in enumerate(reference.layers):
        randomize_(lay, seed=200 + k)
    return reference.double().eval()


@pytest.mark.exercise("ViT")
def test_vit_encoder_is_pre_norm_gelu_blocks(impl):
    # The ViT's encoder: depth TransformerEncoderBlock(D, nhead, dim_feedforward, dropout, activation="gelu",
    # norm_first=True), no norm of its own (the final norm is the ViT's `norm`). Graded against
    # nn.TransformerEncoder holding the same weights, on tokens that are not normalised (post-norm shows).
    D, H, dim_ff, depth, p = 16, 2, 24, 2, 0.3
    model = impl.ViT(8, 4, 3, 5, d_model=D, depth=depth, nhead=H, dim_feedforward=dim_ff, dropout=p)
    encoder = model.encoder
    reference = reference_vit_encoder(D, H, dim_ff, depth, dropout=p, activation="gelu", norm_first=True)
    ours, theirs = sorted(encoder.state_dict()), sorted(reference.state_dict())
    assert_true(ours == theirs, exercise=VIT,
                message=f"the encoder's state_dict keys {ours} differ from those of nn.TransformerEncoder of {depth} "
                        f"layers ({theirs}): encoder = TransformerEncoder(lambda: TransformerEncoderBlock(...), "
                        "depth), without a norm of its own")
    encoder.double()
    encoder.load_state_dict(reference.state_dict())
    encoder.eval()
    x = randn(3, 5, D, device="cpu", dtype=torch.float64, scale=2.0, shift=0.5)
    inputs = {"tokens": x, "d_model": D, "nhead": H, "dim_feedforward": dim_ff, "depth": depth}
    wrong = {}
    with torch.no_grad():
        for kwargs, desc in [(dict(activation="gelu", norm_first=False),
                              "post-norm blocks (norm_first=False): the ViT's blocks are pre-norm, norm_first=True"),
                             (dict(activation="relu", norm_first=True),
                              "blocks with the default ReLU: the ViT's blocks use activation=\"gelu\"")]:
            other = reference_vit_encoder(D, H, dim_ff, depth, **kwargs)
            other.load_state_dict(reference.state_dict())
            wrong[desc] = other(x)
        want = reference(x)
    assert_close(encoder(x), want, exercise=VIT, what="encoder output (eval mode)", inputs=inputs,
                 misconceptions=wrong)
    # Train mode, same seed on both sides, attention-weight dropout off in both: the blocks' own dropouts
    # (p = dropout) draw the same masks as nn.TransformerEncoderLayer's.
    encoder.train()
    reference.train()
    for k in range(depth):
        encoder.layers[k].self_attn.dropout = 0.0
        reference.layers[k].self_attn.dropout = 0.0
    got = impl.run(seeded_output_and_grads, encoder, 7, x)
    want = seeded_output_and_grads(reference, 7, x)
    assert_close(got["output"], want["output"], exercise=VIT, what="encoder output (train mode)",
                 inputs=dict(inputs, dropout=p),
                 misconceptions={"the eval-mode output: the blocks get no dropout (pass dropout to each block)":
                                 reference.eval()(x)})


@pytest.mark.exercise("ViT")
def test_vit_rejects_bad_sizes(impl):
    model = impl.ViT(8, 4, 3, 5, **SMALL_VIT)
    assert_true(tuple(model(torch.randn(1, 3, 8, 8)).shape) == (1, 5), exercise=VIT,
                message="expected logits of shape (1, 5)")
    with pytest.raises(ValueError):
        impl.ViT(10, 4, 3, 5, **SMALL_VIT)
    with pytest.raises(ValueError):
        model(torch.randn(1, 3, 12, 12))


@pytest.mark.exercise("ViT")
def test_vit_learns_quadrant_task_other_seed(impl):
    # The label is the quadrant (one 8 x 8 patch each) holding the blob: only patch *positions* carry the class,
    # so a model without position embeddings stays near 25 %. Fixed step budget (VIT_TASK), seed 1.
    result = impl.run(vit_learns_task, impl.ViT, seed=1)
    assert_true(result["accuracy"] >= VIT_TASK["min_accuracy"], exercise=VIT,
                message=f"held-out accuracy {result['accuracy']:.3f} < {VIT_TASK['min_accuracy']} on the quadrant task "
                        f"after {VIT_TASK['steps']} steps (train accuracy {result['train_accuracy']:.3f}, final loss "
                        f"{result['final_loss']:.3f}); the class is the blob's position, so the tokens need their "
                        "position embedding, and the head reads the CLS token")
