"""Pooling: max, average, adaptive average and global average pooling over (H, W).

Every pool looks at windows of the input; the lesson is to build all windows at
once with index arithmetic (no Python loop over output positions), to decide
what a padded cell contributes (-inf never wins a max, 0 counts in an average),
and to route a max's gradient to exactly one cell of each window.
"""

import torch
import torch.nn.functional as F

Size2 = int | tuple[int, int]


def _pair(value, name: str) -> tuple[int, int]:
    """Turns an int or an (h, w) pair into a pair of ints; TypeError names `name`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def _check_input(x: torch.Tensor, allowed=(3, 4)) -> None:
    """Pooling works on (C, H, W) or (N, C, H, W): other ranks raise ValueError."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in allowed:
        expected = " or ".join(f"{d}D" for d in allowed)
        raise ValueError(f"expected {expected} input (got {x.dim()}D input)")


def _pool_args(kernel_size: Size2, stride: Size2 | None, padding: Size2):
    """Validates the window arguments; returns (kh, kw), (sh, sw), (ph, pw)."""
    kh, kw = _pair(kernel_size, "kernel_size")
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel_size must be greater than zero, got {kernel_size!r}")
    # stride=None means "non-overlapping windows": stride = kernel_size
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be greater than zero, got {stride!r}")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            "padding should be at most half of kernel_size (pad should be at most half "
            f"of effective kernel size), but got padding={padding!r} and kernel_size={kernel_size!r}"
        )
    return (kh, kw), (sh, sw), (ph, pw)


def _out_size(x: torch.Tensor, kernel, stride, padding) -> tuple[int, int]:
    """Output (H_out, W_out) = floor((H + 2p - k) / s) + 1 (ceil_mode=False)."""
    H, W = x.shape[-2:]
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    if H_out < 1 or W_out < 1:
        raise ValueError(
            f"input of spatial size ({H}x{W}) is too small for kernel_size=({kh}, {kw}) "
            f"with padding=({ph}, {pw}): output size would be ({H_out}x{W_out})"
        )
    return H_out, W_out


def max_pool2d(
    x: torch.Tensor, kernel_size: Size2, stride: Size2 | None = None, padding: Size2 = 0
) -> torch.Tensor:
    """2D max pooling: the largest value of each (kh, kw) window.

    out[n, c, i, j] = max_{a < kh, b < kw} x_pad[n, c, i*sh + a, j*sw + b], where x_pad is x
    padded by (ph, pw) cells that never win the max (as if filled with -inf).

    Args:
        x: input of shape (N, C, H, W) or (C, H, W).
        kernel_size: window size, int or (kh, kw).
        stride: step between windows, int or (sh, sw). Default: None, i.e. kernel_size.
        padding: implicit padding on both sides, int or (ph, pw); at most kernel_size // 2.
            Default: 0.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), with
          H_out = (H + 2*ph - kh) // sh + 1 and W_out = (W + 2*pw - kw) // sw + 1.

    Compared against `torch.nn.functional.max_pool2d` (outputs and gradients). As in torch,
    a tied window sends its gradient to its first maximum in row-major order, and a window
    whose real cells are all -inf to its first real cell (never to padding). Not matched:
    a window holding several NaNs, where torch picks the last NaN and argmax the first.

    Hints:
        - A padded cell must never win the max (not 0, or a window of negative numbers
          returns 0) nor take the gradient: clamp its index onto the nearest edge cell, which
          lies in the same window (filling it with -inf gets the values right, but a window of
          only -inf would then send its gradient into the padding).
        - The gradient of a window goes to ONE cell: the first maximum in row-major
          order (take the argmax of the flattened window, then gather). `amax` would
          split it between tied cells.
    """
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H, W = x.shape[-2:]
    H_out, W_out = _out_size(x, kernel, stride, padding)
    # Row index of every window cell: rows[i, a] = i*sh - ph + a (same for columns).
    ### BEGIN SOLUTION
    i, a = torch.arange(H_out, device=x.device), torch.arange(kh, device=x.device)
    j, b = torch.arange(W_out, device=x.device), torch.arange(kw, device=x.device)
    rows = i[:, None] * sh - ph + a  # (H_out, kh), may point into the padding (< 0 or >= H)
    cols = j[:, None] * sw - pw + b  # (W_out, kw)
    # A padded cell is clamped onto the nearest edge cell, which lies in the same window,
    # so padding never changes the max (same effect as -inf) and, as in torch, the
    # gradient of a window always lands on a real input cell.
    rows = rows.clamp(0, H - 1)
    cols = cols.clamp(0, W - 1)
    windows = x[..., rows[:, None, :, None], cols[None, :, None, :]]  # (..., H_out, W_out, kh, kw)
    windows = windows.flatten(-2)  # (..., H_out, W_out, kh*kw)
    first_max = windows.argmax(dim=-1, keepdim=True)  # (..., H_out, W_out, 1), first max wins ties
    return windows.gather(-1, first_max).squeeze(-1)  # (..., H_out, W_out)
    ### END SOLUTION


def avg_pool2d(
    x: torch.Tensor, kernel_size: Size2, stride: Size2 | None = None, padding: Size2 = 0
) -> torch.Tensor:
    """2D average pooling: the mean of each (kh, kw) window, zero padding included.

    out[n, c, i, j] = (1 / (kh*kw)) * sum_{a < kh, b < kw} x_pad[n, c, i*sh + a, j*sw + b],
    where x_pad is x zero-padded by (ph, pw) (count_include_pad=True, ceil_mode=False).

    Args:
        x: input of shape (N, C, H, W) or (C, H, W).
        kernel_size: window size, int or (kh, kw).
        stride: step between windows, int or (sh, sw). Default: None, i.e. kernel_size.
        padding: implicit zero padding on both sides, int or (ph, pw); at most
            kernel_size // 2. Default: 0.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), H_out and W_out as in max_pool2d.

    Compared against `torch.nn.functional.avg_pool2d` with its defaults
    (count_include_pad=True, ceil_mode=False), outputs and gradients.

    Hints:
        - Divide every window by kh*kw, also the border windows that hold padded zeros.
        - `F.pad` takes the last dimension first: (left, right, top, bottom).
    """
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    ### BEGIN SOLUTION
    x_pad = F.pad(x, (pw, pw, ph, ph))  # (..., H + 2ph, W + 2pw), zeros around
    i, a = torch.arange(H_out, device=x.device), torch.arange(kh, device=x.device)
    j, b = torch.arange(W_out, device=x.device), torch.arange(kw, device=x.device)
    rows = i[:, None] * sh + a  # (H_out, kh), rows of x_pad
    cols = j[:, None] * sw + b  # (W_out, kw)
    windows = x_pad[..., rows[:, None, :, None], cols[None, :, None, :]]  # (..., H_out, W_out, kh, kw)
    return windows.mean(dim=(-2, -1))  # (..., H_out, W_out), divides by kh*kw
    ### END SOLUTION


def _normalize_output_size(output_size, H: int, W: int) -> tuple[int, int]:
    """int or (h, w) pair; a None entry keeps the input size, as in torch."""
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(default if size is None else size for size, default in zip(output_size, (H, W)))
    out_h, out_w = _pair(output_size, "output_size")
    if out_h < 0 or out_w < 0:
        raise ValueError(f"output_size must be non-negative, got {output_size!r}")
    return out_h, out_w


def adaptive_avg_pool2d(x: torch.Tensor, output_size: int | tuple[int | None, int | None]) -> torch.Tensor:
    """2D adaptive average pooling: averages over bins chosen to give a fixed output size.

    Bin i of H_out covers rows start_i = floor(i*H / H_out) to end_i = ceil((i+1)*H / H_out)
    (exclusive); bins may overlap by one row when H_out does not divide H. The same for W, and
    out = A_h @ x @ A_w.T with A_h[i, r] = 1 / (end_i - start_i) for start_i <= r < end_i.

    Args:
        x: input of shape (N, C, H, W) or (C, H, W).
        output_size: (H_out, W_out) or a single int for both; a None entry keeps the input size.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out)

    Compared against `torch.nn.functional.adaptive_avg_pool2d` (outputs and gradients).

    Hints:
        - end is a ceiling: with floor, H=5 and H_out=3 would drop the last row.
        - Loop over nothing: build the (H_out, H) and (W_out, W) averaging matrices with
          comparisons of aranges, then two matrix products.
    """
    _check_input(x)
    H, W = x.shape[-2:]
    H_out, W_out = _normalize_output_size(output_size, H, W)
    ### BEGIN SOLUTION
    def averaging_matrix(size_in: int, size_out: int) -> torch.Tensor:
        i = torch.arange(size_out, device=x.device)
        start = (i * size_in) // size_out  # floor(i * in / out)
        end = ((i + 1) * size_in + size_out - 1) // size_out  # ceil((i + 1) * in / out)
        r = torch.arange(size_in, device=x.device)
        in_bin = (r >= start[:, None]) & (r < end[:, None])  # (out, in)
        return in_bin.to(x.dtype) / (end - start).to(x.dtype)[:, None]  # rows sum to 1

    A_h = averaging_matrix(H, H_out)  # (H_out, H)
    A_w = averaging_matrix(W, W_out)  # (W_out, W)
    return A_h @ x @ A_w.T  # (..., H_out, W)  ->  (..., H_out, W_out)
    ### END SOLUTION


def global_avg_pool2d(x: torch.Tensor) -> torch.Tensor:
    """Global average pooling: one mean per (sample, channel) over all H*W positions.

    out[n, c] = (1 / (H*W)) * sum_{h, w} x[n, c, h, w]

    Args:
        x: input of shape (N, C, H, W) (only 4D: a (C, H, W) input raises ValueError).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C), without the trailing (1, 1) that adaptive_avg_pool2d(x, 1) keeps.

    Compared against `torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)`
    (outputs and gradients).

    Hint: average over the two spatial dims (H, W), never over channels or the batch.
    """
    _check_input(x, allowed=(4,))
    N, C, H, W = x.shape
    ### BEGIN SOLUTION
    return x.mean(dim=(2, 3))  # (N, C)
    ### END SOLUTION
