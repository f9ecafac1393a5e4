"""Public tests for `initialization`: run them with `pytest -m initialization` (or `pytest -k gain`).

They check fans and gains on a few inputs, that each initialiser fills its tensor in place with
roughly the right spread, and one error case per exercise; the grader's hidden tests go further
(every nonlinearity, fan modes, conv weights, sample moments within 6 standard errors,
generators, parameters that require grad, and the activation trends through deep MLPs).
"""
import math

import pytest
import torch
from torch.nn import init as torch_init

from autograder.compare import assert_true


@pytest.mark.exercise("calculate_fan_in_and_fan_out")
@pytest.mark.parametrize("shape", [(3, 5), (8, 4, 3, 3)])
def test_fans_small(impl, shape):
    got = impl.calculate_fan_in_and_fan_out(torch.empty(shape))
    want = torch_init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert_true(tuple(got) == want, exercise="initialization.calculate_fan_in_and_fan_out",
                message=f"(fan_in, fan_out) of a {shape} weight = {tuple(got)}, expected {want} "
                        "(dim 0 is the output dimension; a conv unit sums over its whole kernel)")


@pytest.mark.exercise("calculate_fan_in_and_fan_out")
def test_fans_reject_1d(impl):
    assert_true(tuple(impl.calculate_fan_in_and_fan_out(torch.empty(2, 6))) == (6, 2),
                exercise="initialization.calculate_fan_in_and_fan_out",
                message="calculate_fan_in_and_fan_out(torch.empty(2, 6)) should be (6, 2)")
    with pytest.raises(ValueError):
        impl.calculate_fan_in_and_fan_out(torch.empty(5))


@pytest.mark.exercise("calculate_gain")
@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("relu", None), ("tanh", None),
                                                ("leaky_relu", 0.2)])
def test_gain_small(impl, nonlinearity, param):
    got = impl.calculate_gain(nonlinearity, param)
    want = torch_init.calculate_gain(nonlinearity, param)
    assert_true(isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-12),
                exercise="initialization.calculate_gain",
                message=f"calculate_gain({nonlinearity!r}, {param!r}) = {got!r}, expected {want!r}")


@pytest.mark.exercise("calculate_gain")
def test_gain_rejects_unknown_name(impl):
    assert_true(math.isclose(impl.calculate_gain("sigmoid"), 1.0), exercise="initialization.calculate_gain",
                message="calculate_gain('sigmoid') should be 1")
    with pytest.raises(ValueError):
        impl.calculate_gain("swish")


def expected_std(name, shape):
    fan_in, fan_out = torch_init._calculate_fan_in_and_fan_out(torch.empty(shape))
    if name.startswith("xavier"):
        return math.sqrt(2.0 / (fan_in + fan_out))
    return math.sqrt(2.0 / fan_in)  # kaiming defaults: a=0, fan_in, leaky_relu -> gain sqrt(2)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.exercise(n)) for n in
                                  ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]])
def test_initialiser_fills_in_place_with_the_right_std(impl, name):
    shape = (200, 300)  # 60000 samples: 3% is over 10 standard errors of the sample std (p < 1e-20)
    t = impl.inout(torch.zeros(shape))  # filled in place: the values come back
    out = getattr(impl, name)(t, generator=torch.Generator().manual_seed(0))
    exercise = f"initialization.{name}"
    assert_true(out is t, exercise=exercise, message="return the tensor you were given, filled in place")
    std = expected_std(name, shape)
    got = float(t.std())
    assert_true(abs(got / std - 1) < 0.03, exercise=exercise,
                message=f"sample std {got:.4f}, expected {std:.4f} for a {shape} weight")
    if name.endswith("uniform_"):
        assert_true(float(t.abs().max()) <= math.sqrt(3) * std * (1 + 1e-5), exercise=exercise,
                    message=f"max |w| = {float(t.abs().max()):.4f} beyond the bound sqrt(3) * std = "
                            f"{math.sqrt(3) * std:.4f}")


@pytest.mark.exercise("kaiming_normal_")
def test_kaiming_normal_rejects_unknown_mode(impl):
    t = torch.empty(4, 3)
    out = impl.kaiming_normal_(t, mode="fan_out")
    assert_true(tuple(out.shape) == (4, 3) and bool(torch.isfinite(out).all()),
                exercise="initialization.kaiming_normal_", message="kaiming_normal_ should return the tensor it filled")
    with pytest.raises(ValueError):
        impl.kaiming_normal_(torch.empty(4, 3), mode="fan_avg")


@pytest.mark.exercise("init_weights")
def test_init_weights_on_a_linear(impl):
    layer = impl.run(torch.nn.Linear, 1000, 200)
    impl.init_weights(layer)
    sd = layer.state_dict()
    assert_true(bool((sd["bias"] == 0).all()), exercise="initialization.init_weights",
                message="init_weights should zero the bias")
    std = float(sd["weight"].std())
    assert_true(abs(std / math.sqrt(2.0 / 1000) - 1) < 0.03, exercise="initialization.init_weights",
                message=f"weight std {std:.4f}, expected sqrt(2 / fan_in) = {math.sqrt(2 / 1000):.4f}")


@pytest.mark.exercise("activation_std_by_layer")
def test_activation_std_shape_and_kaiming_relu(impl):
    stds = impl.activation_std_by_layer(10, 128, "kaiming", "relu", n=256)
    assert_true(isinstance(stds, list) and len(stds) == 10, exercise="initialization.activation_std_by_layer",
                message=f"expected a list of 10 floats, got {stds!r}")
    assert_true(0.5 < stds[-1] / stds[0] < 2.0, exercise="initialization.activation_std_by_layer",
                message=f"kaiming+relu should keep the std roughly constant, got {stds}")


@pytest.mark.exercise("activation_std_by_layer")
def test_activation_std_rejects_unknown_init(impl):
    assert_true(len(impl.activation_std_by_layer(2, 8, "xavier", "tanh", n=16)) == 2,
                exercise="initialization.activation_std_by_layer", message="expected 2 values for depth 2")
    with pytest.raises(ValueError):
        impl.activation_std_by_layer(2, 8, "glorot", "relu")
