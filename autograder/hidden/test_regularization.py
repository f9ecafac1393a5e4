"""Hidden tests for `regularization`: dropout statistics and gradients, the L2 penalty, early stopping.

Dropout is random, so it is never compared bit for bit with `F.dropout` (a submission may draw its mask
another way): the tests read the mask off the output (inputs have no zeros) and check that every value is
0 or x / (1 - p), that the drop rate is p within 6 standard deviations (a correct implementation fails one
such check with probability < 2e-9), that the gradient is the same mask scaled by 1 / (1 - p), and that a
generator reproduces its draws. Keep rates use p != 0.5, where dividing by p and by 1 - p agree.

Models for `l2_penalty` and `EarlyStopping` are built next to the submission by the trusted helpers of
`autograder.fixtures.regularization`; the same helpers run here with a reference (torch's sum of squares,
and the SPEC's early-stopping rule written out below) to give the expected values.
"""
import functools
import math

import pytest
import torch

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads
from autograder.fixtures.regularization import (build_model, early_stopping_restore, early_stopping_trace,
                                                l2_penalty_and_grads, twice_with_generator)

DROPOUT = "regularization.dropout"
MODULE = "regularization.Dropout"
L2 = "regularization.l2_penalty"
ES = "regularization.EarlyStopping"
SIGMAS = 6.0  # two-sided normal tail beyond 6 sigma: < 2e-9 per check


def nonzero_input(*shape, device, dtype, grad=False):
    """Values in ±[0.5, 1.5): no zeros, so the dropout mask is exactly `output != 0`."""
    magnitude = torch.rand(*shape, dtype=torch.float64) + 0.5
    sign = torch.where(torch.rand(*shape) < 0.5, -1.0, 1.0).double()
    return (magnitude * sign).to(device=device, dtype=dtype).requires_grad_(grad)


def generator(device, seed):
    return torch.Generator(device=device).manual_seed(seed)


def check_values(y, x, p, exercise, inputs):
    """Every output is 0 or x / (1 - p); names the classic scaling mistakes."""
    x = x.detach()
    assert_true(isinstance(y, torch.Tensor) and y.shape == x.shape, exercise=exercise, inputs=inputs,
                message=f"expected a tensor of shape {tuple(x.shape)}, got "
                        f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
    kept = y != 0
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    expected = torch.where(kept, x / (1 - p), zero)
    wrong = {
        "dropout without rescaling the kept units by 1/(1-p)": torch.where(kept, x, zero),
        "kept units divided by p instead of by the keep probability 1 - p: scale by 1/(1-p)":
            torch.where(kept, x / p, zero),
        "kept units multiplied by 1 - p instead of divided by it: scale by 1/(1-p)":
            torch.where(kept, x * (1 - p), zero),
    }
    assert_close(y, expected, exercise=exercise, inputs=inputs, misconceptions=wrong,
                 hint="common causes: every output must be 0 (dropped) or x / (1 - p) (kept, scaled by 1/(1-p))")


def check_drop_rate(y, p, exercise, inputs):
    """Fraction of zeros and mean of dropout(ones): p and 1 within 6 sigma."""
    n = y.numel()
    dropped = float((y == 0).double().mean())
    bound = SIGMAS * math.sqrt(p * (1 - p) / n)
    assert_true(abs(dropped - p) <= bound, exercise=exercise, inputs=inputs,
                message=f"{dropped:.4f} of the {n} outputs are zero, expected p = {p} ± {bound:.4f} (6 sigma). "
                        "Each element is dropped with probability p: the keep probability "
                        "(what bernoulli_ / rand < q must get) is 1 - p.")
    mean = float(y.double().mean())
    bound = SIGMAS * math.sqrt(p / ((1 - p) * n))
    assert_true(abs(mean - 1.0) <= bound, exercise=exercise, inputs=inputs,
                message=f"the mean of dropout(ones) is {mean:.4f}, expected 1 ± {bound:.4f} (6 sigma): inverted "
                        "dropout keeps the expected value, kept units are scaled by 1/(1-p)")


# --------------------------------------------------------------------------- dropout

@pytest.mark.exercise("dropout")
@pytest.mark.parametrize("shape,p", [((3, 5, 7), 0.1), ((1,), 0.3), ((2, 1, 4, 3), 0.75), ((64, 33), 0.3)])
def test_dropout_values_are_zero_or_scaled(impl, device, dtype, shape, p):
    before = nonzero_input(*shape, device=device, dtype=dtype)
    x = impl.inout(before)  # a copy whose in-place changes come back
    y = impl.dropout(x, p, generator=generator(device, 3))
    inputs = {"x": x, "p": p}
    assert_true(isinstance(y, torch.Tensor) and y.dtype == x.dtype and y.device == x.device, exercise=DROPOUT,
                inputs=inputs,
                message=f"output is {getattr(y, 'dtype', type(y).__name__)} on {getattr(y, 'device', '-')}, "
                        f"expected a tensor of {x.dtype} on {x.device} (same as x)")
    check_values(y, x, p, DROPOUT, inputs)
    assert_close(x, before, exercise=DROPOUT, what="input x after the call", inputs=inputs,
                 hint="common causes: dropout must not modify its input in place")


@pytest.mark.exercise("dropout")
@pytest.mark.parametrize("p", [0.1, 0.2, 0.7, 0.9])
def test_dropout_drop_rate(impl, device, p):
    x = torch.ones(200_000, device=device)
    y = impl.dropout(x, p, generator=generator(device, 12))
    inputs = {"x": x, "p": p}
    check_values(y, x, p, DROPOUT, inputs)
    check_drop_rate(y, p, DROPOUT, inputs)


@pytest.mark.exercise("dropout")
def test_dropout_global_rng_when_no_generator(impl, device):
    x = torch.ones(200_000, device=device)
    y = impl.dropout(x, 0.2)
    check_values(y, x, 0.2, DROPOUT, {"x": x, "p": 0.2})
    check_drop_rate(y, 0.2, DROPOUT, {"x": x, "p": 0.2, "generator": None})


@pytest.mark.exercise("dropout")
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_gradient_flows_through_kept_units(impl, device, dtype, p):
    x = nonzero_input(4, 6, 5, device=device, dtype=dtype, grad=True)
    up = torch.randn(4, 6, 5, dtype=torch.float64).to(device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.dropout, x, p, generator=generator(device, 5), grad_outputs=[up])
    y = got["output"]
    inputs = {"x": x, "p": p}
    check_values(y, x, p, DROPOUT, inputs)
    kept = y != 0
    zero = torch.zeros((), dtype=dtype, device=device)
    assert_close(got["inputs"][0], torch.where(kept, up / (1 - p), zero), exercise=DROPOUT,
                 what="gradient w.r.t. x", inputs=inputs,
                 misconceptions={"the mask without the 1/(1-p) scaling": torch.where(kept, up, zero),
                                 "the upstream gradient, unmasked (it must flow only through kept units)": up},
                 hint="common causes: the gradient is upstream * mask / (1 - p), with the mask of the forward pass")


@pytest.mark.exercise("dropout")
def test_dropout_generator_reproducible(impl, device):
    x = torch.ones(2000, device=device)
    first = impl.dropout(x, 0.3, generator=generator(device, 5))
    again = impl.dropout(x, 0.3, generator=generator(device, 5))
    other = impl.dropout(x, 0.3, generator=generator(device, 6))
    assert_close(again, first, exercise=DROPOUT, what="output with a generator seeded alike",
                 inputs={"x": x, "p": 0.3}, hint="common causes: draw the mask from `generator` (same state -> same "
                                                 "mask)")
    # Two independent masks of 2000 elements agree with probability 0.58^2000: never.
    assert_true(bool((other != first).any()), exercise=DROPOUT, inputs={"x": x, "p": 0.3},
                message="generators seeded 5 and 6 gave the same mask: the mask must come from `generator`")
    pair = impl.run(twice_with_generator, impl.dropout, x, 0.3, 5)
    assert_close(pair[0], first, exercise=DROPOUT, what="output with a fresh generator seeded 5",
                 hint="common causes: draw the mask from `generator` (same state -> same mask)")
    assert_true(bool((pair[1] != pair[0]).any()), exercise=DROPOUT,
                message="two calls with the same generator object gave the same mask: draw from the generator "
                        "(advancing it), don't reseed or copy it")


@pytest.mark.exercise("dropout")
@pytest.mark.parametrize("p,training", [(0.3, False), (1.0, False), (0.0, True)])
def test_dropout_identity(impl, device, dtype, p, training):
    x = nonzero_input(3, 4, 5, device=device, dtype=dtype, grad=True)
    up = torch.randn(3, 4, 5, dtype=torch.float64).to(device=device, dtype=dtype)
    got = impl.run(output_and_grads, impl.dropout, x, p, training=training, grad_outputs=[up])
    inputs = {"x": x, "p": p, "training": training}
    hint = "common causes: with training=False, or p = 0, dropout is the identity (no mask, no scaling)"
    assert_close(got["output"], x.detach(), exercise=DROPOUT, inputs=inputs, hint=hint)
    assert_close(got["inputs"][0], up, exercise=DROPOUT, what="gradient w.r.t. x", inputs=inputs, hint=hint)


@pytest.mark.exercise("dropout")
def test_dropout_p_one_gives_zeros(impl, device, dtype):
    x = nonzero_input(5, 4, device=device, dtype=dtype, grad=True)
    got = impl.run(output_and_grads, impl.dropout, x, 1.0)
    inputs = {"x": x, "p": 1.0}
    hint = "common causes: p == 1 must give zeros: 1 - p = 0, so don't divide by it"
    assert_true(bool(torch.isfinite(got["output"]).all()), exercise=DROPOUT, inputs=inputs,
                message=f"the output has nan/inf: {hint}")
    assert_close(got["output"], torch.zeros_like(x.detach()), exercise=DROPOUT, inputs=inputs, hint=hint)
    assert_close(got["inputs"][0], torch.zeros_like(x.detach()), exercise=DROPOUT, what="gradient w.r.t. x",
                 inputs=inputs, hint=hint)


@pytest.mark.exercise("dropout")
def test_dropout_rejects_bad_p(impl):
    x = torch.ones(1000)
    check_values(impl.dropout(x, 0.25, generator=generator("cpu", 0)), x, 0.25, DROPOUT, {"x": x, "p": 0.25})
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError):
            impl.dropout(x, p)


# --------------------------------------------------------------------------- Dropout

@pytest.mark.exercise("Dropout")
@pytest.mark.parametrize("p", [None, 0.2, 0.7])
def test_Dropout_train_mode(impl, device, dtype, p):
    module = impl.Dropout() if p is None else impl.Dropout(p)
    rate = 0.5 if p is None else p
    x = torch.ones(100_000, device=device, dtype=dtype)
    y = module(x)
    inputs = {"x": x, "p": p if p is not None else "default (0.5)"}
    check_values(y, x, rate, MODULE, inputs)
    check_drop_rate(y, rate, MODULE, inputs)


@pytest.mark.exercise("Dropout")
def test_Dropout_eval_is_identity_then_train_again(impl, device, dtype):
    module = impl.Dropout(0.4)
    x = nonzero_input(50, 40, device=device, dtype=dtype)
    module.eval()
    hint = "common causes: forward must read self.training at call time (eval() sets it False): identity in eval mode"
    assert_close(module(x), x, exercise=MODULE, what="output in eval mode", inputs={"x": x}, hint=hint)
    module.train()
    y = module(x)
    check_values(y, x, 0.4, MODULE, {"x": x, "p": 0.4})
    # 2000 elements kept with probability 0.6 each: all kept has probability 0.6^2000.
    assert_true(bool((y == 0).any()), exercise=MODULE, inputs={"x": x},
                message="nothing was dropped after train(): forward must read self.training at call time")


@pytest.mark.exercise("Dropout")
def test_Dropout_follows_parent_mode(impl, device):
    model = impl.run(torch.nn.Sequential, impl.Dropout(0.3))
    x = nonzero_input(40, 50, device=device, dtype=torch.float32)
    model.eval()
    assert_close(model(x), x, exercise=MODULE, what="output of Sequential(Dropout(0.3)) after model.eval()",
                 inputs={"x": x}, hint="common causes: model.eval() sets self.training on every submodule: read "
                                       "self.training")
    model.train()
    y = model(x)
    check_values(y, x, 0.3, MODULE, {"x": x, "p": 0.3})
    assert_true(bool((y == 0).any()), exercise=MODULE, inputs={"x": x},
                message="nothing was dropped after model.train(): forward must read self.training")


@pytest.mark.exercise("Dropout")
def test_Dropout_gradient(impl, device, dtype):
    module = impl.Dropout(0.35)
    x = nonzero_input(6, 7, 8, device=device, dtype=dtype, grad=True)
    up = torch.randn(6, 7, 8, dtype=torch.float64).to(device=device, dtype=dtype)
    got = impl.run(output_and_grads, module, x, grad_outputs=[up])
    check_values(got["output"], x, 0.35, MODULE, {"x": x, "p": 0.35})
    kept = got["output"] != 0
    zero = torch.zeros((), dtype=dtype, device=device)
    assert_close(got["inputs"][0], torch.where(kept, up / 0.65, zero), exercise=MODULE, what="gradient w.r.t. x",
                 inputs={"x": x, "p": 0.35}, hint="common causes: the gradient is upstream * mask / (1 - p)")


@pytest.mark.exercise("Dropout")
def test_Dropout_p_zero_and_one(impl, device):
    x = nonzero_input(30, 20, device=device, dtype=torch.float64)
    assert_close(impl.Dropout(0.0)(x), x, exercise=MODULE, what="output of Dropout(0.0) in train mode",
                 inputs={"x": x}, hint="common causes: p = 0 drops nothing: the identity")
    y = impl.Dropout(1.0)(x)
    assert_true(bool(torch.isfinite(y).all()), exercise=MODULE, inputs={"x": x},
                message="Dropout(1.0) gave nan/inf: p == 1 must give zeros, don't divide by 1 - p = 0")
    assert_close(y, torch.zeros_like(x), exercise=MODULE, what="output of Dropout(1.0) in train mode",
                 inputs={"x": x}, hint="common causes: p == 1 drops everything: zeros")


@pytest.mark.exercise("Dropout")
def test_Dropout_rejects_bad_p(impl):
    x = torch.ones(1000)
    check_values(impl.Dropout(0.25)(x), x, 0.25, MODULE, {"x": x, "p": 0.25})
    for p in (-0.5, 1.01):
        with pytest.raises(ValueError):
            impl.Dropout(p)


# --------------------------------------------------------------------------- l2_penalty

MODELS = {  # build_model kinds, as shown in messages
    "mlp": "Linear(4,6)-Tanh-Linear(6,3)",
    "norm": "Linear(4,6)-LayerNorm(6)-Linear(6,3)",
    "conv": "Conv2d(2,3,3)-BatchNorm2d(3)-Linear(12,2)",
    "frozen": "Linear(4,6) frozen-Tanh-Linear(6,3)",
    "tied": "Embedding(7,5) shared by Linear(5,7)",
    "scalar": "(Linear(4,6)-Tanh-Linear(6,3)) * temperature, a 0-d parameter",
    "norm_only": "LayerNorm(5) (1-d parameters only)",
    "empty": "Tanh() (no parameters)",
}


def reference_l2(module, weight_decay, include_bias=False):
    first = next(iter(module.parameters()), None)
    total = (torch.zeros(()) if first is None  # no parameters: the default dtype, on the CPU
             else torch.zeros((), dtype=first.dtype, device=first.device))
    for p in module.parameters():
        if p.dim() > 1 or include_bias:
            total = total + p.pow(2).sum()
    return weight_decay * total


def l2_misconceptions(kind, weight_decay, include_bias, dtype, device, expected):
    """What the classic wrong penalties give on this model (only those that differ from the right one)."""
    model = build_model(kind, dtype=dtype, device=device)
    named = list(model.named_parameters())
    selected = [p for _, p in named if p.dim() > 1 or include_bias]
    with torch.no_grad():
        wrong = {
            "half the penalty, the λ/2 Σ w² convention: the penalty is λ Σ w² (gradient 2λw)":
                0.5 * reference_l2(model, weight_decay, bool(include_bias)),
            "an L1 penalty λ Σ |w|: square the weights": weight_decay * sum(p.abs().sum() for p in selected),
            "λ Σ ‖W‖, the norms instead of their squares: square before summing":
                weight_decay * sum(p.norm() for p in selected),
            "the penalty without the frozen weights (requires_grad=False ones count too)":
                weight_decay * sum(p.pow(2).sum() for p in selected if p.requires_grad),
            "the penalty over parameters named '*weight*': select by dim() > 1 (a norm layer's weight is 1-d)":
                weight_decay * sum(p.pow(2).sum() for n, p in named if "weight" in n or include_bias),
        }
        if include_bias:
            wrong["the penalty without the 0-d parameters: with include_bias every parameter counts, "
                  "0-d scalars too"] = weight_decay * sum(p.pow(2).sum() for p in selected if p.dim() > 0)
        if not include_bias:
            wrong["the penalty with biases and other 1-d parameters included: include_bias defaults to False"] = \
                reference_l2(model, weight_decay, True)
    return {k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in wrong.items()
            if not torch.allclose(torch.as_tensor(v, dtype=dtype, device=device), expected)}


def check_l2(got, want, kind, weight_decay, include_bias, dtype, device):
    inputs = {"model": MODELS[kind], "weight_decay": weight_decay, "include_bias": include_bias, "dtype": dtype}
    value = got["value"]
    if weight_decay == 0 and isinstance(value, (int, float)):
        value = torch.tensor(float(value), dtype=dtype, device=device)  # λ = 0: any zero passes (see below)
    assert_true(isinstance(value, torch.Tensor), exercise=L2, inputs=inputs,
                message=f"expected a scalar tensor, got {type(value).__name__} (keep it a tensor, "
                        "differentiable w.r.t. the weights: no .item())")
    # λ = 0: a constant zero of another dtype, without grad, is fine too.
    assert_close(value, want["value"], exercise=L2, inputs=inputs, check_dtype=weight_decay != 0,
                 misconceptions=l2_misconceptions(kind, weight_decay, include_bias, dtype, device, want["value"]))
    if want["requires_grad"] and weight_decay != 0:
        assert_true(got["requires_grad"], exercise=L2, inputs=inputs,
                    message="the penalty does not require grad: build it from the parameters with torch ops "
                            "(no .item(), .detach() or torch.no_grad())")
    weights = got["weights"]
    for name, grad in want["grads"].items():
        assert_close(got["grads"].get(name), grad, exercise=L2, what=f"gradient w.r.t. {name}", inputs=inputs,
                     misconceptions={"λ w (the λ/2 convention): the gradient of λ Σ w² is 2λw":
                                     weight_decay * weights[name]} if weight_decay and grad.abs().sum() else None,
                     hint="common causes: the gradient of λ Σ w² is 2λw for penalised parameters and 0 for the others")


@pytest.mark.exercise("l2_penalty")
@pytest.mark.parametrize("include_bias", [None, False, True], ids=["default", "no-bias", "bias"])
@pytest.mark.parametrize("kind", ["mlp", "norm", "conv", "frozen", "scalar"])
def test_l2_penalty_value_and_gradients(impl, device, dtype, kind, include_bias):
    weight_decay = 0.3
    got = impl.run(l2_penalty_and_grads, impl.l2_penalty, kind, weight_decay, include_bias, dtype=dtype,
                   device=device)
    want = l2_penalty_and_grads(reference_l2, kind, weight_decay, include_bias, dtype=dtype, device=device)
    check_l2(got, want, kind, weight_decay, include_bias, dtype, device)


@pytest.mark.exercise("l2_penalty")
@pytest.mark.parametrize("include_bias", [None, True], ids=["default", "bias"])
def test_l2_penalty_shared_weight_counts_once(impl, device, include_bias):
    got = impl.run(l2_penalty_and_grads, impl.l2_penalty, "tied", 0.05, include_bias, device=device)
    want = l2_penalty_and_grads(reference_l2, "tied", 0.05, include_bias, device=device)
    inputs = {"model": MODELS["tied"], "include_bias": include_bias}
    twice = want["value"] + 0.05 * want["weights"]["embed.weight"].pow(2).sum()
    assert_close(got["value"], want["value"], exercise=L2, inputs=inputs,
                 misconceptions={"the shared weight counted twice: iterate module.parameters() (each parameter "
                                 "once)": twice})
    for name, grad in want["grads"].items():
        assert_close(got["grads"].get(name), grad, exercise=L2, what=f"gradient w.r.t. {name}", inputs=inputs)


@pytest.mark.exercise("l2_penalty")
@pytest.mark.parametrize("kind,want_dtype", [("norm_only", torch.float64), ("empty", torch.float32)],
                         ids=["only-1d", "no-parameters"])
def test_l2_penalty_nothing_penalised_is_a_zero_tensor(impl, kind, want_dtype):
    got = impl.run(l2_penalty_and_grads, impl.l2_penalty, kind, 0.3)
    inputs = {"model": MODELS[kind], "weight_decay": 0.3, "include_bias": None}
    value = got["value"]
    where = "the first parameter's dtype" if kind != "empty" else "the default dtype, on the CPU (no parameters)"
    assert_true(isinstance(value, torch.Tensor) and value.shape == () and value.dtype == want_dtype
                and value.device.type == "cpu", exercise=L2, inputs=inputs,
                message=f"nothing is penalised here: expected a 0-d tensor 0. of {want_dtype} ({where}), got "
                        + (f"a tensor of shape {tuple(value.shape)}, {value.dtype}" if isinstance(value, torch.Tensor)
                           else f"{type(value).__name__} {value!r}"))
    assert_close(value, torch.zeros((), dtype=want_dtype), exercise=L2, inputs=inputs)


@pytest.mark.exercise("l2_penalty")
@pytest.mark.parametrize("weight_decay", [0.0, 1e-3, 2.5])
def test_l2_penalty_weight_decay_values(impl, weight_decay):
    got = impl.run(l2_penalty_and_grads, impl.l2_penalty, "conv", weight_decay)
    want = l2_penalty_and_grads(reference_l2, "conv", weight_decay)
    check_l2(got, want, "conv", weight_decay, None, torch.float64, "cpu")


@pytest.mark.exercise("l2_penalty")
def test_l2_penalty_rejects_negative_weight_decay(impl):
    got = impl.run(l2_penalty_and_grads, impl.l2_penalty, "mlp", 0.1)
    want = l2_penalty_and_grads(reference_l2, "mlp", 0.1)
    check_l2(got, want, "mlp", 0.1, None, torch.float64, "cpu")
    with pytest.raises(ValueError):
        impl.run(l2_penalty_and_grads, impl.l2_penalty, "mlp", -0.1)


# --------------------------------------------------------------------------- EarlyStopping

class ReferenceEarlyStopping:
    """The SPEC's rule, written out; ``variant`` gives the classic wrong versions (to name them in messages)."""

    def __init__(self, patience=5, min_delta=0.0, mode="min", restore_best=True, variant=None):
        self.patience, self.min_delta, self.mode, self.restore_best = patience, min_delta, mode, restore_best
        self.variant = variant
        self.best = math.inf if mode == "min" else -math.inf
        self.best_step = None
        self.counter = 0
        self.steps = 0
        self.state = None

    def improved(self, m):
        delta = 0.0 if self.variant == "no_delta" else self.min_delta
        if self.mode == "min":
            return m <= self.best - delta if self.variant == "non_strict" else m < self.best - delta
        if self.variant == "delta_sign":
            delta = -delta
        return m >= self.best + delta if self.variant == "non_strict" else m > self.best + delta

    def step(self, metric, model=None):
        metric = float(metric)
        t = self.steps
        self.steps += 1
        if self.improved(metric):
            self.best, self.best_step = metric, t + (self.variant == "one_based")
            if self.variant != "no_reset":
                self.counter = 0
            if self.restore_best and model is not None:
                self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.counter += 1
        return self.counter > self.patience if self.variant == "late" else self.counter >= self.patience

    def restore(self, model):
        if self.state is None:
            raise RuntimeError("nothing kept")
        model.load_state_dict(self.state)


VARIANTS = {
    "late": "stops one step late: return True as soon as counter reaches patience (counter >= patience)",
    "no_reset": "counts every step without improvement, not consecutive ones: reset counter to 0 on an improvement",
    "non_strict": "counts a metric equal to best - min_delta (best + min_delta in max mode) as an improvement: "
                  "the comparison is strict",
    "no_delta": "ignores min_delta: an improvement must beat best by more than min_delta",
    "delta_sign": "uses best - min_delta in max mode: there an improvement is metric > best + min_delta",
    "one_based": "a 1-based best_step: steps count from 0, so the first step is step 0",
}

NAN = float("nan")
SCENARIOS = {
    "min-patience3": ({"patience": 3}, [1.0, 0.9, 0.95, 0.91, 0.89, 0.9, 0.9, 0.9, 0.5]),
    "min-nonconsecutive": ({"patience": 2}, [1.0, 2.0, 0.5, 2.0, 0.4, 3.0, 3.0, 0.1]),
    "min-delta-stops": ({"patience": 2, "min_delta": 0.1}, [1.0, 0.95, 0.92, 0.5]),
    "min-delta-progress": ({"patience": 3, "min_delta": 0.05}, [2.0, 1.9, 1.87, 1.84, 1.8, 1.82, 1.77, 1.76]),
    "min-tie-at-delta": ({"patience": 1, "min_delta": 0.25}, [1.0, 0.75, 0.5]),
    "min-patience1": ({"patience": 1}, [3.0, 2.0, 2.5, 1.0]),
    "min-defaults": ({}, [5.0, 4.0, 4.0, 4.5, 4.0, 4.0, 4.0, 3.0]),
    "max-tie": ({"mode": "max", "patience": 2}, [0.1, 0.3, 0.3, 0.2, 0.35, 0.34, 0.33]),
    "max-delta": ({"mode": "max", "patience": 2, "min_delta": 0.02}, [0.5, 0.6, 0.65, 0.66, 0.7, 0.69, 0.71]),
    "max-negative": ({"mode": "max", "patience": 3}, [-5.0, -3.0, -4.0, -3.5, -3.0, -2.0]),
    "max-large": ({"mode": "max", "patience": 2, "min_delta": 10.0}, [1e6, 1e6 + 5, 1e6 + 20, 1e6 + 25, 1e6 + 29]),
    "min-nan": ({"patience": 2}, [1.0, NAN, 0.5, NAN, NAN, 0.1]),
}


def summary(trace):
    return [(s["stop"], s["best"], s["best_step"], s["counter"]) for s in trace["steps"]]


def same(a, b):
    return len(a) == len(b) and all(x == y or (x != x and y != y) for u, v in zip(a, b) for x, y in zip(u, v))


def describe_step(step):
    return (f"stop={step['stop']}, best={step['best']}, best_step={step['best_step']}, "
            f"counter={step['counter']}")


@pytest.mark.exercise("EarlyStopping")
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_EarlyStopping_scripted_metrics(impl, scenario):
    kwargs, metrics = SCENARIOS[scenario]
    got = impl.run(early_stopping_trace, impl.EarlyStopping, metrics, kwargs)
    want = early_stopping_trace(ReferenceEarlyStopping, metrics, kwargs)
    call = f"EarlyStopping({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) fed {metrics}"
    mode = kwargs.get("mode", "min")
    start = want["initial"]["best"]
    assert_true(got["initial"]["best"] == start and got["initial"]["counter"] == 0, exercise=ES,
                message=f"{call}: before any step best={got['initial']['best']}, counter={got['initial']['counter']}; "
                        f"expected best={start} ({'+inf' if mode == 'min' else '-inf'} for mode {mode!r}), counter=0")
    mine, ref = summary(got), summary(want)
    if not same(mine, ref):
        t = next((i for i in range(min(len(mine), len(ref))) if not same(mine[i:i + 1], ref[i:i + 1])),
                 min(len(mine), len(ref)))
        if t < min(len(mine), len(ref)):
            first = (f"at step {t} (metric {metrics[t]}) got {describe_step(got['steps'][t])}; "
                     f"expected {describe_step(want['steps'][t])}")
        else:
            first = (f"step() returned True at step {len(mine) - 1}" if len(mine) < len(ref)
                     else "step() never returned True") + f", expected True at step {len(ref) - 1} (0-based)"
        diagnosis = [text for variant, text in VARIANTS.items()
                     if same(mine, summary(early_stopping_trace(
                         functools.partial(ReferenceEarlyStopping, variant=variant), metrics, kwargs)))]
        nan_note = " A NaN metric is never an improvement." if any(m != m for m in metrics) else ""
        assert_true(False, exercise=ES,
                    message=f"{call}: {first}"
                            + (f"\n  hint: your EarlyStopping {diagnosis[0]}." if diagnosis else "")
                            + "\n  rule: improvement is metric < best - min_delta ('min') or metric > best + min_delta "
                              f"('max'); stop when patience consecutive steps bring none.{nan_note}"
                            + f"\n  stop steps: got {[s['stop'] for s in got['steps']]}, "
                              f"expected {[s['stop'] for s in want['steps']]}")
    assert_true(all(s["stop_is_bool"] for s in got["steps"]), exercise=ES,
                message=f"{call}: step() must return a bool (True = stop now, False otherwise)")


CONTINUE_SCENARIOS = {  # fed in full: step() keeps applying the rule after it has returned True
    "improves-after-stop": ({"patience": 2}, [1.0, 2.0, 2.0, 0.5, 2.0, 2.0, 3.0]),
    "max-improves-after-stop": ({"mode": "max", "patience": 1}, [0.5, 0.4, 0.6, 0.6, 0.7]),
}


@pytest.mark.exercise("EarlyStopping")
@pytest.mark.parametrize("scenario", list(CONTINUE_SCENARIOS))
def test_EarlyStopping_step_after_a_stop(impl, scenario):
    kwargs, metrics = CONTINUE_SCENARIOS[scenario]
    got = impl.run(early_stopping_trace, impl.EarlyStopping, metrics, kwargs, stop_at_first=False)
    want = early_stopping_trace(ReferenceEarlyStopping, metrics, kwargs, stop_at_first=False)
    mine, ref = summary(got), summary(want)
    if not same(mine, ref):
        t = next(i for i in range(len(ref)) if not same(mine[i:i + 1], ref[i:i + 1]))
        call = f"EarlyStopping({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) fed {metrics} (all of them)"
        assert_true(False, exercise=ES,
                    message=f"{call}: at step {t} (metric {metrics[t]}) got {describe_step(got['steps'][t])}; "
                            f"expected {describe_step(want['steps'][t])}"
                            "\n  rule: step() may be called again after it returned True and applies the same rule: "
                            "an improvement resets counter and returns False (the stop is not remembered)"
                            f"\n  stop steps: got {[s['stop'] for s in got['steps']]}, "
                            f"expected {[s['stop'] for s in want['steps']]}")


RESTORE_SCENARIOS = {
    "min": ({"patience": 3}, [1.0, 0.6, 0.8, 0.7, 0.9]),
    "max-delta": ({"mode": "max", "patience": 3, "min_delta": 0.05}, [0.5, 0.7, 0.71, 0.6, 0.65]),
    "late-best": ({"patience": 2}, [3.0, 2.0, 1.0, 1.5, 1.5]),
}


def compare_states(got, want, label, wrong, inputs, hint):
    assert_true(sorted(got) == sorted(want), exercise=ES, inputs=inputs,
                message=f"{label}: state_dict keys {sorted(got)}, expected {sorted(want)} (keep the whole state_dict, "
                        "buffers included)")
    for key, value in want.items():
        mis = {desc: states[key] for desc, states in wrong.items()
               if not torch.equal(states[key], value)}
        assert_close(got[key], value, exercise=ES, what=f"{key} {label}", inputs=inputs, misconceptions=mis,
                     hint=hint)


@pytest.mark.exercise("EarlyStopping")
@pytest.mark.parametrize("scenario", list(RESTORE_SCENARIOS))
def test_EarlyStopping_restore_best_weights(impl, device, dtype, scenario):
    kwargs, metrics = RESTORE_SCENARIOS[scenario]
    got = impl.run(early_stopping_restore, impl.EarlyStopping, metrics, kwargs, dtype=dtype, device=device)
    want = early_stopping_restore(ReferenceEarlyStopping, metrics, kwargs, dtype=dtype, device=device)
    call = f"EarlyStopping({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) fed {metrics} with a model"
    inputs = {"model": "Linear(4,6)-BatchNorm1d(6)-Linear(6,2)", "dtype": dtype}
    assert_true("raised" not in got, exercise=ES, inputs=inputs,
                message=f"{call}: restore(model) raised {got.get('raised')}: {got.get('message')}")
    assert_true(got["stops"] == want["stops"], exercise=ES, inputs=inputs,
                message=f"{call}: step(metric, model) returned {got['stops']}, expected {want['stops']}")
    compare_states(got["final"], want["final"], "after the last step, before restore()", {}, inputs,
                   "step() must not change the model: nothing is restored automatically")
    wrong = {"the current weights: state_dict() returns references to the live tensors, keep a copy "
             "(copy.deepcopy or clone)": want["final"],
             "the weights of the last step, not those of the best step: keep a copy only when the metric improves":
                 want["snapshots"][-1]}
    hint = "common causes: restore(model) must load the state_dict kept at the best step"
    compare_states(got["restored"], want["restored"], "after restore()", wrong, inputs, hint)
    compare_states(got["restored_again"], want["restored_again"], "after more training and a second restore()",
                   {}, inputs, "the kept copy must not change when the model trains on after restore(): "
                   "load it with load_state_dict (which copies), don't hand the kept tensors to the model")
    compare_states(got["restored_fresh"], want["restored_fresh"], "of a fresh model after restore(fresh_model)",
                   {}, inputs, hint)


@pytest.mark.exercise("EarlyStopping")
def test_EarlyStopping_without_restore_best_keeps_nothing(impl):
    kwargs, metrics = {"patience": 2, "restore_best": False}, [1.0, 2.0, 3.0]
    got = impl.run(early_stopping_restore, impl.EarlyStopping, metrics, kwargs)
    want = early_stopping_restore(ReferenceEarlyStopping, metrics, kwargs)
    assert_true(got["stops"] == want["stops"], exercise=ES,
                message=f"EarlyStopping(patience=2, restore_best=False) fed {metrics}: step() returned "
                        f"{got['stops']}, expected {want['stops']}")
    if "raised" in got:
        assert_true("RuntimeError" in got["bases"], exercise=ES,
                    message=f"restore() with nothing kept raised {got['raised']}: {got['message']}; "
                            "expected a RuntimeError (or leaving the model unchanged)")
    else:
        compare_states(got["restored"], want["after_raise"], "after restore() with restore_best=False", {}, {},
                       "with restore_best=False no state is kept, so restore() has nothing to load")


@pytest.mark.exercise("EarlyStopping")
def test_EarlyStopping_rejects_bad_arguments(impl):
    got = impl.run(early_stopping_trace, impl.EarlyStopping, [1.0, 2.0], {"patience": 1})
    assert_true([s["stop"] for s in got["steps"]] == [False, True], exercise=ES,
                message=f"EarlyStopping(patience=1) fed [1.0, 2.0]: step() returned "
                        f"{[s['stop'] for s in got['steps']]}, expected [False, True]")
    with pytest.raises(ValueError):
        impl.EarlyStopping(mode="median")
    with pytest.raises(ValueError):
        impl.EarlyStopping(patience=-1)
