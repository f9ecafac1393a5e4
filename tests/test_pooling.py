"""Public tests for `pooling`: run them with `pytest -m pooling` (or `pytest -k max_pool2d`).

They check shapes, one small numeric case and one error case per exercise; the
grader's hidden tests go further (kernel/stride/padding grids, gradients, ties,
float64, (C, H, W) inputs, and that no Python loop runs over output positions).
"""
import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true


@pytest.mark.exercise("max_pool2d")
def test_max_pool2d_small_example(impl):
    x = torch.arange(16.0).reshape(1, 1, 4, 4) * torch.tensor([1.0, -1.0, 1.0, -1.0])
    assert_close(impl.max_pool2d(x, 2), F.max_pool2d(x, 2), exercise="pooling.max_pool2d",
                 inputs={"x": x, "kernel_size": 2},
                 misconceptions={"pooling with stride 1 (stride=None means stride = kernel_size)":
                                 F.max_pool2d(x, 2, stride=1)})


@pytest.mark.exercise("max_pool2d")
def test_max_pool2d_padding_and_unbatched_input(impl):
    x = -(torch.randn(3, 5, 6).abs() + 1)  # (C, H, W), all negative: padding must never win
    out = impl.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1))
    assert_close(out, F.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1)), exercise="pooling.max_pool2d",
                 inputs={"x": x, "kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1)},
                 misconceptions={"pooling over zero padding (a padded cell must never win the max: pad with -inf)":
                                 F.max_pool2d(F.pad(x, (1, 1, 1, 1)), (3, 2), stride=(2, 1))})


@pytest.mark.exercise("max_pool2d")
def test_max_pool2d_rejects_padding_over_half_kernel(impl):
    x = torch.randn(1, 2, 6, 6)
    assert_close(impl.max_pool2d(x, 3, stride=1, padding=1), F.max_pool2d(x, 3, stride=1, padding=1),
                 exercise="pooling.max_pool2d", inputs={"x": x, "kernel_size": 3, "padding": 1})
    with pytest.raises(ValueError):
        impl.max_pool2d(x, 3, padding=2)


@pytest.mark.exercise("avg_pool2d")
def test_avg_pool2d_small_example_with_padding(impl):
    x = torch.ones(1, 1, 4, 4)
    assert_close(impl.avg_pool2d(x, 3, stride=1, padding=1), F.avg_pool2d(x, 3, stride=1, padding=1),
                 exercise="pooling.avg_pool2d", inputs={"x": x, "kernel_size": 3, "stride": 1, "padding": 1},
                 misconceptions={"average pooling with count_include_pad=False (padded zeros count in the "
                                 "window: divide by kh*kw)":
                                 F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)})


@pytest.mark.exercise("avg_pool2d")
def test_avg_pool2d_shapes_and_error(impl):
    x = torch.randn(2, 3, 7, 9)
    out = impl.avg_pool2d(x, (2, 3))
    assert_close(out, F.avg_pool2d(x, (2, 3)), exercise="pooling.avg_pool2d", inputs={"x": x, "kernel_size": (2, 3)})
    with pytest.raises(ValueError):
        impl.avg_pool2d(x, (2, 3), padding=(0, 2))


@pytest.mark.exercise("adaptive_avg_pool2d")
def test_adaptive_avg_pool2d_uneven_bins(impl):
    x = torch.randn(1, 2, 5, 7)
    assert_close(impl.adaptive_avg_pool2d(x, 3), F.adaptive_avg_pool2d(x, 3), exercise="pooling.adaptive_avg_pool2d",
                 inputs={"x": x, "output_size": 3},
                 hint="common causes: bins other than floor(i*H/H_out) .. ceil((i+1)*H/H_out) (neighbours may overlap)")


@pytest.mark.exercise("adaptive_avg_pool2d")
def test_adaptive_avg_pool2d_pair_size(impl):
    x = torch.randn(3, 8, 6)  # (C, H, W)
    out = impl.adaptive_avg_pool2d(x, (4, 2))
    assert_close(out, F.adaptive_avg_pool2d(x, (4, 2)), exercise="pooling.adaptive_avg_pool2d",
                 inputs={"x": x, "output_size": (4, 2)})


@pytest.mark.exercise("global_avg_pool2d")
def test_global_avg_pool2d(impl):
    x = torch.randn(2, 3, 4, 5)
    out = impl.global_avg_pool2d(x)
    assert_true(isinstance(out, torch.Tensor) and tuple(out.shape) == (2, 3), exercise="pooling.global_avg_pool2d",
                message=f"expected shape (2, 3) = (N, C), got {tuple(getattr(out, 'shape', ()))}", inputs={"x": x})
    assert_close(out, F.adaptive_avg_pool2d(x, 1).flatten(1), exercise="pooling.global_avg_pool2d", inputs={"x": x})
