"""Hidden tests for `batchnorm`: values, gradients, running statistics and state against torch.

References are computed here by torch (`F.batch_norm`, `nn.BatchNorm1d/2d`); the submission's
outputs and gradients come from trusted helpers run next to it (`impl.run`): `output_and_grads`
for single calls, `train_eval_scenario` for several training steps then eval, and
`gradcheck_batchnorm` for the hand-written backward. Inputs give every channel its own scale
and offset, and every sample its own offset, so statistics over the wrong dimensions show;
running statistics start away from (0, 1) so a reversed momentum shows; eps=0.5 shows where
eps sits. Two ill-conditioned cases (inputs offset by 100, two values per channel with a tiny
eps) are compared in float64 only: in float32 every implementation misses the tolerance there.
"""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads, upstream_gradient
from autograder.fixtures.batchnorm import (functional_running_stats_history, gradcheck_batchnorm,
                                           module_layout, running_stats_history, train_eval_scenario)

BN = "batchnorm.batch_norm"
FN = "batchnorm.BatchNormFunction"
MODULES = {"BatchNorm1d": nn.BatchNorm1d, "BatchNorm2d": nn.BatchNorm2d}


def channel_input(*shape, device, dtype, shift=0.0, scale=1.0, grad=False):
    """Random input whose channels have different scales and means, and whose samples different offsets."""
    C = shape[1]
    view = (1, C) + (1,) * (len(shape) - 2)
    x = torch.randn(*shape, dtype=torch.float64) * (0.5 + torch.rand(C, dtype=torch.float64)).view(view) * scale
    x = x + torch.linspace(-1.5, 1.5, C, dtype=torch.float64).view(view) + shift
    if len(shape) > 2:
        x = x + 0.7 * torch.randn((shape[0], 1) + (1,) * (len(shape) - 2), dtype=torch.float64)
    return x.to(device=device, dtype=dtype).requires_grad_(grad)


def randn(*shape, device, dtype, grad=False):
    return torch.randn(*shape, dtype=torch.float64).to(device=device, dtype=dtype).requires_grad_(grad)


def reduce_dims(x):
    return (0,) + tuple(range(2, x.dim()))


def per_channel(t, x):
    """(C,) -> (1, C, 1, ...) broadcasting against x."""
    return t.view((1, x.shape[1]) + (1,) * (x.dim() - 2))


def normalise(x, mean, var, weight, bias, eps, std_plus_eps=False):
    """(x - mean) / sqrt(var + eps) * weight + bias, with mean/var broadcasting against x."""
    out = (x - mean) / (var.sqrt() + eps if std_plus_eps else (var + eps).sqrt())
    if weight is not None:
        out = out * per_channel(weight, x)
    if bias is not None:
        out = out + per_channel(bias, x)
    return out


def training_misconceptions(x, weight, bias, eps):
    """What the classic wrong formulas give in training mode, computed by torch."""
    x = x.detach()
    weight = None if weight is None else weight.detach()
    bias = None if bias is None else bias.detach()
    dims, C = reduce_dims(x), x.shape[1]
    mean, var = x.mean(dims, keepdim=True), x.var(dims, keepdim=True, correction=0)
    flat = x.reshape(C, -1)
    wrong = {
        "the normalisation with the unbiased variance (normalise with the biased one: divide by n, not n - 1)":
            normalise(x, mean, x.var(dims, keepdim=True, correction=1), weight, bias, eps),
        "(x - mean) / (sqrt(var) + eps): eps belongs inside the square root":
            normalise(x, mean, var, weight, bias, eps, std_plus_eps=True),
        "statistics taken from x.reshape(C, -1), which mixes batch and channel values "
        "(move the channel dimension first, or reduce over every dim but 1)":
            normalise(x, per_channel(flat.mean(1), x), per_channel(flat.var(1, correction=0), x), weight, bias, eps),
    }
    if x.dim() > 2:
        inner = tuple(range(2, x.dim()))
        wrong["statistics per sample over the trailing dims (instance norm) instead of over (N, H, W) "
              "(or (N, L)) together"] = normalise(x, x.mean(inner, keepdim=True),
                                                  x.var(inner, keepdim=True, correction=0), weight, bias, eps)
    return wrong


def running_misconceptions(x, running_mean, running_var, momentum):
    """Wrong running-stat updates, computed by torch. Returns (for running_mean, for running_var)."""
    x = x.detach()
    dims = reduce_dims(x)
    mean, var, unbiased = x.mean(dims), x.var(dims, correction=0), x.var(dims, correction=1)
    reversed_ = ("momentum weighting the old value (running = momentum * running + (1 - momentum) * batch): "
                 "momentum is the weight of the new batch")
    # An unchanged buffer has several causes; at momentum 1 the reversed update leaves it unchanged too.
    causes = ["the update rebinds a name (running_mean = ...) where it must write into the buffer in place "
              "(mul_ / add_ / copy_): rebinding a name changes nothing", "the update is skipped in training"]
    if momentum == 1:
        causes.append(reversed_)
    unchanged = "its value before the call (the buffer was not updated); common causes: " + "; ".join(causes)
    wrong_mean = {unchanged: running_mean.clone()}
    wrong_var = {unchanged: running_var.clone()}
    if momentum != 1:  # at momentum 1 the reversed update is the unchanged buffer, named above
        wrong_mean[reversed_] = momentum * running_mean + (1 - momentum) * mean
        wrong_var[reversed_] = momentum * running_var + (1 - momentum) * unbiased
    wrong_var |= {
        "an update with the biased batch variance (running_var stores the unbiased one: times n / (n - 1))":
            (1 - momentum) * running_var + momentum * var,
    }
    return wrong_mean, wrong_var


# --------------------------------------------------------------------------- batch_norm (functional)

TRAINING_CASES = [  # shape, momentum, eps, affine
    ((8, 3), 0.1, 1e-5, True),
    ((5, 4, 7), 0.3, 0.5, True),
    ((4, 3, 5, 6), 0.1, 1e-5, True),
    ((3, 2, 3, 4, 2), 0.2, 1e-3, True),  # (N, C, D, H, W): any number of trailing dims
    ((7, 1), 1.0, 0.5, False),  # one channel, no affine, momentum 1: running = batch statistics
    ((1, 3, 6), 0.1, 1e-5, True),  # a batch of one sample, but six values per channel
    ((6, 5), 0.0, 0.5, True),  # momentum 0: running stats stay as they are
]


@pytest.mark.exercise("batch_norm")
@pytest.mark.parametrize("shape,momentum,eps,affine", TRAINING_CASES)
def test_batch_norm_training(impl, device, dtype, shape, momentum, eps, affine):
    C = shape[1]
    x = channel_input(*shape, device=device, dtype=dtype, grad=True)
    weight = randn(C, device=device, dtype=dtype, grad=True) if affine else None
    bias = randn(C, device=device, dtype=dtype, grad=True) if affine else None
    start_mean = randn(C, device=device, dtype=dtype)
    start_var = torch.rand(C, dtype=torch.float64).add(0.5).to(device=device, dtype=dtype)
    mean, var = impl.inout(start_mean, start_var)  # the submission's buffers: updated in place, they come back
    ref_mean, ref_var = start_mean.clone(), start_var.clone()
    got = impl.run(output_and_grads, impl.batch_norm, x, mean, var, weight, bias, True, momentum, eps)
    want = output_and_grads(F.batch_norm, x, ref_mean, ref_var, weight, bias, True, momentum, eps)
    inputs = {"x": x, "weight": weight, "bias": bias, "training": True, "momentum": momentum, "eps": eps}
    assert_close(got["output"], want["output"], exercise=BN, inputs=inputs,
                 misconceptions=training_misconceptions(x, weight, bias, eps))
    for name, g, w in zip(["x", "weight", "bias"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=BN, what=f"gradient w.r.t. {name}", inputs=inputs)
    wrong_mean, wrong_var = running_misconceptions(x, start_mean, start_var, momentum)
    assert_close(mean, ref_mean, exercise=BN, what="running_mean after the call", inputs=inputs,
                 misconceptions=wrong_mean)
    assert_close(var, ref_var, exercise=BN, what="running_var after the call", inputs=inputs,
                 misconceptions=wrong_var)


EVAL_CASES = [((6, 3), 1e-5), ((4, 5, 7), 0.5), ((3, 4, 5, 5), 1e-5), ((2, 3, 2, 2, 3), 0.5), ((1, 4), 1e-5)]


@pytest.mark.exercise("batch_norm")
@pytest.mark.parametrize("shape,eps", EVAL_CASES)
def test_batch_norm_eval(impl, device, dtype, shape, eps):
    C = shape[1]
    x = channel_input(*shape, device=device, dtype=dtype, grad=True)
    weight, bias = randn(C, device=device, dtype=dtype, grad=True), randn(C, device=device, dtype=dtype, grad=True)
    start_mean = randn(C, device=device, dtype=dtype)
    start_var = torch.rand(C, dtype=torch.float64).add(0.5).to(device=device, dtype=dtype)
    mean, var = impl.inout(start_mean, start_var)
    got = impl.run(output_and_grads, impl.batch_norm, x, mean, var, weight, bias, False, 0.1, eps)
    want = output_and_grads(F.batch_norm, x, start_mean, start_var, weight, bias, False, 0.1, eps)
    inputs = {"x": x, "running_mean": start_mean, "running_var": start_var, "training": False, "eps": eps}
    wrong = {} if shape[0] * x[0, 0].numel() < 2 else {
        "the output normalised with the batch statistics: in eval mode use running_mean / running_var":
            F.batch_norm(x.detach(), None, None, weight.detach(), bias.detach(), True, 0.1, eps)}
    wrong["(x - running_mean) / (sqrt(running_var) + eps): eps belongs inside the square root"] = normalise(
        x.detach(), per_channel(start_mean, x), per_channel(start_var, x), weight.detach(), bias.detach(), eps,
        std_plus_eps=True)
    assert_close(got["output"], want["output"], exercise=BN, inputs=inputs, misconceptions=wrong)
    for name, g, w in zip(["x", "weight", "bias"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=BN, what=f"gradient w.r.t. {name}", inputs=inputs)
    # Property: eval mode must not touch the buffers at all (exact equality).
    assert_close(mean, start_mean, exercise=BN, what="running_mean after an eval-mode call", rtol=0.0, atol=0.0,
                 hint="common causes: with training=False the running statistics are read, never updated")
    assert_close(var, start_var, exercise=BN, what="running_var after an eval-mode call", rtol=0.0, atol=0.0,
                 hint="common causes: with training=False the running statistics are read, never updated")


@pytest.mark.exercise("batch_norm")
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4)])
def test_batch_norm_training_without_running_stats(impl, device, dtype, shape):
    x = channel_input(*shape, device=device, dtype=dtype, grad=True)
    weight, bias = randn(3, device=device, dtype=dtype, grad=True), randn(3, device=device, dtype=dtype, grad=True)
    got = impl.run(output_and_grads, impl.batch_norm, x, None, None, weight, bias, True, 0.1, 1e-5)
    want = output_and_grads(F.batch_norm, x, None, None, weight, bias, True, 0.1, 1e-5)
    inputs = {"x": x, "running_mean": None, "running_var": None, "training": True}
    assert_close(got["output"], want["output"], exercise=BN, inputs=inputs,
                 misconceptions=training_misconceptions(x, weight, bias, 1e-5))
    for name, g, w in zip(["x", "weight", "bias"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=BN, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("batch_norm")
@pytest.mark.parametrize("case", ["offset_100", "two_values_per_channel"])
def test_batch_norm_ill_conditioned_float64(impl, device, case):
    # float64 only: in float32 these miss the tolerance for every implementation.
    if case == "offset_100":
        x = channel_input(16, 3, 4, device=device, dtype=torch.float64, shift=100.0, grad=True)
    else:
        x = channel_input(2, 4, device=device, dtype=torch.float64, grad=True)
    C = x.shape[1]
    weight, bias = randn(C, device=device, dtype=torch.float64, grad=True), randn(C, device=device,
                                                                                  dtype=torch.float64, grad=True)
    ref_mean, ref_var = torch.zeros(C, dtype=torch.float64, device=device), torch.ones(C, dtype=torch.float64,
                                                                                        device=device)
    mean, var = impl.inout(ref_mean, ref_var)
    got = impl.run(output_and_grads, impl.batch_norm, x, mean, var, weight, bias, True, 0.1, 1e-5)
    want = output_and_grads(F.batch_norm, x, ref_mean, ref_var, weight, bias, True, 0.1, 1e-5)
    inputs = {"x": x, "training": True, "case": case}
    assert_close(got["output"], want["output"], exercise=BN, inputs=inputs,
                 misconceptions=training_misconceptions(x, weight, bias, 1e-5))
    for name, g, w in zip(["x", "weight", "bias"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=BN, what=f"gradient w.r.t. {name}", inputs=inputs)
    assert_close(mean, ref_mean, exercise=BN, what="running_mean after the call", inputs=inputs)
    assert_close(var, ref_var, exercise=BN, what="running_var after the call", inputs=inputs)


@pytest.mark.exercise("batch_norm")
def test_batch_norm_several_calls_share_buffers(impl, device):
    ref_mean, ref_var = torch.zeros(4, dtype=torch.float64, device=device), torch.ones(4, dtype=torch.float64,
                                                                                        device=device)
    mean, var = impl.inout(ref_mean, ref_var)
    for step in range(3):
        x = channel_input(6, 4, 3, device=device, dtype=torch.float64, shift=step, scale=1.0 + step)
        out = impl.batch_norm(x, mean, var, None, None, True, 0.2, 1e-5)
        assert_close(out, F.batch_norm(x, ref_mean, ref_var, None, None, True, 0.2, 1e-5), exercise=BN,
                     what=f"output of training call {step}", inputs={"x": x})
        assert_close(mean, ref_mean, exercise=BN, what=f"running_mean after training call {step}")
        assert_close(var, ref_var, exercise=BN, what=f"running_var after training call {step}")
    x = channel_input(3, 4, 3, device=device, dtype=torch.float64)
    assert_close(impl.batch_norm(x, mean, var), F.batch_norm(x, ref_mean, ref_var), exercise=BN,
                 what="eval output after three training calls", inputs={"x": x})


@pytest.mark.exercise("batch_norm")
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 4)])
def test_batch_norm_running_stats_carry_no_history(impl, device, shape):
    x = channel_input(*shape, device=device, dtype=torch.float64)
    got = impl.run(functional_running_stats_history, impl.batch_norm, x)
    for name, info in got.items():
        assert_true(not info["requires_grad"] and info["grad_fn"] is None, exercise=BN,
                    message=f"after a training call on an x that requires grad, {name} has requires_grad="
                            f"{info['requires_grad']}, grad_fn={info['grad_fn']}: the buffers joined the autograd "
                            "graph. Update the running statistics inside torch.no_grad().", inputs={"x": x})


@pytest.mark.exercise("batch_norm")
def test_batch_norm_rejects_batch_of_one_in_training(impl):
    x = torch.randn(1, 3)
    mean, var = torch.randn(3), torch.rand(3) + 0.5
    assert_close(impl.batch_norm(x, mean, var), F.batch_norm(x, mean, var), exercise=BN,
                 what="eval output for a batch of one (allowed: it uses the running statistics)", inputs={"x": x})
    for shape in [(1, 3), (1, 3, 1), (1, 3, 1, 1)]:
        with pytest.raises(ValueError):
            impl.batch_norm(torch.randn(*shape), torch.zeros(3), torch.ones(3), training=True)


@pytest.mark.exercise("batch_norm")
def test_batch_norm_rejects_momentum_none(impl):
    x = torch.randn(4, 3, dtype=torch.float64)
    ref_mean, ref_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    mean, var = impl.inout(ref_mean, ref_var)
    out = impl.batch_norm(x, mean, var, training=True, momentum=0.5)
    assert_close(out, F.batch_norm(x, ref_mean, ref_var, training=True, momentum=0.5), exercise=BN,
                 inputs={"x": x})
    with pytest.raises(ValueError):
        impl.batch_norm(x, mean, var, training=True, momentum=None)


# --------------------------------------------------------------------------- BatchNorm1d / BatchNorm2d

def scenario_inputs(shape, steps, device, dtype, first_step=0):
    return [channel_input(*shape, device=device, dtype=dtype, shift=0.8 * (k - 1), scale=1.0 + 0.5 * k)
            for k in range(first_step, first_step + steps)]


def state_hint(kwargs):
    if kwargs.get("track_running_stats", True) is False:
        return ("with track_running_stats=False, running_mean, running_var and num_batches_tracked are "
                "registered as None (no state_dict entry) and eval mode uses the batch statistics")
    return ("weight and bias are parameters (only when affine=True); running_mean, running_var and "
            "num_batches_tracked are registered buffers (register_buffer), not parameters or plain attributes")


def check_state(got_state, want_state, exercise, what, kwargs, inputs):
    assert_true(sorted(got_state) == sorted(want_state), exercise=exercise, inputs=inputs,
                message=f"state_dict keys {what}: {sorted(got_state)}, expected {sorted(want_state)}. "
                        + state_hint(kwargs))
    if "num_batches_tracked" in want_state:
        assert_close(got_state["num_batches_tracked"], want_state["num_batches_tracked"], exercise=exercise,
                     what=f"num_batches_tracked {what}", inputs=inputs,
                     hint="common causes: num_batches_tracked is a long buffer incremented in place (+= 1) by every "
                          "training forward; momentum=None averages with factor 1 / num_batches_tracked")
    for key, value in want_state.items():
        if key == "num_batches_tracked":
            continue
        hint = None
        if key.startswith("running") and kwargs.get("momentum", 0.1) is None:
            hint = ("common causes: with momentum=None the running statistics are the cumulative average of the batch "
                    "statistics: factor 1 / num_batches_tracked, counted after the += 1")
        assert_close(got_state[key], value, exercise=exercise, what=f"{key} {what}", inputs=inputs, hint=hint)


def values_per_channel(x):
    return x.numel() // x.shape[1]


def check_scenario(got, want, exercise, kwargs, train_inputs, eval_inputs, initial_state=None):
    """Compare two `train_eval_scenario` results step by step; `initial_state` is what the module started
    from (None: the default init, weight ones and bias zeros), used to name known mistakes."""
    inputs = {"x": train_inputs[0], **kwargs}
    eps = kwargs.get("eps", 1e-5)
    before = initial_state or {}
    for i, (g, w) in enumerate(zip(got["train"], want["train"])):
        assert_true(sorted(g["grad_params"]) == sorted(w["grad_params"]), exercise=exercise, inputs=inputs,
                    message=f"trainable parameters {sorted(g['grad_params'])}, expected {sorted(w['grad_params'])}. "
                            + state_hint(kwargs))
        check_state(g["state"], w["state"], exercise, f"after training step {i}", kwargs, inputs)
        assert_close(g["output"], w["output"], exercise=exercise, what=f"output of training step {i}", inputs=inputs,
                     misconceptions=training_misconceptions(train_inputs[i], before.get("weight"),
                                                            before.get("bias"), eps))
        before = w["state"]
        assert_close(g["grad_input"], w["grad_input"], exercise=exercise,
                     what=f"gradient w.r.t. the input at training step {i}", inputs=inputs)
        for name, gw in w["grad_params"].items():
            assert_close(g["grad_params"][name], gw, exercise=exercise,
                         what=f"gradient w.r.t. {name} at training step {i}", inputs=inputs)
    last = want["train"][-1]["state"] if want["train"] else want["state_dict"]
    track = kwargs.get("track_running_stats", True)
    for i, (g, w) in enumerate(zip(got["eval"], want["eval"])):
        x = eval_inputs[i]
        wrong, hint = {}, None
        if track and values_per_channel(x) > 1:
            wrong["the output normalised with the batch statistics: in eval mode use running_mean / running_var"] = \
                F.batch_norm(x, None, None, last.get("weight"), last.get("bias"), True, 0.0, eps)
        elif not track:
            hint = state_hint(kwargs)
        assert_close(g["output"], w["output"], exercise=exercise, what=f"output of eval step {i}",
                     inputs={"x": x, **kwargs}, misconceptions=wrong, hint=hint)
        assert_close(g["grad_input"], w["grad_input"], exercise=exercise,
                     what=f"gradient w.r.t. the input at eval step {i}", inputs={"x": x, **kwargs}, hint=hint)
        for name, gw in w["grad_params"].items():
            assert_close(g["grad_params"][name], gw, exercise=exercise,
                         what=f"gradient w.r.t. {name} at eval step {i}", inputs={"x": x, **kwargs}, hint=hint)
        check_state(g["state"], w["state"], exercise, f"after eval step {i} (eval must not change it)", kwargs,
                    {"x": x, **kwargs})


SCENARIOS_1D = [  # id, train shape, eval shape, module kwargs, lr
    ("2d", (8, 4), (3, 4), {}, 0.0),
    ("3d_sgd", (5, 4, 6), (2, 4, 3), {}, 0.2),
    ("momentum_eps", (6, 4), (1, 4), {"momentum": 0.3, "eps": 0.5}, 0.2),
    ("momentum_none", (6, 4, 3), (3, 4, 3), {"momentum": None}, 0.0),
    ("no_affine", (6, 4), (3, 4), {"affine": False}, 0.0),
    ("no_track", (6, 4, 3), (3, 4, 3), {"track_running_stats": False}, 0.2),
    ("no_track_no_affine", (7, 4), (3, 4), {"track_running_stats": False, "affine": False}, 0.0),
    ("batch_of_one_sequence", (1, 4, 9), (1, 4, 5), {"momentum": 0.5}, 0.0),
]
SCENARIOS_2D = [
    ("default", (4, 3, 5, 5), (2, 3, 5, 5), {}, 0.0),
    ("momentum_eps_sgd", (3, 3, 4, 6), (2, 3, 3, 3), {"momentum": 0.05, "eps": 0.5}, 0.2),
    ("momentum_none", (2, 3, 4, 4), (1, 3, 4, 4), {"momentum": None}, 0.2),
    ("no_affine", (4, 3, 3, 5), (2, 3, 3, 5), {"affine": False}, 0.0),
    ("no_track", (4, 3, 3, 3), (2, 3, 3, 3), {"track_running_stats": False}, 0.2),
    ("batch_of_one_image", (1, 3, 4, 4), (1, 3, 4, 4), {}, 0.0),
]


def run_scenario(impl, name, train_shape, eval_shape, kwargs, lr, device, dtype, steps=3):
    train = scenario_inputs(train_shape, steps, device, dtype)
    evals = scenario_inputs(eval_shape, 2, device, dtype, first_step=1)
    got = impl.run(train_eval_scenario, getattr(impl, name), train_shape[1], train, evals, kwargs, None, lr)
    want = train_eval_scenario(MODULES[name], train_shape[1], train, evals, kwargs, None, lr)
    check_scenario(got, want, f"batchnorm.{name}", kwargs, train, evals)


@pytest.mark.exercise("BatchNorm1d")
@pytest.mark.parametrize("train_shape,eval_shape,kwargs,lr", [s[1:] for s in SCENARIOS_1D],
                         ids=[s[0] for s in SCENARIOS_1D])
def test_batchnorm1d_train_then_eval(impl, device, dtype, train_shape, eval_shape, kwargs, lr):
    run_scenario(impl, "BatchNorm1d", train_shape, eval_shape, kwargs, lr, device, dtype)


@pytest.mark.exercise("BatchNorm2d")
@pytest.mark.parametrize("train_shape,eval_shape,kwargs,lr", [s[1:] for s in SCENARIOS_2D],
                         ids=[s[0] for s in SCENARIOS_2D])
def test_batchnorm2d_train_then_eval(impl, device, dtype, train_shape, eval_shape, kwargs, lr):
    run_scenario(impl, "BatchNorm2d", train_shape, eval_shape, kwargs, lr, device, dtype)


ROUND_TRIPS = [  # exercise, train shape, module kwargs
    ("BatchNorm1d", (6, 4, 3), {"momentum": 0.2}),
    ("BatchNorm1d", (8, 4), {"momentum": None}),
    ("BatchNorm1d", (8, 4), {"track_running_stats": False}),
    ("BatchNorm2d", (3, 3, 4, 4), {}),
    ("BatchNorm2d", (3, 3, 4, 4), {"affine": False, "momentum": None}),
]


def _round_trip(impl, name, shape, kwargs, device, dtype):
    torch_cls, exercise = MODULES[name], f"batchnorm.{name}"
    # A torch module trained (with SGD on weight / bias) gives non-trivial state to start from.
    pretrained = train_eval_scenario(torch_cls, shape[1], scenario_inputs(shape, 2, device, dtype, first_step=2),
                                     [], kwargs, None, 0.5)["state_dict"]
    train, evals = scenario_inputs(shape, 2, device, dtype), scenario_inputs(shape, 1, device, dtype, first_step=3)
    # torch -> submission: load torch's state_dict, keep training, evaluate.
    got = impl.run(train_eval_scenario, getattr(impl, name), shape[1], train, evals, kwargs, pretrained, 0.2)
    want = train_eval_scenario(torch_cls, shape[1], train, evals, kwargs, pretrained, 0.2)
    check_scenario(got, want, exercise, {**kwargs, "loaded": "torch's state_dict"}, train, evals, pretrained)
    # submission -> torch: a torch module loads the submission's state_dict (strict) and behaves the same.
    reference = torch_cls(shape[1], **kwargs).to(device=device, dtype=dtype)
    try:
        reference.load_state_dict(got["state_dict"])
        problem = None
    except (RuntimeError, KeyError, TypeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    assert_true(problem is None, exercise=exercise,
                message=f"nn.{name}.load_state_dict(your module's state_dict()) failed: {problem}. "
                        + state_hint(kwargs))
    reference.eval()
    with torch.no_grad():
        out = reference(evals[0])
    assert_close(out, want["eval"][0]["output"], exercise=exercise,
                 what=f"output of nn.{name} loaded with your module's state_dict", inputs={"x": evals[0], **kwargs})


@pytest.mark.exercise("BatchNorm1d")
@pytest.mark.parametrize("shape,kwargs", [r[1:] for r in ROUND_TRIPS if r[0] == "BatchNorm1d"])
def test_batchnorm1d_state_dict_both_ways(impl, device, dtype, shape, kwargs):
    _round_trip(impl, "BatchNorm1d", shape, kwargs, device, dtype)


@pytest.mark.exercise("BatchNorm2d")
@pytest.mark.parametrize("shape,kwargs", [r[1:] for r in ROUND_TRIPS if r[0] == "BatchNorm2d"])
def test_batchnorm2d_state_dict_both_ways(impl, device, dtype, shape, kwargs):
    _round_trip(impl, "BatchNorm2d", shape, kwargs, device, dtype)


LAYOUTS = [{}, {"affine": False}, {"track_running_stats": False}, {"affine": False, "track_running_stats": False}]


def _check_layout(impl, name, kwargs):
    exercise = f"batchnorm.{name}"
    module = getattr(impl, name)(5, **kwargs)
    got = impl.run(module_layout, module)
    want = module_layout(MODULES[name](5, **kwargs))
    for part in ("parameters", "buffers"):
        assert_true(sorted(got[part]) == sorted(want[part]), exercise=exercise, inputs=kwargs,
                    message=f"{part}: {sorted(got[part])}, expected {sorted(want[part])} as nn.{name}(5). "
                            + state_hint(kwargs))
    assert_true(got["state_dict"] == want["state_dict"], exercise=exercise, inputs=kwargs,
                message=f"state_dict entries (shape, dtype) {got['state_dict']}, expected {want['state_dict']}. "
                        + state_hint(kwargs))
    initial = module.state_dict()
    for key, value in MODULES[name](5, **kwargs).state_dict().items():
        assert_close(initial[key], value, exercise=exercise, what=f"initial {key}", inputs=kwargs,
                     hint="common causes: weight starts at ones, bias at zeros, running_mean at zeros, running_var at "
                          "ones, num_batches_tracked at 0")


@pytest.mark.exercise("BatchNorm1d")
@pytest.mark.parametrize("kwargs", LAYOUTS)
def test_batchnorm1d_parameters_and_buffers(impl, kwargs):
    _check_layout(impl, "BatchNorm1d", kwargs)


@pytest.mark.exercise("BatchNorm2d")
@pytest.mark.parametrize("kwargs", LAYOUTS)
def test_batchnorm2d_parameters_and_buffers(impl, kwargs):
    _check_layout(impl, "BatchNorm2d", kwargs)


@pytest.mark.exercise("BatchNorm1d")
def test_batchnorm1d_running_stats_carry_no_history(impl, device):
    x = channel_input(6, 3, 4, device=device, dtype=torch.float32)
    got = impl.run(running_stats_history, impl.BatchNorm1d, 3, x)
    for name, info in got.items():
        assert_true(not info["requires_grad"] and info["grad_fn"] is None, exercise="batchnorm.BatchNorm1d",
                    message=f"after two training steps on an input that requires grad, buffer {name} has "
                            f"requires_grad={info['requires_grad']}, grad_fn={info['grad_fn']}: update the "
                            "running statistics inside torch.no_grad()", inputs={"x": x})


@pytest.mark.exercise("BatchNorm2d")
def test_batchnorm2d_running_stats_carry_no_history(impl, device):
    x = channel_input(2, 3, 4, 4, device=device, dtype=torch.float32)
    got = impl.run(running_stats_history, impl.BatchNorm2d, 3, x)
    for name, info in got.items():
        assert_true(not info["requires_grad"] and info["grad_fn"] is None, exercise="batchnorm.BatchNorm2d",
                    message=f"after two training steps on an input that requires grad, buffer {name} has "
                            f"requires_grad={info['requires_grad']}, grad_fn={info['grad_fn']}: update the "
                            "running statistics inside torch.no_grad()", inputs={"x": x})


def _check_errors(impl, name, good_shape, bad_ranks, single_shapes):
    exercise = f"batchnorm.{name}"
    module = getattr(impl, name)(3)
    reference = MODULES[name](3)
    x = torch.randn(*good_shape)
    assert_close(module(x), reference(x).detach(), exercise=exercise, what="training output", inputs={"x": x})
    for shape in bad_ranks:
        with pytest.raises(ValueError):
            module(torch.randn(*shape))
    for shape in single_shapes:
        with pytest.raises(ValueError):
            module(torch.randn(*shape))
    module.eval()
    reference.eval()
    x = torch.randn(*single_shapes[0])
    assert_close(module(x), reference(x).detach(), exercise=exercise, inputs={"x": x},
                 what="eval output for a batch of one (allowed: it uses the running statistics)")


@pytest.mark.exercise("BatchNorm1d")
def test_batchnorm1d_rejects_wrong_rank_and_batch_of_one(impl):
    _check_errors(impl, "BatchNorm1d", (4, 3), [(3,), (2, 3, 4, 4)], [(1, 3), (1, 3, 1)])


@pytest.mark.exercise("BatchNorm2d")
def test_batchnorm2d_rejects_wrong_rank_and_batch_of_one(impl):
    _check_errors(impl, "BatchNorm2d", (2, 3, 2, 2), [(2, 3, 4), (2, 3, 2, 2, 2)], [(1, 3, 1, 1)])


# --------------------------------------------------------------------------- BatchNormFunction

GRADCHECK_CASES = [((5, 4), 1e-5), ((2, 3), 1e-3), ((9, 1), 1e-5), ((4, 6), 0.5), ((16, 2), 1e-5)]


@pytest.mark.exercise("BatchNormFunction")
@pytest.mark.parametrize("shape,eps", GRADCHECK_CASES)
def test_batchnorm_function_gradcheck(impl, device, shape, eps):
    result = impl.run(gradcheck_batchnorm, impl.BatchNormFunction, shape, eps, 7 + shape[0], device)
    assert_true(result["ok"], exercise=FN,
                message=f"torch.autograd.gradcheck failed on apply(x {shape}, gamma, beta, {eps}) in float64 "
                        f"(the hand-written backward disagrees with finite differences): {result['message']}")


def function_reference(x, gamma, beta, eps):
    return F.batch_norm(x, None, None, gamma, beta, True, 0.1, eps)


def backward_misconceptions(x, gamma, output, eps):
    """Wrong hand-written gradients (for x and for gamma), computed by torch from the wrong formulas."""
    x, gamma = x.detach(), gamma.detach()
    up = upstream_gradient(output)
    inv_std = 1.0 / (x.var(0, correction=0) + eps).sqrt()
    x_hat = (x - x.mean(0)) * inv_std
    g = up * gamma
    wrong_x = {
        "the gradient without the - mean(g) term (x also moves the batch mean)":
            inv_std * (g - x_hat * (g * x_hat).mean(0)),
        "the gradient without the - x_hat * mean(g * x_hat) term (x also moves the batch variance)":
            inv_std * (g - g.mean(0)),
    }
    if not torch.allclose(gamma, torch.ones_like(gamma)):
        wrong_x["the gradient without the factor gamma (g = dL/dx_hat = dL/dy * gamma, not dL/dy)"] = \
            inv_std * (up - up.mean(0) - x_hat * (up * x_hat).mean(0))
    wrong_gamma = {"sum(dL/dy) without the factor x_hat (dL/dgamma = sum(dL/dy * x_hat))": up.sum(0)}
    return wrong_x, wrong_gamma


@pytest.mark.exercise("BatchNormFunction")
@pytest.mark.parametrize("shape,eps", [((8, 3), 1e-5), ((4, 5), 0.5), ((32, 7), 1e-5)])
def test_batchnorm_function_values_and_gradients(impl, device, dtype, shape, eps):
    x = channel_input(*shape, device=device, dtype=dtype, grad=True)
    gamma = randn(shape[1], device=device, dtype=dtype, grad=True)
    beta = randn(shape[1], device=device, dtype=dtype, grad=True)
    got = impl.run(output_and_grads, impl.BatchNormFunction.apply, x, gamma, beta, eps)
    want = output_and_grads(function_reference, x, gamma, beta, eps)
    inputs = {"x": x, "gamma": gamma, "beta": beta, "eps": eps}
    assert_close(got["output"], want["output"], exercise=FN, inputs=inputs,
                 misconceptions=training_misconceptions(x, gamma, beta, eps))
    wrong_x, wrong_gamma = backward_misconceptions(x, gamma, want["output"], eps)
    assert_close(got["inputs"][0], want["inputs"][0], exercise=FN, what="gradient w.r.t. x", inputs=inputs,
                 misconceptions=wrong_x)
    assert_close(got["inputs"][1], want["inputs"][1], exercise=FN, what="gradient w.r.t. gamma", inputs=inputs,
                 misconceptions=wrong_gamma)
    assert_close(got["inputs"][2], want["inputs"][2], exercise=FN, what="gradient w.r.t. beta", inputs=inputs)


@pytest.mark.exercise("BatchNormFunction")
@pytest.mark.parametrize("case", ["offset_100", "two_values_per_channel"])
def test_batchnorm_function_ill_conditioned_float64(impl, device, case):
    # float64 only: in float32 these miss the tolerance for every implementation.
    shape, shift = ((12, 3), 100.0) if case == "offset_100" else ((2, 4), 0.0)
    x = channel_input(*shape, device=device, dtype=torch.float64, shift=shift, grad=True)
    gamma = randn(shape[1], device=device, dtype=torch.float64, grad=True)
    beta = randn(shape[1], device=device, dtype=torch.float64, grad=True)
    got = impl.run(output_and_grads, impl.BatchNormFunction.apply, x, gamma, beta, 1e-5)
    want = output_and_grads(function_reference, x, gamma, beta, 1e-5)
    inputs = {"x": x, "case": case}
    assert_close(got["output"], want["output"], exercise=FN, inputs=inputs)
    for name, g, w in zip(["x", "gamma", "beta"], got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=FN, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("BatchNormFunction")
@pytest.mark.parametrize("needs", ["x", "gamma_beta"])
def test_batchnorm_function_partial_gradients(impl, device, needs):
    x = channel_input(6, 3, device=device, dtype=torch.float64, grad=needs == "x")
    gamma = randn(3, device=device, dtype=torch.float64, grad=needs != "x")
    beta = randn(3, device=device, dtype=torch.float64, grad=needs != "x")
    got = impl.run(output_and_grads, impl.BatchNormFunction.apply, x, gamma, beta, 1e-5)
    want = output_and_grads(function_reference, x, gamma, beta, 1e-5)
    names = ["x"] if needs == "x" else ["gamma", "beta"]
    inputs = {"x": x, "requires_grad": names}
    assert_close(got["output"], want["output"], exercise=FN, inputs=inputs)
    for name, g, w in zip(names, got["inputs"], want["inputs"]):
        assert_close(g, w, exercise=FN, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("BatchNormFunction")
def test_batchnorm_function_rejects_bad_input(impl):
    gamma, beta = torch.ones(3), torch.zeros(3)
    x = torch.randn(4, 3)
    assert_close(impl.BatchNormFunction.apply(x, gamma, beta, 1e-5), function_reference(x, gamma, beta, 1e-5),
                 exercise=FN, inputs={"x": x})
    with pytest.raises(ValueError):
        impl.BatchNormFunction.apply(torch.randn(1, 3), gamma, beta, 1e-5)
    with pytest.raises(ValueError):
        impl.BatchNormFunction.apply(torch.randn(4, 3, 2), gamma, beta, 1e-5)
