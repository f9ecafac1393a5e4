"""Hidden tests for `mlp`: Linear, relu, build_mlp and train_xor against torch.

References come from torch (``nn.Linear``, ``F.linear``, ``torch.relu``, ``nn.Sequential``)
computed here; the submission's outputs and gradients come from ``output_and_grads`` run
next to it (``impl.run``), and the models ``build_mlp``/``train_xor`` return are inspected
in the worker by the plain-data helpers of ``autograder.fixtures.mlp``. Inputs are chosen
so the classic mistakes differ: square layers (a missing transpose still runs), non-zero
biases, inputs with exact zeros (relu's gradient there), large layers (init bounds).
"""
import math

import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads, upstream_gradient
from autograder.fixtures.mlp import XOR_LABELS, build_with_activation, layer_summary, xor_logits

LINEAR = "mlp.Linear"
RELU = "mlp.relu"
BUILD = "mlp.build_mlp"
XOR = "mlp.train_xor"


def randn(*shape, device, dtype, scale=1.0, grad=True):
    return (torch.randn(*shape, dtype=torch.float64) * scale).to(device=device, dtype=dtype).requires_grad_(grad)


def linear_pair(impl, n_in, n_out, device, dtype, bias=True):
    """A torch nn.Linear and the submission's Linear holding the same (random, non-zero bias) weights."""
    reference = torch.nn.Linear(n_in, n_out, bias=bias).to(device=device, dtype=dtype)
    layer = impl.Linear(n_in, n_out, bias=bias)
    layer.to(device=device, dtype=dtype)
    layer.load_state_dict(reference.state_dict())
    return reference, layer


# --------------------------------------------------------------------------- Linear

@pytest.mark.exercise("Linear")
@pytest.mark.parametrize("n_in,n_out,lead", [(4, 4, (6,)), (5, 3, ()), (3, 7, (2, 3)), (6, 2, (2, 1, 3))])
def test_linear_values_and_gradients(impl, device, dtype, n_in, n_out, lead):
    reference, layer = linear_pair(impl, n_in, n_out, device, dtype)
    x = randn(*lead, n_in, device=device, dtype=dtype)
    got = impl.run(output_and_grads, layer, x)
    want = output_and_grads(reference, x)
    inputs = {"x": x, "in_features": n_in, "out_features": n_out}
    wrong = {}
    if n_in == n_out:
        wrong["x @ weight + bias (the transpose of weight is missing)"] = (
            x.detach() @ reference.weight.detach() + reference.bias.detach())
    assert_close(got["output"], want["output"], exercise=LINEAR, inputs=inputs, misconceptions=wrong,
                 hint="weight is stored (out_features, in_features): the product is x @ weight.T (transpose)")
    assert_close(got["inputs"][0], want["inputs"][0], exercise=LINEAR, what="gradient w.r.t. x", inputs=inputs)
    for name in ("weight", "bias"):
        assert_close(got["params"].get(name), want["params"][name], exercise=LINEAR,
                     what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("Linear")
def test_linear_state_dict_interchange(impl):
    layer = impl.Linear(5, 3)
    sd = layer.state_dict()
    keys = list(sd)
    assert_true(keys == ["weight", "bias"], exercise=LINEAR,
                message=f"state_dict keys are {keys}, expected ['weight', 'bias'] as nn.Linear's state_dict")
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    assert_true(shapes == {"weight": (3, 5), "bias": (3,)}, exercise=LINEAR,
                message=f"Linear(5, 3) has parameter shapes {shapes}; weight must be stored "
                        "(out_features, in_features) = (3, 5) as in nn.Linear, bias (out_features,)")
    # ours -> nn.Linear: the torch layer computes what ours does
    reference = torch.nn.Linear(5, 3)
    reference.load_state_dict(sd)
    x = torch.randn(2, 4, 5, dtype=torch.float32)
    assert_close(layer(x), reference(x).detach(), exercise=LINEAR, inputs={"x": x},
                 hint="state_dict interchange with nn.Linear: same keys, shapes and meaning")
    # nn.Linear -> ours
    other = torch.nn.Linear(5, 3)
    layer.load_state_dict(other.state_dict())
    assert_close(layer(x), other(x).detach(), exercise=LINEAR, inputs={"x": x})
    assert_close(layer.weight, other.weight.detach(), exercise=LINEAR, what="weight after load_state_dict")


@pytest.mark.exercise("Linear")
def test_linear_without_bias(impl, device, dtype):
    keys = list(impl.Linear(6, 4, bias=False).state_dict())
    assert_true(keys == ["weight"] and impl.Linear(6, 4, bias=False).bias is None, exercise=LINEAR,
                message=f"with bias=False, bias must be None and state_dict hold only 'weight' (got keys {keys})")
    reference, layer = linear_pair(impl, 6, 4, device, dtype, bias=False)
    x = randn(3, 2, 6, device=device, dtype=dtype)
    got = impl.run(output_and_grads, layer, x)
    want = output_and_grads(reference, x)
    inputs = {"x": x, "bias": False}
    assert_close(got["output"], want["output"], exercise=LINEAR, inputs=inputs, hint="with bias=False nothing is added")
    assert_close(got["inputs"][0], want["inputs"][0], exercise=LINEAR, what="gradient w.r.t. x", inputs=inputs)
    assert_close(got["params"].get("weight"), want["params"]["weight"], exercise=LINEAR,
                 what="gradient w.r.t. weight", inputs=inputs)
    assert_true(sorted(got["params"]) == ["weight"], exercise=LINEAR,
                message=f"with bias=False the only parameter must be weight, got {sorted(got['params'])}")


@pytest.mark.exercise("Linear")
@pytest.mark.parametrize("n_in,n_out", [(400, 3000), (3000, 400)])
def test_linear_init_bounds(impl, n_in, n_out):
    layer = impl.Linear(n_in, n_out)
    bound = 1.0 / math.sqrt(n_in)
    for name in ("weight", "bias"):
        p = getattr(layer, name)
        assert_true(isinstance(p, torch.Tensor) and tuple(p.shape) == ((n_out, n_in) if name == "weight" else (n_out,)),
                    exercise=LINEAR, message=f"Linear({n_in}, {n_out}).{name} has shape "
                                             f"{tuple(getattr(p, 'shape', ()))}; weight is (out_features, in_features)")
        lo, hi = p.min().item(), p.max().item()
        # Property check, not a comparison: every entry of U(-b, b) lies in [-b, b] (slack for float rounding).
        assert_true(-bound * (1 + 1e-6) <= lo and hi <= bound * (1 + 1e-6), exercise=LINEAR,
                    message=f"Linear({n_in}, {n_out}).{name} spans [{lo:.4g}, {hi:.4g}], outside "
                            f"[-b, b] with b = 1/sqrt(in_features) = {bound:.4g} (nn.Linear's init)")
        # n draws of U(-b, b) all miss (b(1 - d), b] with probability (1 - d/2)^n <= exp(-n d / 2);
        # d = 80 / n makes that exp(-40) ~ 4e-18 per side: a false failure is out of the question.
        d = 80.0 / p.numel()
        assert_true(lo <= -bound * (1 - d) and hi >= bound * (1 - d), exercise=LINEAR,
                    message=f"Linear({n_in}, {n_out}).{name} spans [{lo:.4g}, {hi:.4g}] but U(-b, b) with "
                            f"b = 1/sqrt(in_features) = {bound:.4g} fills [-b, b] (the bias too, as nn.Linear)")


# --------------------------------------------------------------------------- relu

def relu_input(*shape, device, dtype):
    """Half-integers with every fourth entry exactly 0 (where relu's gradient is decided)."""
    x = (torch.randn(*shape, dtype=torch.float64) * 2).round() / 2
    x.view(-1)[::4] = 0.0
    return x.to(device=device, dtype=dtype).requires_grad_(True)


@pytest.mark.exercise("relu")
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4, 5)])
def test_relu_values_and_gradient(impl, device, dtype, shape):
    x = relu_input(*shape, device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.relu, x)
    want = output_and_grads(torch.relu, x)
    inputs = {"x": x}
    assert_close(got["output"], want["output"], exercise=RELU, inputs=inputs)
    xd = x.detach()
    g = upstream_gradient(want["output"])  # the upstream gradient output_and_grads used
    wrong = {"the gradient of x.clamp(min=0) or x * (x >= 0) (1 at x == 0)": g * (xd >= 0),
             "the gradient of torch.maximum(x, 0) (0.5 at x == 0)": g * ((xd > 0) + 0.5 * (xd == 0))}
    assert_close(got["inputs"][0], want["inputs"][0], exercise=RELU, what="gradient w.r.t. x", inputs=inputs,
                 misconceptions=wrong, hint="relu's gradient at 0 must be 0, as torch.relu's")


@pytest.mark.exercise("relu")
def test_relu_infinities_dtype_and_input_untouched(impl, device):
    before = torch.tensor([float("-inf"), -3.0, -0.0, 0.0, 1e-30, 2.5, float("inf")], device=device)
    x = impl.inout(before)  # a copy whose in-place changes come back
    out = impl.relu(x)
    assert_true(isinstance(out, torch.Tensor) and out.dtype == x.dtype and out.shape == x.shape, exercise=RELU,
                message=f"expected a {x.dtype} tensor of shape {tuple(x.shape)}, got "
                        f"{getattr(out, 'dtype', type(out).__name__)} {tuple(getattr(out, 'shape', ()))}")
    assert_close(out, torch.relu(before), exercise=RELU, inputs={"x": before},
                 hint="relu(-inf) is 0 and relu(inf) is inf (x * (x > 0) gives nan at -inf)")
    assert_close(x, before, exercise=RELU, what="input after the call", hint="relu must not modify its input in place")


# --------------------------------------------------------------------------- build_mlp

def expected_summary(sizes, activation):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(("Linear", sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append((activation, None, None))
    return layers


@pytest.mark.exercise("build_mlp")
@pytest.mark.parametrize("sizes", [[3, 5], [3, 5, 2], [4, 8, 8, 1], [2, 3, 4, 5, 6]])
def test_build_mlp_structure(impl, sizes):
    model = impl.build_mlp(sizes)
    summary = impl.run(layer_summary, model)
    got = [(name, n_in, n_out) for name, _, n_in, n_out in summary]
    expected = expected_summary(sizes, "ReLU")
    assert_true(got == expected, exercise=BUILD, inputs={"sizes": sizes},
                message=f"layers (class, in, out) are {got}, expected {expected}: len(sizes) - 1 Linear layers "
                        "with an activation between consecutive ones and none after the last layer")
    modules = {module for name, module, _, _ in summary if name == "Linear"}
    assert_true(all(not m.startswith("torch.") for m in modules), exercise=BUILD,
                message=f"the Linear layers come from {sorted(modules)}: use your own Linear class")


@pytest.mark.exercise("build_mlp")
@pytest.mark.parametrize("activation", ["Tanh", "ReLU", "Sigmoid"])
def test_build_mlp_matches_sequential(impl, activation):
    sizes = [3, 6, 5, 2]
    act = getattr(torch.nn, activation)
    model = impl.run(build_with_activation, impl.build_mlp, sizes, activation)
    got_layers = [(name, n_in, n_out) for name, _, n_in, n_out in impl.run(layer_summary, model)]
    expected = expected_summary(sizes, activation)
    assert_true(got_layers == expected, exercise=BUILD, inputs={"sizes": sizes, "activation": activation},
                message=f"layers are {got_layers}, expected {expected} (no activation after the last layer)")
    reference = torch.nn.Sequential(torch.nn.Linear(3, 6), act(), torch.nn.Linear(6, 5), act(), torch.nn.Linear(5, 2))
    sd = model.state_dict()
    assert_true(sorted(sd) == sorted(reference.state_dict()), exercise=BUILD,
                message=f"state_dict keys {sorted(sd)}, expected {sorted(reference.state_dict())}")
    reference.load_state_dict(sd)
    x = torch.randn(4, 7, 3, dtype=torch.float32) * 3
    want = reference(x).detach()
    assert_close(model(x), want, exercise=BUILD, inputs={"x": x, "sizes": sizes, "activation": activation},
                 misconceptions={"the model with an activation after the last layer": act()(want)},
                 hint="no activation after the last layer: the output is a logit")


@pytest.mark.exercise("build_mlp")
@pytest.mark.parametrize("sizes", [[4], []])
def test_build_mlp_rejects_short_sizes(impl, sizes):
    impl.build_mlp([4, 2])
    try:
        impl.build_mlp(sizes)
        raised = None
    except ValueError:
        raised = "ValueError"
    assert_true(raised == "ValueError", exercise=BUILD, inputs={"sizes": sizes},
                message=f"build_mlp({sizes}) must raise ValueError: sizes needs at least 2 entries (input and output)")


# --------------------------------------------------------------------------- train_xor

STEPS = 300  # Adam at lr 0.1 (the documented recipe) separates XOR in < 30 steps for seeds 0..9


def check_solves_xor(impl, model, **kwargs):
    logits = impl.run(xor_logits, model)
    assert_true(tuple(logits.shape) == (4, 1), exercise=XOR, inputs=kwargs,
                message=f"model output on the 4 XOR points has shape {tuple(logits.shape)}, expected (4, 1)")
    got = (logits.flatten() > 0).long().tolist()
    assert_true(got == XOR_LABELS, exercise=XOR, inputs=kwargs,
                message=f"predictions (logit > 0) on (0,0), (0,1), (1,0), (1,1) are {got}, expected {XOR_LABELS} "
                        f"(logits {[round(v, 3) for v in logits.flatten().tolist()]}); a model without a hidden "
                        f"nonlinearity cannot separate XOR; train build_mlp([2, hidden, 1], nn.Tanh) with "
                        f"Adam(lr) as documented (ReLU units can die for some seeds)")
    return logits


@pytest.mark.exercise("train_xor")
@pytest.mark.parametrize("seed", [1, 2, 3, 5, 8])
def test_train_xor_solves_for_seed(impl, seed):
    check_solves_xor(impl, impl.train_xor(seed=seed, steps=STEPS), seed=seed, steps=STEPS)


@pytest.mark.exercise("train_xor")
def test_train_xor_hidden_width(impl):
    model = impl.train_xor(hidden=16, seed=4, steps=STEPS)
    summary = [(name, n_in, n_out) for name, _, n_in, n_out in impl.run(layer_summary, model)]
    linears = [(n_in, n_out) for name, n_in, n_out in summary if name == "Linear"]
    assert_true(len(linears) >= 2 and linears[0] == (2, 16) and linears[-1][1] == 1, exercise=XOR,
                message=f"train_xor(hidden=16) built layers {summary}; expected Linear(2, 16), ..., Linear(16, 1)")
    check_solves_xor(impl, model, hidden=16, seed=4, steps=STEPS)


@pytest.mark.exercise("train_xor")
def test_train_xor_deterministic(impl):
    first = impl.run(xor_logits, impl.train_xor(seed=6, steps=STEPS))
    second = impl.run(xor_logits, impl.train_xor(seed=6, steps=STEPS))
    assert_close(second, first, exercise=XOR, what="logits of a second train_xor(seed=6)", inputs={"seed": 6},
                 hint="train_xor must be deterministic for a seed: torch.manual_seed(seed) before building the model")
