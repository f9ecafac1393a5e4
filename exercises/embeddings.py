"""Embeddings: turning tokens, images and sounds into vectors.

A lookup table for token ids (with a padding row that never learns), cosine
similarity and word analogies on top of it, ViT-style patch embeddings for
images, and a power spectrogram (framing + window + FFT) for audio.

Grading rules (generated from grading.yml):

Forbidden, since you write them here: ``torch.nn.functional.embedding``,
``torch.nn.Embedding``, ``torch.embedding``, ``torch.nn.functional.embedding_bag``,
``torch.nn.EmbeddingBag``, ``torch.embedding_bag``,
``torch.nn.functional.cosine_similarity``, ``torch.cosine_similarity``,
``torch.nn.CosineSimilarity``, ``torch.nn.functional.conv2d``, ``torch.conv2d``,
``torch.nn.Conv2d``, ``torch.nn.functional.unfold``, ``torch.nn.Unfold``, ``torch.stft``,
``torch.Tensor.stft``.

Forbidden aten operators (private routes to the same): embedding, embedding_bag,
_embedding_bag, cosine_similarity, conv2d, convolution, _convolution, im2col, stft.

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

- ``analogy`` uses ``cosine_similarity``
"""

import math
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn


class Embedding(nn.Module):
    r"""A lookup table from integer ids to learned vectors.

    ``out[..., :] = weight[indices[...], :]``

    Args:
        num_embeddings (int): size of the vocabulary ``V``.
        embedding_dim (int): size of each vector ``D``.
        padding_idx (int, optional): row that is zero at initialisation and never
            receives a gradient (its value is returned as stored). A negative value
            counts from the end, as in ``nn.Embedding`` (``-1`` means ``V - 1``).
            Default: ``None``.
        device, dtype: where and how ``weight`` is created (as ``nn.Embedding``).

    Attributes:
        weight (Tensor): ``(V, D)``, initialised from ``N(0, 1)``, padding row zeroed.

    Shape:
        - Input: ``(*)`` LongTensor (or int32) of any shape, values in ``[0, V)``.
        - Output: ``(*, D)``.

    Raises:
        IndexError: an index is ``>= V`` or negative (torch does not wrap them).
        TypeError: ``indices`` is not an int64/int32 tensor.
        ValueError: ``padding_idx`` outside ``[-V, V)`` (``nn.Embedding`` asserts instead).

    Compared against ``torch.nn.functional.embedding(indices, weight, padding_idx)``,
    outputs and the gradient w.r.t. ``weight``.

    Hints:
        - ``weight[indices]`` already does the lookup, and autograd scatters the
          gradient back into the looked-up rows (adding up repeated ids).
        - The padding row keeps its stored value in the output but its gradient must
          be zero: stop the gradient for those positions, do not zero the output.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: Optional[int] = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if num_embeddings < 0:
            raise ValueError(f"num_embeddings must be non-negative, got {num_embeddings}")
        if embedding_dim < 0:
            raise ValueError(f"embedding_dim must be non-negative, got {embedding_dim}")
        if padding_idx is not None:
            # torch asserts here; we raise ValueError naming the argument (SPEC).
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"padding_idx must be within num_embeddings "
                    f"(got padding_idx={padding_idx}, num_embeddings={num_embeddings})"
                )
            if padding_idx < 0:
                padding_idx = num_embeddings + padding_idx  # -1 -> V - 1
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = nn.Parameter(
            torch.empty(num_embeddings, embedding_dim, device=device, dtype=dtype)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fill ``weight`` from ``N(0, 1)`` and zero the padding row (as ``nn.Embedding``)."""
        # TODO: implement embeddings.Embedding.reset_parameters (see the docstring).
        raise NotImplementedError("embeddings.Embedding.reset_parameters")

    def forward(self, indices: Tensor) -> Tensor:
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(
                f"Embedding: expected indices of dtype int64 or int32 (got {indices.dtype})"
            )
        # Check the range first: Python-style indexing would silently wrap -1 to V - 1.
        # TODO: implement embeddings.Embedding.forward (see the docstring).
        raise NotImplementedError("embeddings.Embedding.forward")

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


def cosine_similarity(a: Tensor, b: Tensor, dim: int = -1, eps: float = 1e-8) -> Tensor:
    r"""Cosine of the angle between ``a`` and ``b`` along ``dim``.

    ``cos = sum(a / max(||a||, eps) * b / max(||b||, eps), dim)``

    Each norm is clamped to ``eps`` *separately* (not the product of the norms), and,
    exactly as torch does, the clamp is invisible to autograd: the gradient flows
    through ``||a||`` as if it had not been clamped (straight-through clamp).

    Args:
        a (Tensor): first input.
        b (Tensor): second input, broadcastable with ``a``.
        dim (int): dimension of the *broadcast* shape to reduce. Default: ``-1``
            (note: ``torch.nn.functional.cosine_similarity`` defaults to ``dim=1``).
        eps (float): lower bound for each norm. Default: ``1e-8``.

    Shape:
        - a, b: ``(*, D, *)`` broadcastable to a common shape ``S``.
        - Output: ``S`` with ``dim`` removed.

    Compared against ``torch.nn.functional.cosine_similarity(a, b, dim=dim, eps=eps)``,
    outputs and gradients w.r.t. ``a`` and ``b``; tiny norms and large eps in float64.

    Hints:
        - Normalise each input first, then take the dot product: ``(a*b).sum / (|a||b|)``
          with ``max(|a||b|, eps)`` is a different formula once a norm is below eps.
        - Use ``torch.linalg.vector_norm``: ``x.pow(2).sum().sqrt()`` has a NaN
          gradient for an all-zero vector.
    """
    # TODO: implement embeddings.cosine_similarity (see the docstring).
    raise NotImplementedError("embeddings.cosine_similarity")


def analogy(embeddings: Tensor, a: int, b: int, c: int, k: int = 1) -> Tensor:
    r"""Solve "a is to b as c is to ?" by vector arithmetic.

    ``scores[i] = cos(E[i], E[b] - E[a] + E[c])``; return the ``k`` best ``i`` not in
    ``{a, b, c}``.

    "man : king :: woman : ?" is ``analogy(E, man, king, woman)``.

    Args:
        embeddings (Tensor): the table ``E`` of shape ``(V, D)``.
        a, b, c (int): row indices in ``[0, V)`` (they need not be distinct).
        k (int): how many answers to return, ``1 <= k <= V - 3``. Default: ``1``.

    Shape:
        - embeddings: ``(V, D)``.
        - Output: ``(k,)`` int64 on ``embeddings.device``, best first; equal scores
          are ordered by the lower index first.

    Raises:
        ValueError: ``embeddings`` is not 2D, an index is outside ``[0, V)``, or
            ``k`` is outside ``[1, V - 3]``.

    Compared against a float64 reference built from
    ``torch.nn.functional.cosine_similarity`` and a stable descending sort.

    Hints:
        - The query is ``E[b] - E[a] + E[c]`` (king - man + woman), and the score is
          the cosine, not the Euclidean distance.
        - The input words usually score highest: exclude them before ranking.
    """
    if embeddings.dim() != 2:
        raise ValueError(f"expected 2D embeddings (got {embeddings.dim()}D input)")
    V, D = embeddings.shape
    for name, idx in (("a", a), ("b", b), ("c", c)):
        if not 0 <= idx < V:
            raise ValueError(f"{name}={idx} is out of range for {V} embeddings")
    if not 1 <= k <= V - 3:
        raise ValueError(f"k must be in [1, V - 3] = [1, {V - 3}] (got k={k})")
    # Excluded words must never win: give them a score below any cosine.
    # TODO: implement embeddings.analogy (see the docstring).
    raise NotImplementedError("embeddings.analogy")


class PatchEmbedding(nn.Module):
    r"""Split an image into non-overlapping ``p x p`` patches and project each to ``D``.

    ``out[b, i*w + j] = proj(x[b, :, i*p:(i+1)*p, j*p:(j+1)*p].flatten())``

    Args:
        image_size (int or (int, int)): expected ``H`` (= ``W``) or ``(H, W)``;
            both must be divisible by ``patch_size``.
        patch_size (int): patch side ``p``.
        in_channels (int): channels ``C``.
        embed_dim (int): output size ``D``.
        device, dtype: where and how ``proj`` is created.

    Attributes:
        proj (nn.Linear): ``nn.Linear(C * p * p, D)``. A patch is flattened in
            ``(C, p, p)`` order, so ``proj.weight.view(D, C, p, p)`` is the weight of
            the equivalent ``nn.Conv2d(C, D, p, stride=p)``.
        grid_size ((int, int)): ``(H/p, W/p)``.
        num_patches (int): ``N = (H/p) * (W/p)``.

    Shape:
        - Input: ``(B, C, H, W)``, or ``(C, H, W)`` unbatched (as ``nn.Conv2d``).
        - Output: ``(B, N, D)`` (or ``(N, D)``); patches in row-major order (left to
          right along a row of patches, then the next row).

    Compared against ``F.conv2d(x, proj.weight.view(D, C, p, p), proj.bias, stride=p)``
    ``.flatten(2).transpose(1, 2)``, outputs and gradients w.r.t. ``x`` and ``proj``.

    Hints:
        - ``x.reshape(B, C, H/p, p, W/p, p)`` splits the axes; permute so that the
          patch grid comes first and ``(C, p, p)`` last before flattening.
        - Flattening ``(p, p, C)`` (channels last) gives the right shape and the
          wrong numbers.
    """

    def __init__(
        self,
        image_size: Union[int, Tuple[int, int]],
        patch_size: int,
        in_channels: int,
        embed_dim: int,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        image_size = tuple(image_size)
        if len(image_size) != 2:
            raise ValueError(f"image_size must be an int or an (H, W) pair (got {image_size})")
        if patch_size <= 0:
            raise ValueError(f"patch_size must be positive (got {patch_size})")
        if in_channels <= 0 or embed_dim <= 0:
            raise ValueError(
                f"in_channels and embed_dim must be positive "
                f"(got in_channels={in_channels}, embed_dim={embed_dim})"
            )
        H, W = image_size
        if H <= 0 or W <= 0 or H % patch_size or W % patch_size:
            raise ValueError(
                f"image_size {image_size} must be positive and divisible by "
                f"patch_size={patch_size}"
            )
        self.image_size = (H, W)
        self.patch_size = patch_size
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.grid_size = (H // patch_size, W // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Linear(
            in_channels * patch_size * patch_size, embed_dim, device=device, dtype=dtype
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() not in (3, 4):
            raise ValueError(
                f"expected 3D (unbatched) or 4D (batched) input (got {x.dim()}D input)"
            )
        unbatched = x.dim() == 3
        if unbatched:
            x = x.unsqueeze(0)  # (1, C, H, W)
        B, C, H, W = x.shape
        if C != self.in_channels or (H, W) != self.image_size:
            raise ValueError(
                f"expected input of size (B, {self.in_channels}, {self.image_size[0]}, "
                f"{self.image_size[1]}) (got {tuple(x.shape)})"
            )
        p = self.patch_size
        h, w = self.grid_size  # H/p, W/p
        # Return (B, N, D), or (N, D) when the input was unbatched.
        # TODO: implement embeddings.PatchEmbedding.forward (see the docstring).
        raise NotImplementedError("embeddings.PatchEmbedding.forward")


def spectrogram(wave: Tensor, n_fft: int = 400, hop_length: int = 160) -> Tensor:
    r"""Power spectrogram: ``|STFT|^2`` with a periodic Hann window, no padding.

    ``S[..., f, t] = |sum_n w[n] x[t*hop + n] exp(-2j*pi*f*n/n_fft)|^2``,
    ``w[n] = 0.5 - 0.5*cos(2*pi*n / n_fft)`` (periodic: divide by ``n_fft``, not
    ``n_fft - 1``).

    Args:
        wave (Tensor): real signal ``(..., T)`` with ``T >= n_fft``.
        n_fft (int): frame length and FFT size. Default: ``400`` (25 ms at 16 kHz).
        hop_length (int): distance between frame starts. Default: ``160`` (10 ms).

    Shape:
        - wave: ``(..., T)``, any number of leading dimensions.
        - Output: ``(..., n_fft // 2 + 1, frames)`` with
          ``frames = 1 + (T - n_fft) // hop_length`` (the tail that does not fill a
          frame is dropped, as ``center=False`` does).

    Compared against ``torch.stft(wave, n_fft, hop_length, window=torch.hann_window(n_fft),
    center=False, return_complex=True).abs() ** 2``, outputs and gradients w.r.t. ``wave``.

    Hints:
        - Build the frames with index arithmetic:
          ``starts[:, None] + arange(n_fft)[None, :]`` gives a ``(frames, n_fft)`` index.
        - Power, not magnitude: square the absolute value. The frequency axis comes
          before the time axis in the output.
        - In float32 the window's rounding shows in large power values: compute the
          angle as ``n * (2*pi / n_fft)``, as ``torch.hann_window`` does.
    """
    if not wave.is_floating_point():
        raise TypeError(f"spectrogram: expected a floating point wave (got {wave.dtype})")
    if n_fft <= 0:
        raise ValueError(f"n_fft must be positive (got {n_fft})")
    if hop_length <= 0:
        raise ValueError(f"hop_length must be positive (got {hop_length})")
    if wave.dim() == 0:
        raise ValueError("expected wave of shape (..., T) (got a 0D tensor)")
    T = wave.shape[-1]
    if T < n_fft:
        raise ValueError(f"wave is shorter than n_fft (T={T}, n_fft={n_fft})")
    frames = 1 + (T - n_fft) // hop_length
    # TODO: implement embeddings.spectrogram (see the docstring).
    raise NotImplementedError("embeddings.spectrogram")
