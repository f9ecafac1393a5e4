"""Public tests for `regularization`: run them with `pytest -m regularization` (or `pytest -k dropout`).

They check one small case and one error case per exercise; the grader's hidden tests go further
(drop rates for several p, gradients, generators, float64, models with frozen and shared weights,
many scripted metric sequences, restoring into a fresh model).

Dropout is random, so its output is never compared with `F.dropout`'s: the tests read the mask off the
output and check the values (0 or x / (1 - p)) and the drop rate (p within 6 standard deviations: a
correct implementation fails with probability < 2e-9).
"""
import math

import pytest
import torch

from autograder.compare import assert_close, assert_true
from autograder.fixtures.regularization import early_stopping_restore, early_stopping_trace, l2_penalty_and_grads

DROPOUT = "regularization.dropout"
MODULE = "regularization.Dropout"
L2 = "regularization.l2_penalty"
ES = "regularization.EarlyStopping"


def check_dropout_of_ones(y, p, exercise):
    """y = dropout(ones(n), p): every value 0 or 1/(1-p), and about a fraction p of zeros."""
    n = y.numel()
    kept = y != 0
    assert_close(y, torch.where(kept, 1.0 / (1 - p), 0.0), exercise=exercise, inputs={"x": "ones", "p": p},
                 misconceptions={"dropout without rescaling the kept units by 1/(1-p)": kept.float()},
                 hint="common causes: kept values not x / (1 - p), or dropped ones not exactly 0")
    dropped = float((~kept).double().mean())
    bound = 6 * math.sqrt(p * (1 - p) / n)  # 6 sigma
    assert_true(abs(dropped - p) <= bound, exercise=exercise, inputs={"x": "ones", "p": p},
                message=f"{dropped:.4f} of the {n} outputs are zero, expected p = {p} ± {bound:.4f}: each element "
                        "is dropped with probability p (the keep probability is 1 - p)")


@pytest.mark.exercise("dropout")
def test_dropout_values_and_drop_rate(impl):
    x = torch.ones(100_000)
    y = impl.dropout(x, 0.2, generator=torch.Generator().manual_seed(0))
    check_dropout_of_ones(y, 0.2, DROPOUT)


@pytest.mark.exercise("dropout")
def test_dropout_identity_when_not_training(impl):
    x = torch.randn(3, 4)
    assert_close(impl.dropout(x, 0.3, training=False), x, exercise=DROPOUT, inputs={"x": x, "training": False},
                 hint="common causes: a mask or scaling applied with training=False")


@pytest.mark.exercise("dropout")
def test_dropout_rejects_bad_p(impl):
    x = torch.ones(1000)
    check_dropout_of_ones(impl.dropout(x, 0.25), 0.25, DROPOUT)
    with pytest.raises(ValueError):
        impl.dropout(x, 1.5)


@pytest.mark.exercise("Dropout")
def test_Dropout_train_and_eval(impl):
    module = impl.Dropout(0.3)
    x = torch.ones(100_000)
    check_dropout_of_ones(module(x), 0.3, MODULE)
    module.eval()
    assert_close(module(x), x, exercise=MODULE, what="output in eval mode", inputs={"x": x},
                 hint="common causes: self.training not read at call time (eval mode is the identity)")


@pytest.mark.exercise("Dropout")
def test_Dropout_rejects_bad_p(impl):
    x = torch.ones(1000)
    check_dropout_of_ones(impl.Dropout(0.5)(x), 0.5, MODULE)
    with pytest.raises(ValueError):
        impl.Dropout(-0.2)


@pytest.mark.exercise("l2_penalty")
def test_l2_penalty_of_a_linear_layer(impl):
    layer = impl.run(torch.nn.Linear, 4, 3)
    weight, bias = layer.weight, layer.bias  # copies of the layer's parameters
    penalty = impl.l2_penalty(layer, 0.1)
    assert_close(penalty, 0.1 * weight.detach().pow(2).sum(), exercise=L2, inputs={"weight": weight, "bias": bias},
                 misconceptions={"the penalty with the bias included (include_bias defaults to False)":
                                 0.1 * (weight.detach().pow(2).sum() + bias.detach().pow(2).sum())})


@pytest.mark.exercise("l2_penalty")
def test_l2_penalty_gradient_is_2_lambda_w(impl):
    got = impl.run(l2_penalty_and_grads, impl.l2_penalty, "mlp", 0.5)
    for name, weight in got["weights"].items():
        expected = 2 * 0.5 * weight if weight.dim() > 1 else torch.zeros_like(weight)
        assert_close(got["grads"].get(name), expected, exercise=L2, what=f"gradient w.r.t. {name}",
                     inputs={"model": "Linear(4, 6)-Tanh-Linear(6, 3)", "weight_decay": 0.5},
                     hint="common causes: a penalty not differentiable as λ Σ w² (gradient 2λw on weight matrices, 0 "
                          "on biases)")


@pytest.mark.exercise("l2_penalty")
def test_l2_penalty_rejects_negative_weight_decay(impl):
    layer = impl.run(torch.nn.Linear, 2, 2)
    assert_close(impl.l2_penalty(layer, 1.0), layer.weight.detach().pow(2).sum(), exercise=L2)
    with pytest.raises(ValueError):
        impl.l2_penalty(layer, -1.0)


def stops(trace):
    return [s["stop"] for s in trace["steps"]]


@pytest.mark.exercise("EarlyStopping")
def test_EarlyStopping_min_mode(impl):
    got = impl.run(early_stopping_trace, impl.EarlyStopping, [1.0, 0.8, 0.9, 0.85], {"patience": 2})
    last = got["steps"][-1]
    assert_true(stops(got) == [False, False, False, True], exercise=ES,
                message=f"EarlyStopping(patience=2) fed 1.0, 0.8, 0.9, 0.85: step() returned {stops(got)}, "
                        "expected [False, False, False, True] (two steps in a row without a lower loss)")
    assert_true((last["best"], last["best_step"], last["counter"]) == (0.8, 1, 2), exercise=ES,
                message=f"after the last step best={last['best']}, best_step={last['best_step']}, "
                        f"counter={last['counter']}; expected best=0.8, best_step=1 (0-based), counter=2")


@pytest.mark.exercise("EarlyStopping")
def test_EarlyStopping_max_mode_with_min_delta(impl):
    metrics = [0.5, 0.6, 0.62, 0.7, 0.69, 0.72]
    got = impl.run(early_stopping_trace, impl.EarlyStopping, metrics, {"mode": "max", "patience": 2, "min_delta": 0.05})
    last = got["steps"][-1]
    assert_true(stops(got) == [False, False, False, False, False, True], exercise=ES,
                message=f"EarlyStopping(mode='max', patience=2, min_delta=0.05) fed {metrics}: step() returned "
                        f"{stops(got)}, expected [False, False, False, False, False, True] "
                        "(improvement means metric > best + min_delta)")
    assert_true((last["best"], last["best_step"]) == (0.7, 3), exercise=ES,
                message=f"best={last['best']}, best_step={last['best_step']}; expected best=0.7, best_step=3")


@pytest.mark.exercise("EarlyStopping")
def test_EarlyStopping_restore(impl):
    got = impl.run(early_stopping_restore, impl.EarlyStopping, [1.0, 0.6, 0.8, 0.7, 0.9], {"patience": 3})
    assert_true("raised" not in got, exercise=ES, message=f"restore raised {got.get('raised')}: {got.get('message')}")
    for key, value in got["snapshots"][1].items():
        assert_close(got["restored"][key], value, exercise=ES, what=f"{key} after restore()",
                     hint="common causes: the state_dict kept without a copy, or kept at a step other than the best "
                          "(step 1)")


@pytest.mark.exercise("EarlyStopping")
def test_EarlyStopping_rejects_unknown_mode(impl):
    got = impl.run(early_stopping_trace, impl.EarlyStopping, [1.0, 2.0], {"patience": 1})
    assert_true(stops(got) == [False, True], exercise=ES,
                message=f"EarlyStopping(patience=1) fed 1.0, 2.0: step() returned {stops(got)}, expected [False, True]")
    with pytest.raises(ValueError):
        impl.EarlyStopping(mode="median")
