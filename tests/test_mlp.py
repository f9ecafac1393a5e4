"""Public tests for `mlp`: run them with `pytest -m mlp` (or `pytest -k relu`).

They check shapes, one small numeric case and one error case per exercise; the
grader's hidden tests go further (gradients, float64, any leading dims, init bounds,
several seeds of train_xor).
"""
import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads
from autograder.fixtures.mlp import XOR_LABELS, layer_summary, xor_logits


@pytest.mark.exercise("Linear")
def test_linear_matches_torch(impl):
    reference = torch.nn.Linear(5, 3)
    layer = impl.Linear(5, 3)
    keys = list(layer.state_dict())
    assert_true(keys == ["weight", "bias"], exercise="mlp.Linear",
                message=f"state_dict keys are {keys}, expected ['weight', 'bias'] as nn.Linear's")
    layer.load_state_dict(reference.state_dict())
    x = torch.randn(4, 5)
    assert_close(layer(x), F.linear(x, reference.weight, reference.bias).detach(), exercise="mlp.Linear",
                 inputs={"x": x, "weight": reference.weight})


@pytest.mark.exercise("Linear")
def test_linear_without_bias(impl):
    layer = impl.Linear(4, 2, bias=False)
    keys = list(layer.state_dict())
    assert_true(keys == ["weight"] and layer.bias is None, exercise="mlp.Linear",
                message=f"with bias=False, bias must be None and state_dict hold only 'weight' (got keys {keys})")
    x = torch.randn(3, 4)
    assert_close(layer(x), x @ layer.weight.T, exercise="mlp.Linear", inputs={"x": x, "bias": False})


@pytest.mark.exercise("relu")
def test_relu_values_and_gradient_at_zero(impl):
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], requires_grad=True)
    got = impl.run(output_and_grads, impl.relu, x, grad_outputs=[torch.ones(5)])  # gradient of relu(x).sum()
    assert_close(got["output"], torch.relu(x).detach(), exercise="mlp.relu", inputs={"x": x})
    assert_close(got["inputs"][0], torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0]), exercise="mlp.relu",
                 what="gradient w.r.t. x", inputs={"x": x},
                 misconceptions={"a gradient of 1 at x = 0 (torch.relu's is 0)": (x >= 0).float(),
                                 "a gradient of 1/2 at x = 0, as torch.maximum(x, 0) gives (torch.relu's is 0)":
                                     torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0])})


@pytest.mark.exercise("build_mlp")
def test_build_mlp_structure(impl):
    model = impl.build_mlp([3, 5, 2])
    summary = [(name, n_in, n_out) for name, _, n_in, n_out in impl.run(layer_summary, model)]
    expected = [("Linear", 3, 5), ("ReLU", None, None), ("Linear", 5, 2)]
    assert_true(summary == expected, exercise="mlp.build_mlp",
                message=f"layers (class, in, out) are {summary}, expected {expected} "
                        "(no activation after the last layer)")
    shape = tuple(model(torch.randn(4, 3)).shape)
    assert_true(shape == (4, 2), exercise="mlp.build_mlp", message=f"output shape {shape}, expected (4, 2)")


@pytest.mark.exercise("build_mlp")
def test_build_mlp_rejects_single_size(impl):
    impl.build_mlp([2, 1])
    with pytest.raises(ValueError):
        impl.build_mlp([4])


@pytest.mark.exercise("train_xor")
def test_train_xor_default_seed(impl):
    model = impl.train_xor()
    logits = impl.run(xor_logits, model)
    assert_true(tuple(logits.shape) == (4, 1), exercise="mlp.train_xor",
                message=f"output shape on the 4 points is {tuple(logits.shape)}, expected (4, 1)")
    got = (logits.flatten() > 0).long().tolist()
    assert_true(got == XOR_LABELS, exercise="mlp.train_xor",
                message=f"predictions (logit > 0) on (0,0), (0,1), (1,0), (1,1) are {got}, expected {XOR_LABELS}; "
                        f"logits {logits.flatten().tolist()}")
