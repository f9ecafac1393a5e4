"""Hidden tests for `pooling`: outputs and gradients against torch over kernel/stride/padding grids.

References are computed here by torch (`F.max_pool2d`, `F.avg_pool2d`,
`F.adaptive_avg_pool2d`); the submission's outputs and gradients come from
`output_and_grads` run next to it (`impl.run`). Inputs are chosen so the classic
mistakes visibly differ: non-square kernels with unequal strides and paddings (a
swapped pair shows), all-negative inputs with padding (zero padding wins the max),
ones with padding (count_include_pad shows), bins that do not divide the input.

Ties in max pooling: torch sends a tied window's whole gradient to its FIRST maximum in
row-major order (the CPU and CUDA kernels keep the running max on a strict `>`), which
is what `argmax` over the flattened window returns; `amax` would split it between the
tied cells. Ties among real cells are tested (integer-valued inputs, overlapping
windows, padding). Not graded: the gradient of a window whose real cells are all -inf
(torch gives it to the window's first real cell; an implementation padding with -inf
may give it to a padded cell) and windows holding NaN.

"Vectorised" (no Python loop over output positions) is graded by counting the aten
operations one call runs (`autograder.fixtures.pooling.count_aten_ops`), never by timing.
"""
import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads
from autograder.fixtures.pooling import count_aten_ops

MAX = "pooling.max_pool2d"
AVG = "pooling.avg_pool2d"
ADAPTIVE = "pooling.adaptive_avg_pool2d"
GLOBAL = "pooling.global_avg_pool2d"

# A vectorised pool runs a few dozen aten operations whatever the input size (the
# reference solution: ~23 for max_pool2d, ~17 for avg_pool2d, ~50 for adaptive); a
# Python loop over the 63*63 = 3969 outputs of a 64x64 input with kernel 2, stride 1
# runs several per output (~28k). The bound is far from both, so it never flakes.
MAX_OPS = 500


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def randn(*shape, device, dtype, grad=True):
    return torch.randn(*shape, dtype=torch.float64).to(device=device, dtype=dtype).requires_grad_(grad)


def check_output_and_grads(got, want, exercise, inputs, output_misconceptions=None, grad_misconceptions=None):
    assert_close(got["output"], want["output"], exercise=exercise, inputs=inputs,
                 misconceptions=output_misconceptions)
    assert_close(got["inputs"][0], want["inputs"][0], exercise=exercise, what="gradient w.r.t. x", inputs=inputs,
                 misconceptions=grad_misconceptions)


def window_args(kernel_size, stride, padding):
    k = pair(kernel_size)
    return k, (k if stride is None else pair(stride)), pair(padding)


def torch_or_none(fn, *args, **kwargs):
    """A misconception's value, or None where torch refuses those (wrong) arguments."""
    try:
        return fn(*args, **kwargs)
    except RuntimeError:
        return None


def window_misconceptions(pool, x, kernel_size, stride, padding):
    """Outputs of the argument-handling mistakes shared by max_pool2d and avg_pool2d."""
    x = x.detach()
    (kh, kw), (sh, sw), (ph, pw) = window_args(kernel_size, stride, padding)
    wrong = {}
    if stride is None:
        wrong["pooling with stride 1 (stride=None means stride = kernel_size)"] = \
            torch_or_none(pool, x, (kh, kw), 1, (ph, pw))
    if (kh, sh, ph) != (kw, sw, pw):
        wrong["pooling with kernel_size/stride/padding pairs read as (width, height) (they are (h, w))"] = \
            torch_or_none(pool, x, (kw, kh), (sw, sh), (pw, ph))
    return {k: v for k, v in wrong.items() if v is not None}


# (input shape, kernel_size, stride, padding): ints and pairs, default stride, strides
# smaller/larger than the kernel, padding up to kernel_size // 2, (C, H, W) inputs.
GRID = [
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 3, 9, 11), 3, 2, 1),
    ((1, 2, 7, 6), 3, 1, 1),
    ((2, 2, 8, 9), (3, 2), None, 0),
    ((2, 3, 10, 9), (3, 2), (2, 1), (1, 0)),
    ((3, 7, 10), (2, 4), (1, 3), (1, 2)),
    ((4, 5, 5), 5, 3, 2),
    ((1, 1, 6, 13), (1, 3), 1, (0, 1)),
    ((2, 3, 9, 8), 4, (2, 3), (2, 1)),
    ((2, 2, 11, 11), 2, 3, 1),
    ((1, 3, 4, 4), 4, None, 2),
]
GRID_IDS = [f"{'x'.join(map(str, s))}-k{k}-s{st}-p{p}".replace(" ", "") for s, k, st, p in GRID]

# (kernel_size, padding) with padding > kernel_size // 2 in at least one dim.
BAD_PADDING = [(2, 2), (3, 2), (1, 1), ((4, 2), (1, 2)), ((3, 5), (2, 1)), ((5, 5), (3, 0))]
BAD_PADDING_IDS = [f"k{k}-p{p}".replace(" ", "") for k, p in BAD_PADDING]


# --------------------------------------------------------------------------- max_pool2d

def max_pool_zero_padded(x, kernel_size, stride, padding):
    """Wrong: max pooling over zero padding (a padded 0 beats a window of negative numbers)."""
    (kh, kw), (sh, sw), (ph, pw) = window_args(kernel_size, stride, padding)
    return F.max_pool2d(F.pad(x, (pw, pw, ph, ph)), (kh, kw), (sh, sw))


def max_misconceptions(x, kernel_size, stride, padding):
    wrong = window_misconceptions(F.max_pool2d, x, kernel_size, stride, padding)
    if any(pair(padding)):
        wrong["max pooling with zero padding (a padded cell must never win the max: treat it as -inf)"] = \
            max_pool_zero_padded(x.detach(), kernel_size, stride, padding)
    return wrong


@pytest.mark.exercise("max_pool2d")
@pytest.mark.parametrize("shape,kernel_size,stride,padding", GRID, ids=GRID_IDS)
def test_max_pool2d_values_and_gradients(impl, device, dtype, shape, kernel_size, stride, padding):
    x = randn(*shape, device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.max_pool2d, x, kernel_size, stride=stride, padding=padding)
    want = output_and_grads(F.max_pool2d, x, kernel_size, stride=stride, padding=padding)
    inputs = {"x": x, "kernel_size": kernel_size, "stride": stride, "padding": padding}
    check_output_and_grads(got, want, MAX, inputs, max_misconceptions(x, kernel_size, stride, padding))


@pytest.mark.exercise("max_pool2d")
@pytest.mark.parametrize("shape,kernel_size,stride,padding", [((2, 3, 7, 8), 3, 2, 1), ((3, 6, 5), (4, 2), 1, (2, 1)),
                                                              ((1, 2, 5, 5), 5, 2, 2)],
                         ids=["k3-s2-p1", "chw-k(4,2)-s1-p(2,1)", "k5-s2-p2"])
def test_max_pool2d_negative_input_with_padding(impl, device, dtype, shape, kernel_size, stride, padding):
    x = (-(torch.randn(*shape, dtype=torch.float64).abs() + 1)).to(device=device, dtype=dtype).requires_grad_()
    got = impl.run(output_and_grads, impl.max_pool2d, x, kernel_size, stride=stride, padding=padding)
    want = output_and_grads(F.max_pool2d, x, kernel_size, stride=stride, padding=padding)
    inputs = {"x (all negative)": x, "kernel_size": kernel_size, "stride": stride, "padding": padding}
    check_output_and_grads(got, want, MAX, inputs, max_misconceptions(x, kernel_size, stride, padding))


def _windows(x, kernel_size, stride, padding):
    """(N, C, kh*kw, H_out, W_out) windows of x padded with -inf (for the wrong tie rules below)."""
    (kh, kw), (sh, sw), (ph, pw) = window_args(kernel_size, stride, padding)
    x4 = x if x.dim() == 4 else x.unsqueeze(0)
    N, C, H, W = x4.shape
    H_out, W_out = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    cols = F.unfold(F.pad(x4, (pw, pw, ph, ph), value=float("-inf")), (kh, kw), stride=(sh, sw))
    return cols.reshape(N, C, kh * kw, H_out, W_out)


def max_pool_split_ties(x, kernel_size, stride=None, padding=0):
    """Wrong: amax over each window, which splits a tied window's gradient among its maxima."""
    out = _windows(x, kernel_size, stride, padding).amax(dim=2)
    return out if x.dim() == 4 else out.squeeze(0)


def max_pool_last_tie(x, kernel_size, stride=None, padding=0):
    """Wrong: the gradient of a tied window goes to its last maximum in row-major order."""
    windows = _windows(x, kernel_size, stride, padding)
    cells = windows.shape[2]
    last = cells - 1 - windows.detach().flip(2).argmax(dim=2, keepdim=True)
    out = windows.gather(2, last).squeeze(2)
    return out if x.dim() == 4 else out.squeeze(0)


@pytest.mark.exercise("max_pool2d")
@pytest.mark.parametrize("shape,kernel_size,stride,padding,levels", [
    ((1, 1, 4, 4), 2, None, 0, 1),            # every cell equal
    ((2, 3, 7, 8), 3, 1, 1, 3),               # overlapping windows, padding, values in {0, 1, 2}
    ((2, 2, 6, 9), (2, 3), (1, 2), (1, 1), 2),
    ((3, 5, 6), (3, 2), 2, (1, 0), 2),        # (C, H, W)
], ids=["all-equal-k2", "k3-s1-p1", "k(2,3)-s(1,2)-p(1,1)", "chw-k(3,2)-s2-p(1,0)"])
def test_max_pool2d_ties_send_gradient_to_first_max(impl, device, dtype, shape, kernel_size, stride, padding, levels):
    x = torch.randint(0, levels, shape, generator=torch.Generator().manual_seed(7)).to(device=device, dtype=dtype)
    x.requires_grad_()
    got = impl.run(output_and_grads, impl.max_pool2d, x, kernel_size, stride=stride, padding=padding)
    want = output_and_grads(F.max_pool2d, x, kernel_size, stride=stride, padding=padding)
    inputs = {"x (integer values, many ties)": x, "kernel_size": kernel_size, "stride": stride, "padding": padding}
    wrong_grads = {
        "the gradient sent to the LAST maximum of a tied window (torch sends it whole to the first max in "
        "row-major order, as argmax of the flattened window does)":
            output_and_grads(max_pool_last_tie, x, kernel_size, stride=stride, padding=padding)["inputs"][0],
        "a tied window's gradient split among all its maxima, as amax does (torch sends it whole to the "
        "first max in row-major order)":
            output_and_grads(max_pool_split_ties, x, kernel_size, stride=stride, padding=padding)["inputs"][0],
    }
    check_output_and_grads(got, want, MAX, inputs, max_misconceptions(x, kernel_size, stride, padding), wrong_grads)


@pytest.mark.exercise("max_pool2d")
def test_max_pool2d_infinite_values(impl, device, dtype):
    x = torch.randn(2, 2, 6, 7, dtype=torch.float64).to(device=device, dtype=dtype)
    x[0, 0, :3, :3] = float("-inf")  # whole windows of -inf: their output is -inf, never a padded 0
    x[0, 1, 2, 4] = float("inf")
    x[1, :, 3:, :] = float("-inf")
    x.requires_grad_()
    got = impl.run(output_and_grads, impl.max_pool2d, x, 3, stride=2, padding=1)
    want = output_and_grads(F.max_pool2d, x, 3, stride=2, padding=1)
    inputs = {"x (with ±inf)": x, "kernel_size": 3, "stride": 2, "padding": 1}
    # A border window whose real cells are all -inf sends its gradient to its first real cell, as torch does;
    # padding with -inf and taking the window's argmax would send it into the padding (lost).
    into_padding = output_and_grads(lambda t: F.max_pool2d(F.pad(t, (1, 1, 1, 1), value=float("-inf")), 3, 2), x)
    check_output_and_grads(
        got, want, MAX, inputs,
        {"max pooling with zero padding (a padded cell must never win the max: treat it as -inf)":
         max_pool_zero_padded(x.detach(), 3, 2, 1)},
        {"the gradient of a window padded with -inf: a border window whose real cells are all -inf sends its "
         "gradient into the padding, where torch sends it to the window's first real cell (clamp the padded "
         "indices onto the edge instead)": into_padding["inputs"][0]})


@pytest.mark.exercise("max_pool2d")
def test_max_pool2d_non_contiguous_input(impl, device, dtype):
    x = randn(2, 3, 9, 7, device=device, dtype=dtype, grad=False).transpose(-1, -2).requires_grad_()  # (2, 3, 7, 9)
    got = impl.run(output_and_grads, impl.max_pool2d, x, (3, 2), stride=(2, 1), padding=(1, 1))
    want = output_and_grads(F.max_pool2d, x, (3, 2), stride=(2, 1), padding=(1, 1))
    check_output_and_grads(got, want, MAX, {"x (non-contiguous)": x, "kernel_size": (3, 2), "stride": (2, 1),
                                            "padding": (1, 1)})


@pytest.mark.exercise("max_pool2d")
@pytest.mark.parametrize("kernel_size,padding", BAD_PADDING, ids=BAD_PADDING_IDS)
def test_max_pool2d_rejects_padding_over_half_kernel(impl, kernel_size, padding):
    x = torch.randn(1, 2, 8, 8)
    (kh, kw), _, _ = window_args(kernel_size, None, 0)
    boundary = (kh // 2, kw // 2)  # the largest padding allowed
    assert_close(impl.max_pool2d(x, kernel_size, stride=1, padding=boundary),
                 F.max_pool2d(x, kernel_size, stride=1, padding=boundary), exercise=MAX,
                 inputs={"x": x, "kernel_size": kernel_size, "padding": boundary},
                 hint="common causes: padding == kernel_size // 2 rejected or mishandled (it is allowed; only "
                      "padding > kernel_size // 2 is an error)")
    with pytest.raises(ValueError):
        impl.max_pool2d(x, kernel_size, stride=1, padding=padding)


@pytest.mark.exercise("max_pool2d")
def test_max_pool2d_is_vectorised(impl):
    x = torch.randn(1, 1, 64, 64)
    got = impl.run(count_aten_ops, impl.max_pool2d, x, 2, stride=1)
    assert_close(got["output"], F.max_pool2d(x, 2, stride=1), exercise=MAX,
                 inputs={"x": x, "kernel_size": 2, "stride": 1})
    assert_true(got["ops"] < MAX_OPS, exercise=MAX, inputs={"x": x, "kernel_size": 2, "stride": 1},
                message=f"not vectorised: one call ran {got['ops']} aten operations for 63*63 = 3969 windows "
                        f"(a vectorised max_pool2d needs a few dozen; the limit is {MAX_OPS}). Build every window "
                        "at once with index arithmetic instead of a Python loop over output positions.")


# --------------------------------------------------------------------------- avg_pool2d

def avg_misconceptions(x, kernel_size, stride, padding):
    wrong = window_misconceptions(F.avg_pool2d, x, kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = window_args(kernel_size, stride, padding)
    x = x.detach()
    if ph or pw:
        wrong["average pooling with count_include_pad=False (padded zeros count in the window: divide by kh*kw)"] = \
            F.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=False)
    if ph != pw:
        wrong["average pooling with the H and W padding swapped (F.pad takes the last dimension first: "
              "(left, right, top, bottom))"] = \
            torch_or_none(F.avg_pool2d, F.pad(x, (ph, ph, pw, pw)), (kh, kw), (sh, sw))
    return {k: v for k, v in wrong.items() if v is not None}


@pytest.mark.exercise("avg_pool2d")
@pytest.mark.parametrize("shape,kernel_size,stride,padding", GRID, ids=GRID_IDS)
def test_avg_pool2d_values_and_gradients(impl, device, dtype, shape, kernel_size, stride, padding):
    x = randn(*shape, device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.avg_pool2d, x, kernel_size, stride=stride, padding=padding)
    want = output_and_grads(F.avg_pool2d, x, kernel_size, stride=stride, padding=padding)
    inputs = {"x": x, "kernel_size": kernel_size, "stride": stride, "padding": padding}
    check_output_and_grads(got, want, AVG, inputs, avg_misconceptions(x, kernel_size, stride, padding))


@pytest.mark.exercise("avg_pool2d")
@pytest.mark.parametrize("shape,kernel_size,stride,padding", [((1, 1, 4, 4), 3, 1, 1), ((2, 3, 6, 7), (3, 5), 2, (1, 2)),
                                                              ((2, 5, 6), (4, 2), (3, 1), (2, 0))],
                         ids=["k3-s1-p1", "k(3,5)-s2-p(1,2)", "chw-k(4,2)-s(3,1)-p(2,0)"])
def test_avg_pool2d_ones_count_padding(impl, device, dtype, shape, kernel_size, stride, padding):
    x = torch.ones(*shape, device=device, dtype=dtype, requires_grad=True)
    got = impl.run(output_and_grads, impl.avg_pool2d, x, kernel_size, stride=stride, padding=padding)
    want = output_and_grads(F.avg_pool2d, x, kernel_size, stride=stride, padding=padding)
    inputs = {"x (ones)": x, "kernel_size": kernel_size, "stride": stride, "padding": padding}
    check_output_and_grads(got, want, AVG, inputs, avg_misconceptions(x, kernel_size, stride, padding))


@pytest.mark.exercise("avg_pool2d")
def test_avg_pool2d_non_contiguous_input(impl, device, dtype):
    x = randn(2, 3, 9, 7, device=device, dtype=dtype, grad=False).transpose(-1, -2).requires_grad_()  # (2, 3, 7, 9)
    got = impl.run(output_and_grads, impl.avg_pool2d, x, (3, 2), stride=(2, 1), padding=(1, 1))
    want = output_and_grads(F.avg_pool2d, x, (3, 2), stride=(2, 1), padding=(1, 1))
    check_output_and_grads(got, want, AVG, {"x (non-contiguous)": x, "kernel_size": (3, 2), "stride": (2, 1),
                                            "padding": (1, 1)})


@pytest.mark.exercise("avg_pool2d")
@pytest.mark.parametrize("kernel_size,padding", BAD_PADDING, ids=BAD_PADDING_IDS)
def test_avg_pool2d_rejects_padding_over_half_kernel(impl, kernel_size, padding):
    x = torch.randn(1, 2, 8, 8)
    (kh, kw), _, _ = window_args(kernel_size, None, 0)
    boundary = (kh // 2, kw // 2)  # the largest padding allowed
    assert_close(impl.avg_pool2d(x, kernel_size, stride=1, padding=boundary),
                 F.avg_pool2d(x, kernel_size, stride=1, padding=boundary), exercise=AVG,
                 inputs={"x": x, "kernel_size": kernel_size, "padding": boundary},
                 hint="common causes: padding == kernel_size // 2 rejected or mishandled (it is allowed; only "
                      "padding > kernel_size // 2 is an error)")
    with pytest.raises(ValueError):
        impl.avg_pool2d(x, kernel_size, stride=1, padding=padding)


@pytest.mark.exercise("avg_pool2d")
def test_avg_pool2d_is_vectorised(impl):
    x = torch.randn(1, 1, 64, 64)
    got = impl.run(count_aten_ops, impl.avg_pool2d, x, 2, stride=1)
    assert_close(got["output"], F.avg_pool2d(x, 2, stride=1), exercise=AVG,
                 inputs={"x": x, "kernel_size": 2, "stride": 1})
    assert_true(got["ops"] < MAX_OPS, exercise=AVG, inputs={"x": x, "kernel_size": 2, "stride": 1},
                message=f"not vectorised: one call ran {got['ops']} aten operations for 63*63 = 3969 windows "
                        f"(a vectorised avg_pool2d needs a few dozen; the limit is {MAX_OPS}). Build every window "
                        "at once with index arithmetic instead of a Python loop over output positions.")


# --------------------------------------------------------------------------- adaptive_avg_pool2d

def adaptive_out_size(output_size, H, W):
    """(H_out, W_out) of an int or pair output_size whose None entries keep the input size."""
    return tuple(n if o is None else o for o, n in zip(pair(output_size), (H, W)))


def adaptive_floor_end(x, output_size):
    """Wrong: bins end at floor((i+1)*H/out) instead of the ceiling (float64 averaging matrices)."""
    H, W = x.shape[-2:]
    oh, ow = adaptive_out_size(output_size, H, W)

    def matrix(n_in, n_out):
        i = torch.arange(n_out, device=x.device)
        start, end = i * n_in // n_out, (i + 1) * n_in // n_out
        r = torch.arange(n_in, device=x.device)
        in_bin = (r >= start[:, None]) & (r < end[:, None])
        return in_bin.double() / (end - start).clamp(min=1).double()[:, None]

    return (matrix(H, oh) @ x.double() @ matrix(W, ow).T).to(x.dtype)


def adaptive_misconceptions(x, output_size):
    x = x.detach()
    H, W = x.shape[-2:]
    oh, ow = adaptive_out_size(output_size, H, W)
    wrong = {"adaptive pooling with bins ending at floor((i+1)*H/H_out): the end is a ceil, and neighbouring "
             "bins may overlap": adaptive_floor_end(x, output_size)}
    if oh <= H and ow <= W:
        wrong["adaptive pooling with equal bins of H // H_out cells (bins start at floor(i*H/H_out) and end at "
              "ceil((i+1)*H/H_out))"] = F.avg_pool2d(x, (H // oh, W // ow))[..., :oh, :ow]
    if isinstance(output_size, tuple) and None in output_size:
        wrong["adaptive pooling with a None entry of output_size read as 1: None keeps the input size"] = \
            F.adaptive_avg_pool2d(x, tuple(1 if o is None else o for o in output_size))
    return wrong


@pytest.mark.exercise("adaptive_avg_pool2d")
@pytest.mark.parametrize("shape,output_size", [
    ((2, 3, 7, 9), (3, 4)),
    ((1, 1, 5, 7), 3),
    ((2, 4, 8, 8), (4, 2)),      # bins divide the input
    ((3, 10, 6), (4, 5)),        # (C, H, W)
    ((2, 2, 3, 5), (5, 7)),      # more outputs than inputs: bins of one cell, repeated
    ((1, 2, 6, 6), 1),
    ((2, 1, 9, 4), (9, 4)),      # identity
    ((2, 3, 11, 13), (4, 6)),
    ((2, 3, 7, 9), (None, 4)),   # None keeps the input size
    ((1, 2, 5, 6), (3, None)),
], ids=["7x9-to-3x4", "5x7-to-3", "8x8-to-4x2", "chw-10x6-to-4x5", "3x5-to-5x7", "6x6-to-1", "9x4-to-9x4",
        "11x13-to-4x6", "7x9-to-Nonex4", "5x6-to-3xNone"])
def test_adaptive_avg_pool2d_values_and_gradients(impl, device, dtype, shape, output_size):
    x = randn(*shape, device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.adaptive_avg_pool2d, x, output_size)
    want = output_and_grads(F.adaptive_avg_pool2d, x, output_size)
    inputs = {"x": x, "output_size": output_size}
    check_output_and_grads(got, want, ADAPTIVE, inputs, adaptive_misconceptions(x, output_size))


@pytest.mark.exercise("adaptive_avg_pool2d")
def test_adaptive_avg_pool2d_is_vectorised(impl):
    x = torch.randn(1, 2, 64, 64)
    got = impl.run(count_aten_ops, impl.adaptive_avg_pool2d, x, (36, 40))
    assert_close(got["output"], F.adaptive_avg_pool2d(x, (36, 40)), exercise=ADAPTIVE,
                 inputs={"x": x, "output_size": (36, 40)})
    assert_true(got["ops"] < MAX_OPS, exercise=ADAPTIVE, inputs={"x": x, "output_size": (36, 40)},
                message=f"not vectorised: one call ran {got['ops']} aten operations for 36*40 = 1440 bins "
                        f"(a vectorised adaptive_avg_pool2d needs a few dozen; the limit is {MAX_OPS}). Build the "
                        "(H_out, H) and (W_out, W) averaging matrices from aranges instead of looping over bins.")


# --------------------------------------------------------------------------- global_avg_pool2d

@pytest.mark.exercise("global_avg_pool2d")
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 4, 3, 4), (1, 1, 1, 1), (5, 2, 7, 3)],
                         ids=lambda s: "x".join(map(str, s)))
def test_global_avg_pool2d_values_and_gradients(impl, device, dtype, shape):
    x = randn(*shape, device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.global_avg_pool2d, x)
    want = output_and_grads(lambda t: F.adaptive_avg_pool2d(t, 1).flatten(1), x)
    xd = x.detach()
    wrong = {"the (N, C, 1, 1) shape of adaptive_avg_pool2d(x, 1): global_avg_pool2d returns (N, C)":
             xd.mean(dim=(2, 3), keepdim=True),
             "a mean over dims (1, 2) (channels and rows) instead of the spatial dims (2, 3)": xd.mean(dim=(1, 2)),
             "a mean over every dim but the batch (keep the channels: average the spatial dims H, W only)":
             xd.mean(dim=(1, 2, 3))}
    check_output_and_grads(got, want, GLOBAL, {"x": x}, wrong)


@pytest.mark.exercise("global_avg_pool2d")
def test_global_avg_pool2d_is_vectorised(impl):
    x = torch.randn(8, 64, 8, 8)
    got = impl.run(count_aten_ops, impl.global_avg_pool2d, x)
    assert_close(got["output"], F.adaptive_avg_pool2d(x, 1).flatten(1), exercise=GLOBAL, inputs={"x": x})
    assert_true(got["ops"] < MAX_OPS, exercise=GLOBAL, inputs={"x": x},
                message=f"not vectorised: one call ran {got['ops']} aten operations for 8*64 outputs "
                        f"(the limit is {MAX_OPS}): average the spatial dims in one call, without a Python loop.")


@pytest.mark.exercise("global_avg_pool2d")
def test_global_avg_pool2d_rejects_3d_input(impl):
    x = torch.randn(2, 3, 4, 5)
    assert_close(impl.global_avg_pool2d(x), x.mean(dim=(2, 3)), exercise=GLOBAL, inputs={"x": x})
    with pytest.raises(ValueError):
        impl.global_avg_pool2d(torch.randn(3, 4, 5))
