"""Attention: a stable softmax, causal masks, scaled dot-product and multi-head attention.

Attention lets every query position take a weighted average of the values, with
weights from how well the query matches each key. You build it bottom-up: the
softmax that turns scores into weights, the mask that hides the future, the
scaled dot-product core, and the multi-head module of a Transformer.

Grading rules (generated from grading.yml):

Forbidden, since you write them here: ``torch.softmax``, ``torch.nn.functional.softmax``,
``torch.Tensor.softmax``, ``torch.nn.Softmax``, ``torch.special.softmax``,
``torch.log_softmax``, ``torch.nn.functional.log_softmax``, ``torch.Tensor.log_softmax``,
``torch.nn.LogSoftmax``, ``torch.special.log_softmax``,
``torch.nn.functional.scaled_dot_product_attention``, ``torch.nn.MultiheadAttention``,
``torch.nn.functional.multi_head_attention_forward``,
``torch._native_multi_head_attention``.

Forbidden aten operators (private routes to the same): softmax, _softmax, _safe_softmax,
_masked_softmax, log_softmax, _log_softmax, scaled_dot_product_attention,
_scaled_dot_product_attention_math, _scaled_dot_product_flash_attention,
_scaled_dot_product_flash_attention_for_cpu, _scaled_dot_product_efficient_attention,
_scaled_dot_product_cudnn_attention, _native_multi_head_attention.

Forbidden in every topic (ways around the rules): torch.load, torch.save, torch.compile,
torch.jit.script, torch.jit.trace, torch.jit.trace_module, torch.fx.symbolic_trace,
torch.fx.GraphModule, torch.fx.Interpreter, torch.overrides.TorchFunctionMode,
torch.utils._python_dispatch.TorchDispatchMode, torch.jit.*, torch.fx.*, torch._dynamo.*,
torch._inductor.*, torch.export.*, torch.library.*, torch.overrides.*,
torch.utils._python_dispatch.*, torch.utils.cpp_extension.*, torch.hub.*, torch.package.*,
torch.multiprocessing.*, torch.distributed.*, torch._refs.*, torch._decomp.*,
torch._prims.*, torch._C.*, torch.ops.*, typing.get_type_hints.

Each mistake is charged once: while an exercise below is graded, the exercises it may
call are the grader's correct versions.

- ``scaled_dot_product_attention`` uses ``softmax``, ``causal_mask``
- ``MultiHeadAttention`` uses ``softmax``, ``causal_mask``,
  ``scaled_dot_product_attention``
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim``: ``softmax(x)_i = exp(x_i) / sum_j exp(x_j)``.

    Args:
        x: input scores, any shape.
        dim: the dimension that sums to one. Default: ``-1``.

    Shape:
        output has the shape of ``x``.

    Compared against ``torch.softmax`` (values and gradients), and for scores as large
    as 1e4 it must stay finite with rows summing to one.

    Hint: ``exp(1000)`` overflows. Softmax does not change when you subtract the same
    number from every score of a row — subtract the row maximum first.
    """
    # TODO: implement attention.softmax (see the docstring).
    raise NotImplementedError("attention.softmax")


def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean causal mask: position ``i`` may attend to positions ``j <= i``.

    Args:
        length: sequence length ``L``.
        device: where to create the mask. Default: the default device.

    Shape:
        output: ``(L, L)``, ``torch.bool``, True on and below the diagonal.

    Compared against ``torch.ones(L, L, dtype=torch.bool).tril()``.
    """
    if length < 0:
        raise ValueError(f"length must be non-negative, got {length}")
    # TODO: implement attention.causal_mask (see the docstring).
    raise NotImplementedError("attention.causal_mask")


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention: ``softmax(q k^T / sqrt(E) + mask) v``.

    Args:
        q: queries ``(..., L, E)``.
        k: keys ``(..., S, E)``.
        v: values ``(..., S, Ev)``.
        mask: ``None``; a bool tensor where True means *may attend*; or a float tensor
            added to the scores (``-inf`` hides a key). Broadcastable to ``(..., L, S)``.
        is_causal: hide keys after the query's position (top-left aligned, like torch).
            Cannot be combined with ``mask``.

    Returns:
        ``(out, weights)``: ``out (..., L, Ev)`` and the attention ``weights (..., L, S)``.
        A query whose keys are all hidden gets zeros in both (not nan, and not the uniform
        weights ``1/S``), and nothing flows back from it: its gradient w.r.t. ``q`` is zero
        and it adds nothing to the gradients w.r.t. ``k`` and ``v``, all finite — as torch's.

    Compared against ``torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)``.

    Hint: divide by ``sqrt(E)``, the query/key size — not by ``E``, and not by ``sqrt(S)``.
    The softmax runs over the keys (last dimension), not over the queries. For a fully
    hidden row, softmax of all ``-inf`` is nan, and ``torch.where(hidden, 0, nan_weights)``
    still sends nan gradients back: keep the nan out of the graph (give that row finite
    scores before the softmax, then zero its weights).
    """
    if mask is not None and is_causal:
        raise ValueError("mask and is_causal cannot both be set")
    L, E = q.shape[-2:]
    S = k.shape[-2]
    # TODO: implement attention.scaled_dot_product_attention (see the docstring).
    raise NotImplementedError("attention.scaled_dot_product_attention")


class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch first: ``concat(head_1, ..., head_H) W_o``.

    Each head attends with its own slice of the projected queries, keys and values:
    ``head_h = attention(q W_q^h, k W_k^h, v W_v^h)``, each of size ``E / H``.

    Args:
        embed_dim: model size ``E``.
        num_heads: number of heads ``H``; must divide ``E``.
        bias: add biases to the input and output projections. Default: ``True``.

    Parameters (named as in ``nn.MultiheadAttention``, so its ``state_dict`` loads), initialised
    as ``nn.MultiheadAttention`` does:
        in_proj_weight ``(3E, E)``: the stacked ``W_q, W_k, W_v``, Xavier-uniform over the whole
        ``(3E, E)`` matrix, i.e. ``U(-a, a)`` with ``a = sqrt(6 / (E + 3E))``;
        in_proj_bias ``(3E,)``: zeros (``None`` when ``bias=False``);
        out_proj: ``nn.Linear(E, E)`` with ``nn.Linear``'s weight init ``U(-1/sqrt(E), 1/sqrt(E))``
        and a zero bias.

    Shape:
        query ``(B, L, E)``, key and value ``(B, S, E)``;
        key_padding_mask ``(B, S)``; attn_mask ``(L, S)`` or ``(B * H, L, S)``.
        output ``(B, L, E)``; weights ``(B, L, S)`` averaged over heads, else ``(B, H, L, S)``.
        Unbatched input: query ``(L, E)``, key and value ``(S, E)``, key_padding_mask ``(S,)``
        give output ``(L, E)`` and weights ``(L, S)``, or ``(H, L, S)`` per head.

    Compared against ``torch.nn.MultiheadAttention(E, H, batch_first=True)`` (outputs, weights and
    the gradients w.r.t. the inputs and every parameter).

    A query that may attend to no key (its row of ``attn_mask`` all masked, or every key of its
    batch element padded) is where torch returns nan. Here it must not: that query gets zero
    weights (in every head), a zero attention output, so its output is ``out_proj(0)`` =
    ``out_proj.bias`` (zeros without bias); its gradients are finite and nothing flows back from
    it into the attention. Every other query still matches torch.

    Hint: this module's bool masks mean the opposite of ``scaled_dot_product_attention``'s.
    Each head scales its scores by ``1/sqrt(E/H)``, its own size — not by ``1/sqrt(E)``.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be positive, got {embed_dim} and {num_heads}")
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        # TODO: implement attention.MultiHeadAttention.__init__ (see the docstring).
        raise NotImplementedError("attention.MultiHeadAttention.__init__")

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = True,
        attn_mask: torch.Tensor | None = None,
        average_attn_weights: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``query`` to ``key``/``value``; returns ``(out, weights)``.

        Args:
            query, key, value: ``(B, L, E)``, ``(B, S, E)``, ``(B, S, E)``, or unbatched
                ``(L, E)``, ``(S, E)``, ``(S, E)``.
            key_padding_mask: ``(B, S)`` (``(S,)`` unbatched); bool True marks a padding key
                that no query may attend to; a float mask is added to the scores.
            need_weights: return the attention weights; with ``False`` the weights are ``None``.
                Default: ``True``.
            attn_mask: ``(L, S)`` for every batch element and head, or ``(B * H, L, S)`` one per
                (batch element, head), batch-major; bool True means *not allowed*, a float mask
                is added to the scores.
            average_attn_weights: average the weights over the heads (``(B, L, S)``) instead of
                returning them per head (``(B, H, L, S)``). Default: ``True``.
        """
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if query.dim() != 3:
            raise ValueError(f"expected 2D or 3D query (got {query.dim()}D query)")
        B, L, E = query.shape
        S = key.shape[1]
        H, Dh = self.num_heads, self.head_dim
        # TODO: implement attention.MultiHeadAttention.forward (see the docstring).
        raise NotImplementedError("attention.MultiHeadAttention.forward")


def _additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``nn.MultiheadAttention`` mask convention -> additive float mask (bool True = not allowed)."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask.to(dtype)
