"""Public tests for `batchnorm`: run them with `pytest -m batchnorm` (or `pytest -k BatchNorm1d`).

They check shapes, one small numeric case and one error case per exercise; the
grader's hidden tests go further (several train/eval steps, every option, gradients,
float32 and float64, state_dict both ways, gradcheck on other shapes).
"""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads
from autograder.fixtures.batchnorm import gradcheck_batchnorm, train_eval_scenario


@pytest.mark.exercise("batch_norm")
def test_batch_norm_training_updates_running_stats(impl):
    x = torch.tensor([[1.0, -2.0], [3.0, 0.0], [5.0, 4.0], [-1.0, 2.0]])  # (N=4, C=2)
    mean, var = impl.inout(torch.zeros(2), torch.ones(2))  # buffers updated in place: the changes come back
    ref_mean, ref_var = torch.zeros(2), torch.ones(2)
    out = impl.batch_norm(x, mean, var, training=True, momentum=0.1)
    expected = F.batch_norm(x, ref_mean, ref_var, training=True, momentum=0.1)
    assert_close(out, expected, exercise="batchnorm.batch_norm", inputs={"x": x, "training": True},
                 misconceptions={"x normalised with the unbiased variance (divide by N, not N - 1)":
                                 (x - x.mean(0)) / (x.var(0, correction=1) + 1e-5).sqrt()})
    assert_close(mean, ref_mean, exercise="batchnorm.batch_norm", what="running_mean after the call",
                 misconceptions={"its value before the call (the buffer was not updated in place)": torch.zeros(2),
                                 "momentum weighting the old value (momentum is the weight of the new batch)":
                                     0.9 * x.mean(0)})
    assert_close(var, ref_var, exercise="batchnorm.batch_norm", what="running_var after the call",
                 misconceptions={"an update with the biased batch variance (running_var takes N - 1)":
                                 0.9 + 0.1 * x.var(0, correction=0)})


@pytest.mark.exercise("batch_norm")
def test_batch_norm_eval_uses_running_stats(impl):
    x = torch.randn(3, 4, 5)  # (N, C, L)
    mean, var = torch.randn(4), torch.rand(4) + 0.5
    weight, bias = torch.randn(4), torch.randn(4)
    out = impl.batch_norm(x, mean, var, weight, bias, training=False)
    assert_close(out, F.batch_norm(x, mean, var, weight, bias, training=False), exercise="batchnorm.batch_norm",
                 inputs={"x": x, "training": False},
                 misconceptions={"x normalised with the batch statistics (eval mode uses running_mean / running_var)":
                                 F.batch_norm(x, None, None, weight, bias, training=True)})


@pytest.mark.exercise("batch_norm")
def test_batch_norm_rejects_momentum_none(impl):
    x = torch.randn(4, 3)
    out = impl.batch_norm(x, torch.zeros(3), torch.ones(3), training=True)
    assert_close(out, F.batch_norm(x, torch.zeros(3), torch.ones(3), training=True),
                 exercise="batchnorm.batch_norm", inputs={"x": x})
    with pytest.raises(ValueError):
        impl.batch_norm(x, torch.zeros(3), torch.ones(3), training=True, momentum=None)


@pytest.mark.exercise("BatchNorm1d")
def test_batchnorm1d_train_then_eval(impl):
    inputs, evals = [torch.randn(6, 3) * 2 + 1, torch.randn(6, 3) - 1], [torch.randn(4, 3)]
    got = impl.run(train_eval_scenario, impl.BatchNorm1d, 3, inputs, evals)
    want = train_eval_scenario(nn.BatchNorm1d, 3, inputs, evals)
    for phase in ("train", "eval"):
        for i, (g, w) in enumerate(zip(got[phase], want[phase])):
            assert_close(g["output"], w["output"], exercise="batchnorm.BatchNorm1d", what=f"{phase} step {i} output")
    for name, w in want["state_dict"].items():
        assert_close(got["state_dict"].get(name), w, exercise="batchnorm.BatchNorm1d",
                     what=f"{name} after two training steps")


@pytest.mark.exercise("BatchNorm1d")
def test_batchnorm1d_state_dict_and_rejects_4d(impl):
    module = impl.BatchNorm1d(3)
    keys, expected = sorted(module.state_dict()), sorted(nn.BatchNorm1d(3).state_dict())
    assert_true(keys == expected, exercise="batchnorm.BatchNorm1d",
                message=f"state_dict keys {keys} differ from nn.BatchNorm1d's {expected}")
    with pytest.raises(ValueError):
        module(torch.randn(2, 3, 4, 4))


@pytest.mark.exercise("BatchNorm2d")
def test_batchnorm2d_train_then_eval(impl):
    inputs = [torch.randn(2, 3, 4, 5) + torch.arange(3.0).view(1, 3, 1, 1)]
    got = impl.run(train_eval_scenario, impl.BatchNorm2d, 3, inputs, inputs)
    want = train_eval_scenario(nn.BatchNorm2d, 3, inputs, inputs)
    assert_close(got["train"][0]["output"], want["train"][0]["output"], exercise="batchnorm.BatchNorm2d",
                 what="training output", hint="common causes: statistics not per channel over (N, H, W) together")
    assert_close(got["eval"][0]["output"], want["eval"][0]["output"], exercise="batchnorm.BatchNorm2d",
                 what="eval output (after one training step)")


@pytest.mark.exercise("BatchNorm2d")
def test_batchnorm2d_rejects_3d(impl):
    module = impl.BatchNorm2d(3)
    x = torch.randn(2, 3, 4, 4)
    assert_true(tuple(module(x).shape) == (2, 3, 4, 4), exercise="batchnorm.BatchNorm2d",
                message="output shape should equal the input shape (2, 3, 4, 4)")
    with pytest.raises(ValueError):
        module(torch.randn(2, 3, 4))


@pytest.mark.exercise("BatchNormFunction")
def test_batchnorm_function_matches_torch(impl):
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    gamma = torch.randn(4, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(4, dtype=torch.float64, requires_grad=True)
    got = impl.run(output_and_grads, impl.BatchNormFunction.apply, x, gamma, beta, 1e-5)
    want = output_and_grads(lambda x, g, b, eps: F.batch_norm(x, None, None, g, b, True, 0.1, eps),
                            x, gamma, beta, 1e-5)
    assert_close(got["output"], want["output"], exercise="batchnorm.BatchNormFunction", inputs={"x": x})
    for name, g, w in zip(["x", "gamma", "beta"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise="batchnorm.BatchNormFunction", what=f"gradient w.r.t. {name}", inputs={"x": x})


@pytest.mark.exercise("BatchNormFunction")
def test_batchnorm_function_gradcheck(impl):
    result = impl.run(gradcheck_batchnorm, impl.BatchNormFunction, (5, 4), 1e-5, 0)
    assert_true(result["ok"], exercise="batchnorm.BatchNormFunction",
                message="torch.autograd.gradcheck failed on apply(x (5, 4), gamma, beta, 1e-5) in float64: "
                        + result["message"])


@pytest.mark.exercise("BatchNormFunction")
def test_batchnorm_function_rejects_batch_of_one(impl):
    gamma, beta = torch.ones(3), torch.zeros(3)
    out = impl.BatchNormFunction.apply(torch.randn(4, 3), gamma, beta, 1e-5)
    assert_true(tuple(out.shape) == (4, 3), exercise="batchnorm.BatchNormFunction",
                message=f"output shape {tuple(out.shape)} should be (4, 3)")
    with pytest.raises(ValueError):
        impl.BatchNormFunction.apply(torch.randn(1, 3), gamma, beta, 1e-5)
