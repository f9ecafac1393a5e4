"""Public tests for `optimizers`: run them with `pytest -m optimizers` (or `pytest -k Adam`).

Each optimizer test trains a small seeded problem from `autograder.fixtures.optimizers` for a few
steps with your class and with `torch.optim`'s, and compares the parameters after every step
(`trajectory(...)["params"][name]` has one row per step, row 0 = the initial values). The grader's
hidden tests go further: more steps, other hyper-parameters, parameter groups, parameters without
gradients, state_dict resume.
"""
import pytest
import torch

from autograder.compare import assert_close, assert_true
from autograder.fixtures.optimizers import epochs, reference_minibatches, trajectory

# Adam/AdamW: torch computes the bias corrections 1 - beta^t in double precision; a float32 `step`
# tensor used directly loses a few digits there, so trajectories are compared to 1e-4.
ADAM_TOL = {"rtol": 1e-4, "atol": 1e-4}


def compare(got, want, exercise, inputs, **tol):
    for name in want["params"]:
        assert_close(got["params"][name], want["params"][name], exercise=exercise, inputs=inputs,
                     what=f"trajectory of parameter '{name}' (row t: after t steps)", **tol)


@pytest.mark.exercise("SGD")
def test_sgd_one_plain_step(impl):
    got = impl.run(trajectory, impl.SGD, "quadratic", 1, lr=0.01)
    want = trajectory(torch.optim.SGD, "quadratic", 1, lr=0.01, foreach=False)
    compare(got, want, "optimizers.SGD", {"problem": "quadratic", "lr": 0.01})


@pytest.mark.exercise("SGD")
@pytest.mark.parametrize("hyper", [dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                   dict(momentum=0.9, dampening=0.5, weight_decay=0.1)])
def test_sgd_momentum_matches_torch(impl, hyper):
    got = impl.run(trajectory, impl.SGD, "mlp", 10, lr=0.1, **hyper)
    want = trajectory(torch.optim.SGD, "mlp", 10, lr=0.1, foreach=False, **hyper)
    compare(got, want, "optimizers.SGD", {"problem": "mlp", "lr": 0.1, **hyper})


@pytest.mark.exercise("SGD")
def test_sgd_rejects_negative_lr(impl):
    got = impl.run(trajectory, impl.SGD, "quadratic", 2, lr=0.01, momentum=0.5)
    want = trajectory(torch.optim.SGD, "quadratic", 2, lr=0.01, momentum=0.5, foreach=False)
    compare(got, want, "optimizers.SGD", {"problem": "quadratic", "lr": 0.01, "momentum": 0.5})
    with pytest.raises(ValueError):
        impl.SGD([torch.zeros(3, requires_grad=True)], lr=-0.1)


@pytest.mark.exercise("Adam")
def test_adam_first_step_is_lr_times_sign_of_gradient(impl):
    # Thanks to the bias corrections, Adam's first step is lr * g / (|g| + eps) ~ lr * sign(g).
    got = impl.run(trajectory, impl.Adam, "quadratic", 1, lr=0.1)
    for name in ("w", "M"):
        p0, p1 = got["params"][name][0], got["params"][name][1]
        params_sign = torch.sign(p0 - p1)  # the direction of the gradient
        assert_close(p0 - p1, 0.1 * params_sign, exercise="optimizers.Adam", what=f"first step of '{name}'",
                     hint="common causes: the bias corrections 1 - beta^t missing or with the wrong t", **ADAM_TOL)
    assert_true(torch.equal(got["params"]["u"][0], got["params"]["u"][1]), exercise="optimizers.Adam",
                message="parameter 'u' has no gradient (grad is None) and must not move")


@pytest.mark.exercise("Adam")
@pytest.mark.parametrize("hyper", [dict(lr=0.05), dict(lr=0.05, eps=1e-2, weight_decay=0.1),
                                   dict(lr=0.05, amsgrad=True)])
def test_adam_matches_torch(impl, hyper):
    got = impl.run(trajectory, impl.Adam, "mlp", 10, **hyper)
    want = trajectory(torch.optim.Adam, "mlp", 10, foreach=False, **hyper)
    compare(got, want, "optimizers.Adam", {"problem": "mlp", **hyper}, **ADAM_TOL)


@pytest.mark.exercise("Adam")
def test_adam_rejects_beta_of_one(impl):
    got = impl.run(trajectory, impl.Adam, "mlp", 2, lr=0.05)
    want = trajectory(torch.optim.Adam, "mlp", 2, lr=0.05, foreach=False)
    compare(got, want, "optimizers.Adam", {"problem": "mlp", "lr": 0.05}, **ADAM_TOL)
    with pytest.raises(ValueError):
        impl.Adam([torch.zeros(3, requires_grad=True)], betas=(1.0, 0.999))


@pytest.mark.exercise("AdamW")
@pytest.mark.parametrize("hyper", [dict(lr=0.05, weight_decay=0.5), dict(lr=0.05, amsgrad=True)])
def test_adamw_matches_torch(impl, hyper):
    got = impl.run(trajectory, impl.AdamW, "mlp", 10, **hyper)
    want = trajectory(torch.optim.AdamW, "mlp", 10, foreach=False, **hyper)
    compare(got, want, "optimizers.AdamW", {"problem": "mlp", **hyper}, **ADAM_TOL)


@pytest.mark.exercise("AdamW")
def test_adamw_rejects_negative_weight_decay(impl):
    got = impl.run(trajectory, impl.AdamW, "quadratic", 2, lr=0.05)
    want = trajectory(torch.optim.AdamW, "quadratic", 2, lr=0.05, foreach=False)
    compare(got, want, "optimizers.AdamW", {"problem": "quadratic", "lr": 0.05}, **ADAM_TOL)
    with pytest.raises(ValueError):
        impl.AdamW([torch.zeros(3, requires_grad=True)], weight_decay=-0.1)


@pytest.mark.exercise("minibatches")
def test_minibatches_sizes_and_coverage(impl):
    batches = list(impl.minibatches(10, 3, generator=torch.Generator().manual_seed(0)))
    sizes = [len(b) for b in batches]
    assert_true(sizes == [3, 3, 3, 1], exercise="optimizers.minibatches", inputs={"n": 10, "batch_size": 3},
                message=f"batch sizes {sizes}, expected [3, 3, 3, 1] (drop_last=False keeps the short last batch)")
    assert_true(all(b.dtype == torch.int64 for b in batches), exercise="optimizers.minibatches",
                message="batches must be int64 (LongTensor) index tensors")
    assert_close(torch.cat(batches).sort().values, torch.arange(10), exercise="optimizers.minibatches",
                 what="sorted indices of one epoch (every index exactly once)")


@pytest.mark.exercise("minibatches")
def test_minibatches_match_randperm(impl):
    got = impl.run(epochs, impl.minibatches, 20, 7, count=2, seed=0, drop_last=True)
    want = epochs(reference_minibatches, 20, 7, count=2, seed=0, drop_last=True)
    for e in range(2):
        assert_true(len(got[e]) == 2, exercise="optimizers.minibatches",
                    message=f"expected 2 batches with drop_last=True, got {len(got[e])}")
        for b, w in zip(got[e], want[e]):
            assert_close(b, w, exercise="optimizers.minibatches", what=f"batch of epoch {e}",
                         inputs={"n": 20, "batch_size": 7, "drop_last": True},
                         hint="common causes: an order other than torch.randperm(n, generator=generator), sliced")


@pytest.mark.exercise("minibatches")
def test_minibatches_rejects_zero_batch_size(impl):
    assert_true(len(list(impl.minibatches(4, 2, shuffle=False))) == 2, exercise="optimizers.minibatches",
                message="minibatches(4, 2) should give 2 batches")
    with pytest.raises(ValueError):
        list(impl.minibatches(4, 0))
