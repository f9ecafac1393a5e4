"""Transformer encoder and a tiny Vision Transformer, built from attention and MLP blocks.

You write the sinusoidal positional encoding, the (post- or pre-norm) encoder block around
`nn.MultiheadAttention`, a stack of blocks, the image-to-patch reshape, and a ViT that classifies
images from its CLS token. Every piece is compared against its `torch.nn` counterpart.

Grading rules (generated from grading.yml):

Forbidden, since you write them here: ``torch.nn.TransformerEncoderLayer``,
``torch.nn.TransformerEncoder``, ``torch.nn.Transformer``, ``torch.nn.functional.unfold``,
``torch.nn.Unfold``, ``torch.Tensor.unfold``.

Forbidden aten operators (private routes to the same): im2col, unfold,
_transformer_encoder_layer_fwd.

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

- ``PositionalEncoding`` uses ``sinusoidal_positional_encoding``
- ``ViT`` uses ``TransformerEncoderBlock``, ``TransformerEncoder``, ``patchify``
"""

from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "sinusoidal_positional_encoding",
    "PositionalEncoding",
    "TransformerEncoderBlock",
    "TransformerEncoder",
    "patchify",
    "ViT",
]


def sinusoidal_positional_encoding(max_len: int, d_model: int) -> torch.Tensor:
    r"""Fixed sine/cosine position table of "Attention Is All You Need".

    .. math::
        PE[pos, 2i] = \sin(pos / 10000^{2i/d}), \qquad PE[pos, 2i+1] = \cos(pos / 10000^{2i/d})

    Args:
        max_len: number of positions (rows), ``>= 1``.
        d_model: embedding size ``d`` (columns); must be even.

    Shape:
        Output: :math:`(max\_len, d\_model)` in ``torch.get_default_dtype()``.

    Compared against the formula evaluated in float64 (e.g. the table of the PyTorch
    "language modeling" tutorial, computed in double precision).

    Hints:
        * The exponent is ``2i / d`` where ``2i`` is the *even column index*, the same for the
          sin column ``2i`` and the cos column ``2i + 1`` next to it.
        * Compute in float64 and cast at the end: in float32, ``pos / 10000^(2i/d)`` for
          ``pos`` in the thousands loses ~1e-4 after the sine.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be positive (got {max_len})")
    if d_model < 2 or d_model % 2 != 0:
        raise ValueError(f"d_model must be a positive even number (got {d_model})")
    # TODO: implement transformer.sinusoidal_positional_encoding (see the docstring).
    raise NotImplementedError("transformer.sinusoidal_positional_encoding")


class PositionalEncoding(nn.Module):
    r"""Adds the fixed sinusoidal table to a batch of token embeddings, then applies dropout.

    .. math::
        y = \mathrm{Dropout}(x + PE[:L])

    Args:
        d_model: embedding size ``D`` (even).
        max_len: longest sequence supported. Default: 5000.
        dropout: dropout probability applied after the addition. Default: 0.0.

    Attributes:
        pe: buffer of shape ``(max_len, d_model)`` holding
            :func:`sinusoidal_positional_encoding` (saved in the ``state_dict``; moves with ``.to()``).

    Shape:
        - Input: :math:`(*, L, D)` (usually :math:`(B, L, D)`), with ``L <= max_len``.
        - Output: same shape and dtype as the input.

    Compared against ``x + sinusoidal table`` computed in float64 in the tests.
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
        self.d_model = d_model
        self.max_len = max_len
        # TODO: implement transformer.PositionalEncoding.__init__ (see the docstring).
        raise NotImplementedError("transformer.PositionalEncoding.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")
        L, D = x.shape[-2:]
        if D != self.d_model:
            raise ValueError(f"expected last dimension {self.d_model} (got {D})")
        if L > self.max_len:
            raise ValueError(f"sequence length {L} exceeds max_len={self.max_len}")
        # TODO: implement transformer.PositionalEncoding.forward (see the docstring).
        raise NotImplementedError("transformer.PositionalEncoding.forward")


def _as_float_mask(mask: Optional[torch.Tensor], dtype: torch.dtype) -> Optional[torch.Tensor]:
    """Turns a boolean "True = blocked" mask into an additive float mask (0 / -inf); float masks pass.

    This is what ``nn.TransformerEncoderLayer`` does before calling its attention, so a bool
    ``src_mask`` and a float ``src_key_padding_mask`` (or the other way round) can be mixed.
    """
    if mask is None or mask.is_floating_point():
        return mask
    if mask.dtype != torch.bool:
        raise TypeError(f"only bool and floating types of masks are supported (got {mask.dtype})")
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))


class TransformerEncoderBlock(nn.Module):
    r"""One Transformer encoder layer: self-attention and a feed-forward MLP, each with a residual.

    Post-norm (``norm_first=False``, the 2017 paper)::

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

    Pre-norm (``norm_first=True``, GPT-2 / ViT)::

        x = x + dropout1(self_attn(norm1(x), norm1(x), norm1(x)))
        x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))

    Args:
        d_model: embedding size ``D``.
        nhead: number of attention heads (must divide ``d_model``).
        dim_feedforward: hidden size of the MLP. Default: 2048.
        dropout: dropout probability (attention weights, MLP hidden, both residual branches). Default: 0.1.
        activation: ``"relu"``, ``"gelu"`` (exact erf GELU) or a callable. Default: ``"relu"``.
        layer_norm_eps: ``eps`` of both LayerNorms. Default: 1e-5.
        norm_first: pre-norm if True, post-norm if False. Default: False.

    Submodules are named as in ``nn.TransformerEncoderLayer`` (``self_attn``, ``linear1``,
    ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``dropout1``, ``dropout2``), so the
    ``state_dict`` of ``nn.TransformerEncoderLayer(..., batch_first=True)`` loads into this block.

    Shape (batch first):
        - src: :math:`(B, L, D)` or unbatched :math:`(L, D)`
        - src_mask: :math:`(L, L)` or :math:`(B \cdot H, L, L)`; bool (True = may NOT attend) or float (added).
        - src_key_padding_mask: :math:`(B, L)`; bool (True = padding, ignored as a key) or float (added).
        - Output: same shape as ``src``.

    ``is_causal=True`` with ``src_mask=None`` builds the causal mask itself (position ``t``
    attends to ``0..t`` only). With a ``src_mask`` given, ``is_causal`` is only a hint, as in
    torch, and the given mask is used.

    Train mode: dropout goes exactly where ``nn.TransformerEncoderLayer`` puts it, as in the
    formulas above: on the attention weights inside ``self_attn`` (its own ``dropout``), then
    ``dropout1`` on the attention branch's output, ``dropout`` on the MLP hidden right after the
    activation, ``dropout2`` on the MLP branch's output. Each is an ``nn.Dropout`` drawing its
    mask from torch's global random generator, in that order (the order of the forward pass),
    and the block draws no other random numbers, so after the same ``torch.manual_seed`` the
    block and ``nn.TransformerEncoderLayer`` with the same weights give the same train-mode
    output and gradients (checked with the attention-weight dropout set to 0).

    Compared against ``nn.TransformerEncoderLayer(d_model, nhead, ..., batch_first=True)`` in eval
    mode (which may take torch's fused "fast path"; the math is the same) and in train mode.

    Hints:
        * Post-norm normalises *after* adding the residual; pre-norm normalises only the branch
          input and leaves the residual stream un-normalised.
        * The causal mask blocks keys strictly *after* the query: the diagonal stays allowed.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Union[str, Callable[[torch.Tensor], torch.Tensor]] = "relu",
        layer_norm_eps: float = 1e-5,
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        if nhead < 1 or d_model % nhead != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by nhead ({nhead})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
        if isinstance(activation, str):
            if activation not in ("relu", "gelu"):
                raise ValueError(f'activation should be "relu" or "gelu", not "{activation}"')
            activation = F.relu if activation == "relu" else F.gelu
        elif not callable(activation):
            raise TypeError(f"activation must be a string or a callable (got {type(activation).__name__})")
        self.activation = activation
        self.norm_first = norm_first
        # TODO: implement transformer.TransformerEncoderBlock.__init__ (see the docstring).
        raise NotImplementedError("transformer.TransformerEncoderBlock.__init__")

    def _sa_block(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor],
                  key_padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Self-attention branch: ``dropout1(self_attn(x, x, x))``."""
        # TODO: implement transformer.TransformerEncoderBlock._sa_block (see the docstring).
        raise NotImplementedError("transformer.TransformerEncoderBlock._sa_block")

    def _ff_block(self, x: torch.Tensor) -> torch.Tensor:
        """Feed-forward branch: ``dropout2(linear2(dropout(activation(linear1(x)))))``."""
        # TODO: implement transformer.TransformerEncoderBlock._ff_block (see the docstring).
        raise NotImplementedError("transformer.TransformerEncoderBlock._ff_block")

    def forward(
        self,
        src: torch.Tensor,
        src_mask: Optional[torch.Tensor] = None,
        src_key_padding_mask: Optional[torch.Tensor] = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        if src.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {src.dim()}D input)")
        L = src.shape[-2]
        # Both masks as additive float masks (0 = attend, -inf = blocked), as torch does.
        src_mask = _as_float_mask(src_mask, src.dtype)
        src_key_padding_mask = _as_float_mask(src_key_padding_mask, src.dtype)
        # is_causal without a mask: build the (L, L) mask with -inf strictly above the diagonal.
        # TODO: implement transformer.TransformerEncoderBlock.forward (see the docstring).
        raise NotImplementedError("transformer.TransformerEncoderBlock.forward")


class TransformerEncoder(nn.Module):
    r"""A stack of ``num_layers`` encoder blocks, optionally followed by a final norm.

    .. math::
        x_{k+1} = \mathrm{layers}[k](x_k), \qquad y = \mathrm{norm}(x_{num\_layers})

    Args:
        block_factory: zero-argument callable returning a fresh block (each layer gets its own
            parameters), e.g. ``lambda: TransformerEncoderBlock(64, 4, norm_first=True)``.
        num_layers: number of blocks.
        norm: optional module applied to the output of the last block (e.g. ``nn.LayerNorm(D)``;
            pre-norm stacks need it). Default: None.

    Attributes:
        layers: ``nn.ModuleList`` of the blocks; ``norm``: the final norm or None. The
        ``state_dict`` keys (``layers.0.self_attn.in_proj_weight``, ..., ``norm.weight``) are those of
        ``nn.TransformerEncoder``.

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=False)`` passes the three
    mask arguments to every block (as ``src_mask``, ``src_key_padding_mask``, ``is_causal``).

    Shape:
        - src: :math:`(B, L, D)`; Output: :math:`(B, L, D)`.

    Compared against ``nn.TransformerEncoder(layer, num_layers, norm, enable_nested_tensor=False)``
    with ``layer = nn.TransformerEncoderLayer(..., batch_first=True)`` (with nested tensors torch
    would zero the outputs at padded positions).

    Hint: calling the factory once and repeating the same block would tie all layers' weights.
    """

    def __init__(self, block_factory: Callable[[], nn.Module], num_layers: int,
                 norm: Optional[nn.Module] = None) -> None:
        super().__init__()
        if not callable(block_factory):
            raise TypeError(f"block_factory must be callable (got {type(block_factory).__name__})")
        if num_layers < 0:
            raise ValueError(f"num_layers must be non-negative (got {num_layers})")
        self.num_layers = num_layers
        # TODO: implement transformer.TransformerEncoder.__init__ (see the docstring).
        raise NotImplementedError("transformer.TransformerEncoder.__init__")

    def forward(
        self,
        src: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
        src_key_padding_mask: Optional[torch.Tensor] = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        # TODO: implement transformer.TransformerEncoder.forward (see the docstring).
        raise NotImplementedError("transformer.TransformerEncoder.forward")


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    r"""Cuts images into non-overlapping ``p x p`` patches and flattens each one.

    .. math::
        out[b, r \cdot W/p + s, (c, i, j)] = images[b, c, r p + i, s p + j]

    Patches are numbered row by row (left to right, then top to bottom); each patch is
    flattened channel first, then rows, then columns: ``(C, p, p)`` order.

    Args:
        images: batch of images.
        patch_size: side ``p`` of the square patches; must divide ``H`` and ``W``.

    Shape:
        - Input: :math:`(B, C, H, W)` or unbatched :math:`(C, H, W)`.
        - Output: :math:`(B, N, C p^2)` (or :math:`(N, C p^2)`), :math:`N = (H/p)(W/p)`.

    Compared against ``F.unfold(images, p, stride=p).transpose(-1, -2)`` (written with
    ``reshape`` / ``permute`` here; ``unfold`` is forbidden).

    Hint: flattening a ``(p, p, C)`` block (channels last) gives the same shape but a different
    order than ``unfold``; the channel axis must come before the two pixel axes.
    """
    if images.dim() not in (3, 4):
        raise ValueError(f"expected 3D or 4D input (got {images.dim()}D input)")
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive int (got {patch_size!r})")
    *batch, C, H, W = images.shape
    p = patch_size
    if H % p != 0 or W % p != 0:
        raise ValueError(f"image size ({H}, {W}) is not divisible by patch_size={p}")
    # TODO: implement transformer.patchify (see the docstring).
    raise NotImplementedError("transformer.patchify")


class ViT(nn.Module):
    r"""A small Vision Transformer: patches -> tokens -> pre-norm encoder -> classify the CLS token.

    .. code-block:: text

        tokens = patch_embed(patchify(images, p))                   # (B, N, D)
        x = cat([cls_token, tokens], dim=1) + pos_embedding         # (B, N+1, D)
        x = encoder(dropout(x))                                      # depth pre-norm blocks
        logits = head(norm(x)[:, 0])                                 # (B, num_classes)

    Args:
        image_size: ``H = W`` (an int) or ``(H, W)``.
        patch_size: side ``p`` of a patch; must divide the image size.
        in_channels: ``C``.
        num_classes: number of logits.
        d_model: token size ``D``. Default: 64.
        depth: number of encoder blocks. Default: 2.
        nhead: attention heads. Default: 4.
        dim_feedforward: MLP hidden size in each block. Default: 128.
        dropout: dropout on the embeddings and inside the blocks. Default: 0.0.

    Attributes:
        patch_embed: ``nn.Linear(C * p * p, D)``, the patch projection.
        cls_token: parameter ``(1, 1, D)``, zeros at init.
        pos_embedding: parameter ``(1, N + 1, D)``, learned, init normal(std=0.02);
            index 0 is the CLS position.
        dropout: ``nn.Dropout(dropout)`` on the token sequence.
        encoder: :class:`TransformerEncoder` of ``depth``
            ``TransformerEncoderBlock(D, nhead, dim_feedforward, dropout, activation="gelu", norm_first=True)``.
        norm: final ``nn.LayerNorm(D)``; head: ``nn.Linear(D, num_classes)``.

    Shape:
        - Input: :math:`(B, C, H, W)`; Output: :math:`(B, num\_classes)`.

    Graded against a torch reference of the encoder (``nn.TransformerEncoderLayer`` blocks, pre-norm,
    GELU, same weights), on the token sequence the encoder receives (eval: unchanged; train: each
    element zeroed or scaled by ``1 / (1 - dropout)``), and by training: built with
    ``d_model=32, depth=2, nhead=4, dim_feedforward=64`` and trained 300 AdamW steps on 16 x 16
    one-channel noisy images cut into four 8 x 8 patches, where the class is the patch (quadrant)
    holding a bright blob (only patch *positions* tell the classes apart), it reaches >= 95 %
    held-out accuracy.

    Hints:
        * Without ``pos_embedding`` the encoder is permutation-invariant over patches: it cannot
          tell *where* something is in the image.
        * Classify from the CLS token (position 0) after the final norm, not from the mean of tokens.
    """

    def __init__(
        self,
        image_size: Union[int, tuple],
        patch_size: int,
        in_channels: int,
        num_classes: int,
        d_model: int = 64,
        depth: int = 2,
        nhead: int = 4,
        dim_feedforward: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        H, W = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if H % patch_size != 0 or W % patch_size != 0:
            raise ValueError(f"image_size ({H}, {W}) is not divisible by patch_size={patch_size}")
        if d_model % nhead != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by nhead ({nhead})")
        self.image_size = (H, W)
        self.patch_size = patch_size
        self.in_channels = in_channels
        self.num_patches = (H // patch_size) * (W // patch_size)
        N, D = self.num_patches, d_model
        # TODO: implement transformer.ViT.__init__ (see the docstring).
        raise NotImplementedError("transformer.ViT.__init__")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4:
            raise ValueError(f"expected 4D input (got {images.dim()}D input)")
        B, C, H, W = images.shape
        if C != self.in_channels or (H, W) != self.image_size:
            raise ValueError(
                f"expected images of shape (B, {self.in_channels}, {self.image_size[0]}, "
                f"{self.image_size[1]}) (got {tuple(images.shape)})"
            )
        # TODO: implement transformer.ViT.forward (see the docstring).
        raise NotImplementedError("transformer.ViT.forward")
