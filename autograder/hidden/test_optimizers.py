"""Hidden tests for `optimizers`: whole trajectories against `torch.optim`, state, resume, minibatches.

Every optimizer test trains one of the seeded problems of `autograder.fixtures.optimizers`
(a quadratic whose curvatures span 1e-3 … 1e2, with a parameter the loss never touches, and
a small tanh MLP) with the submission's class next to it (`impl.run(trajectory, impl.Adam, ...)`)
and with torch's (`foreach=False`, the single-tensor reference path), for tens of steps: several
wrong rules give the same first step (state reset, a global step counter, decay after the momentum,
AMSGrad of the wrong quantity) and only differ later. Hyper-parameters are picked so each classic
mistake shows: dampening > 0, Nesterov, eps = 1e-2, AMSGrad with shrinking gradients, weight decay
with momentum, parameters that start or stop getting gradients mid-run, state_dict resume, torch's
own state_dict loaded into the submission.

When a run fails, its trajectory is also compared with those of known-wrong update rules (run here,
by `Wrong` below or by torch itself with another option) so the message can name the mistake.
"""
import functools
import math

import pytest
import torch

from autograder.compare import assert_close, assert_true
from autograder.fixtures.optimizers import (drawn_at_call_time, epochs, reference_minibatches, trajectory,
                                            with_global_seed)

SGD = "optimizers.SGD"
ADAM = "optimizers.Adam"
ADAMW = "optimizers.AdamW"
MINI = "optimizers.minibatches"

# Adam/AdamW trajectories are compared with rtol = atol = 1e-4 rather than the dtype table: torch
# computes the bias corrections 1 - β^t in double from `state["step"].item()`, while an implementation
# that keeps `step` as the documented float32 tensor and writes `1 - beta2 ** state["step"]` gets them in
# float32 (1 - 0.999^t loses ~5 digits to cancellation) and drifts by up to ~2e-5 over 60 steps, in
# float32 and float64 alike. Every mistake these tests target moves the parameters by more than 1e-3.
ADAM_TOL = {"rtol": 1e-4, "atol": 1e-4}


def reference(name, *args, **kwargs):
    """torch's optimizer `name` on the same problem (single-tensor path: the exact CPU reference)."""
    return trajectory(getattr(torch.optim, name), *args, foreach=False, **kwargs)


def check_run(got, want, exercise, inputs, misconceptions=None, hint=None, tol=None, names=None):
    """Compare two `trajectory` results parameter by parameter (row t of each is after t steps).

    `misconceptions` ({description: trajectory}, or a function returning one) is only evaluated when a
    comparison fails, so passing runs cost nothing extra.
    """
    tol = tol or {}
    for name in names or want["params"]:
        what = f"trajectory of parameter '{name}' (row t: after t steps)"
        try:
            assert_close(got["params"][name], want["params"][name], exercise=exercise, what=what, inputs=inputs,
                         hint=hint, **tol)
            continue
        except AssertionError:
            pass
        # It failed: compare again, now naming the known mistake this trajectory equals (if any).
        runs = misconceptions() if callable(misconceptions) else (misconceptions or {})
        wrong = {desc: run["params"][name] for desc, run in runs.items()}
        assert_close(got["params"][name], want["params"][name], exercise=exercise, what=what, inputs=inputs,
                     misconceptions=wrong, hint=hint, **tol)
    changed = got.get("grad_changed")
    assert_true(not changed, exercise=exercise, inputs=inputs,
                message=f"step() changed p.grad in place (at (step, parameter) {(changed or [])[:4]}): "
                        "torch leaves .grad as backward() left it; compute grad + weight_decay * p as a new tensor")


def lost_state_run(name, problem, steps, resume_at, **kwargs):
    """torch's run when the optimizer state is lost at `resume_at` (a fresh optimizer, same parameters)."""
    first = reference(name, problem, resume_at, **kwargs)
    start = {n: v[-1] for n, v in first["params"].items()}
    if "no_grad" in kwargs:  # the second run counts its steps from 0
        kwargs = {**kwargs, "no_grad": {n: [i - resume_at for i in v if i >= resume_at]
                                        for n, v in kwargs["no_grad"].items()}}
    second = reference(name, problem, steps - resume_at, start=start, **kwargs)
    return {"params": {n: torch.cat([first["params"][n], second["params"][n][1:]]) for n in first["params"]}}


def check_returned_loss(got, want, exercise, tol=None):
    returned = got["returned"]
    assert_true(all(isinstance(v, float) for v in returned), exercise=exercise,
                message=f"step(closure) must return the closure's loss, got {returned[:3]}")
    assert_close(torch.tensor(returned, dtype=torch.float64), torch.tensor(want["returned"], dtype=torch.float64),
                 exercise=exercise, what="value returned by step(closure) (the closure's loss)", **(tol or {}))


def state_value(value):
    return float(value) if not isinstance(value, torch.Tensor) or value.numel() == 1 else value


class Wrong(torch.optim.Optimizer):
    """Known-wrong update rules (one `mistake` each), run by the tests only, to name a mistake in the feedback.

    algo: "sgd", "adam" or "adamw"; mistake: one of the strings tested in `step`.
    """

    def __init__(self, params, algo, mistake, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False,
                 betas=(0.9, 0.999), eps=1e-8, weight_decay=None, amsgrad=False):
        if weight_decay is None:
            weight_decay = 1e-2 if algo == "adamw" else 0.0
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))
        self.algo, self.mistake, self.calls = algo, mistake, 0

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.calls += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None and self.mistake != "none_grad_as_zero":
                    continue
                grad = p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                (self._sgd if self.algo == "sgd" else self._adam)(p, grad, group, self.state[p])
        return loss

    def _sgd(self, p, g, group, state):
        mu, tau, wd = group["momentum"], group["dampening"], group["weight_decay"]
        if self.mistake != "decay_after_momentum":
            g = g + wd * p
        if mu:
            if "buf" not in state:
                state["buf"] = torch.zeros_like(p) if self.mistake == "buffer_zeros" else g.clone()
                if self.mistake == "buffer_zeros":
                    state["buf"] = mu * state["buf"] + (1 - tau) * g
            else:
                state["buf"] = mu * state["buf"] + (1 - tau) * g
            g = g + mu * state["buf"] if group["nesterov"] else state["buf"]
        if self.mistake == "decay_after_momentum":
            g = g + wd * p
        p.sub_(group["lr"] * g)

    def _adam(self, p, g, group, state):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state or self.mistake == "state_reset":
            state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p), vmax=torch.zeros_like(p))
        state["step"] += 1
        t = self.calls if self.mistake == "global_step" else state["step"]
        if self.algo == "adamw":
            p.mul_(1 - (wd if self.mistake == "decay_without_lr" else lr * wd))
        else:
            g = g + wd * p
        state["m"] = b1 * state["m"] + (1 - b1) * g
        state["v"] = b2 * state["v"] + (1 - b2) * g * g
        bc1, bc2 = (1.0, 1.0) if self.mistake == "no_bias_correction" else (1 - b1**t, 1 - b2**t)
        if group["amsgrad"] and self.mistake == "amsgrad_bias_corrected":
            state["vmax"] = torch.maximum(state["vmax"], state["v"] / bc2)
            v_hat = state["vmax"]
        elif group["amsgrad"]:
            state["vmax"] = torch.maximum(state["vmax"], state["v"])
            v_hat = state["vmax"] / bc2
        else:
            v_hat = state["v"] / bc2
        denom = (v_hat + eps).sqrt() if self.mistake == "eps_inside_sqrt" else v_hat.sqrt() + eps
        p.sub_(lr / bc1 * state["m"] / denom)


def wrong(algo, mistake):
    return functools.partial(Wrong, algo=algo, mistake=mistake)


def wrong_runs(cases, problem, steps, **kwargs):
    """{description: trajectory} for each (description, optimizer class) in `cases`."""
    return {desc: trajectory(cls, problem, steps, **kwargs) for desc, cls in cases}


SGD_ZERO_BUFFER = "SGD with the momentum buffer started at zeros (the first step sets it to the undamped gradient)"
SGD_DECAY_AFTER = "SGD with weight_decay * p added after the momentum buffer (it goes into the gradient first)"
SGD_PLAIN_MOMENTUM = "plain momentum: with nesterov=True the step is g + momentum * buf, not buf"
ADAM_NO_BIAS = "Adam without the bias corrections 1 - beta1^t and 1 - beta2^t"
ADAM_EPS_INSIDE = "Adam with eps inside the square root (it is added to sqrt(v_hat))"
ADAM_DECOUPLED = "AdamW's decoupled decay (Adam adds the L2 term weight_decay * p to the gradient)"
ADAM_AMSGRAD = ("AMSGrad keeping the max of the bias-corrected v_hat (torch keeps the max of the raw exp_avg_sq "
                "and bias-corrects it afterwards)")
ADAM_RESET = "Adam whose state is re-created on every step (every step behaves like step 1)"
ADAM_GLOBAL_STEP = ("a step counter shared by all parameters (each parameter counts its own steps in "
                    "state['step'], from its first gradient)")
ADAM_NONE_AS_ZERO = "a missing gradient (grad is None) treated as zeros (such parameters must be skipped)"
ADAMW_NO_LR = "AdamW decaying by 1 - weight_decay instead of 1 - lr * weight_decay"
ADAMW_L2 = "Adam's L2 decay added to the gradient (AdamW must shrink the weights directly: decoupled decay)"
LOST_STATE = ("a run whose optimizer state was lost at the resume: state_dict() must carry it "
              "(keep per-parameter state in self.state[p])")

SPLIT_GROUPS = {"quadratic": (["w"], ["M", "u"]), "mlp": (["W1", "b1"], ["W2", "b2"])}


# =========================================================================== SGD

SGD_CONFIGS = {
    "plain": dict(),
    "momentum": dict(momentum=0.9),
    "dampening": dict(momentum=0.9, dampening=0.5),
    "momentum-decay": dict(momentum=0.9, weight_decay=0.1),
    "nesterov": dict(momentum=0.9, nesterov=True, weight_decay=0.01),
    "decay-only": dict(weight_decay=0.2),
}
SGD_LR = {"quadratic": 0.01, "mlp": 0.1}  # below 2 / (largest curvature) on the quadratic


def sgd_misconceptions(problem, steps, hyper):
    cases = []
    if hyper.get("momentum") and hyper.get("dampening"):
        cases.append((SGD_ZERO_BUFFER, wrong("sgd", "buffer_zeros")))
    if hyper.get("momentum") and hyper.get("weight_decay"):
        cases.append((SGD_DECAY_AFTER, wrong("sgd", "decay_after_momentum")))
    runs = wrong_runs(cases, problem, steps, **hyper)
    if hyper.get("nesterov"):
        runs[SGD_PLAIN_MOMENTUM] = reference("SGD", problem, steps, **{**hyper, "nesterov": False})
    return runs


@pytest.mark.exercise("SGD")
@pytest.mark.parametrize("problem", ["quadratic", "mlp"])
@pytest.mark.parametrize("config", list(SGD_CONFIGS))
def test_sgd_trajectory(impl, device, problem, config):
    hyper = dict(lr=SGD_LR[problem], **SGD_CONFIGS[config])
    steps = 60
    got = impl.run(trajectory, impl.SGD, problem, steps, device=device, **hyper)
    want = reference("SGD", problem, steps, device=device, **hyper)
    check_run(got, want, SGD, {"problem": problem, "steps": steps, **hyper},
              lambda: sgd_misconceptions(problem, steps, dict(device=device, **hyper)))


@pytest.mark.exercise("SGD")
def test_sgd_float32_and_float64(impl, device, dtype):
    hyper = dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05)
    got = impl.run(trajectory, impl.SGD, "mlp", 30, dtype=dtype, device=device, **hyper)
    want = reference("SGD", "mlp", 30, dtype=dtype, device=device, **hyper)
    check_run(got, want, SGD, {"problem": "mlp", "dtype": dtype, **hyper})


@pytest.mark.exercise("SGD")
def test_sgd_default_hyperparameters(impl):
    got = impl.run(trajectory, impl.SGD, "quadratic", 30)
    want = reference("SGD", "quadratic", 30)
    check_run(got, want, SGD, {"problem": "quadratic", "hyper-parameters": "defaults"},
              hint="common causes: defaults other than torch.optim.SGD's (lr=1e-3, momentum=0, dampening=0, "
                   "weight_decay=0, nesterov=False)")


@pytest.mark.exercise("SGD")
@pytest.mark.parametrize("problem", ["quadratic", "mlp"])
def test_sgd_param_groups(impl, problem):
    first, second = SPLIT_GROUPS[problem]
    groups = [{"params": first, "lr": 0.005, "momentum": 0.9, "dampening": 0.2},
              {"params": second, "momentum": 0.5, "nesterov": True, "weight_decay": 0.05}]
    hyper = dict(lr=SGD_LR[problem], weight_decay=0.01)
    got = impl.run(trajectory, impl.SGD, problem, 40, groups=groups, **hyper)
    want = reference("SGD", problem, 40, groups=groups, **hyper)
    check_run(got, want, SGD, {"problem": problem, "groups": groups, **hyper},
              hint="common causes: lr, momentum, ... not read from each param_group (groups override the "
                   "constructor's defaults)")


@pytest.mark.exercise("SGD")
def test_sgd_skips_parameters_without_gradient(impl):
    # u never gets a gradient; w stops getting one after step 8; M gets its first at step 5.
    no_grad = {"w": list(range(8, 30)), "M": list(range(5))}
    hyper = dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.1)
    got = impl.run(trajectory, impl.SGD, "quadratic", 30, no_grad=no_grad, **hyper)
    want = reference("SGD", "quadratic", 30, no_grad=no_grad, **hyper)
    check_run(got, want, SGD, {"problem": "quadratic", "no_grad": no_grad, **hyper},
              hint="common causes: a parameter whose .grad is None still updated (it is skipped entirely: no decay, "
                   "no momentum step)")
    assert_true(sorted(got["state"]) == sorted(want["state"]), exercise=SGD,
                message=f"state exists for parameters {sorted(got['state'])}, torch has it for "
                        f"{sorted(want['state'])}: state is created on a parameter's first gradient")


@pytest.mark.exercise("SGD")
def test_sgd_leaves_grad_unchanged(impl):
    # check_run also checks that step() left p.grad as backward() made it (as it does after every run).
    hyper = dict(lr=0.05, momentum=0.9, weight_decay=0.1)
    got = impl.run(trajectory, impl.SGD, "mlp", 5, **hyper)
    want = reference("SGD", "mlp", 5, **hyper)
    check_run(got, want, SGD, {"problem": "mlp", **hyper})


@pytest.mark.exercise("SGD")
@pytest.mark.parametrize("config", ["momentum-decay", "nesterov", "dampening"])
def test_sgd_state_dict_resume(impl, config):
    hyper = dict(lr=0.1, **SGD_CONFIGS[config])
    got = impl.run(trajectory, impl.SGD, "mlp", 30, resume_at=7, **hyper)
    want = reference("SGD", "mlp", 30, **hyper)
    check_run(got, want, SGD, {"problem": "mlp", "resume_at": 7, **hyper},
              lambda: {LOST_STATE: lost_state_run("SGD", "mlp", 30, 7, **hyper)})


@pytest.mark.exercise("SGD")
def test_sgd_resume_with_param_groups(impl):
    groups = [{"params": ["W1", "b1"], "lr": 0.05, "momentum": 0.9},
              {"params": ["W2", "b2"], "momentum": 0.7, "dampening": 0.4}]
    got = impl.run(trajectory, impl.SGD, "mlp", 25, groups=groups, resume_at=10, lr=0.1)
    want = reference("SGD", "mlp", 25, groups=groups, lr=0.1)
    check_run(got, want, SGD, {"problem": "mlp", "groups": groups, "resume_at": 10},
              lambda: {LOST_STATE: lost_state_run("SGD", "mlp", 25, 10, groups=groups, lr=0.1)})


@pytest.mark.exercise("SGD")
def test_sgd_loads_torch_state_dict(impl):
    hyper = dict(lr=0.1, momentum=0.9, dampening=0.25, weight_decay=0.02)
    want = reference("SGD", "mlp", 25, **hyper)
    head = reference("SGD", "mlp", 10, **hyper)
    start = {n: v[-1] for n, v in head["params"].items()}
    got = impl.run(trajectory, impl.SGD, "mlp", 15, start=start, load_state=head["state_dict"], **hyper)
    tail = {"params": {n: v[10:] for n, v in want["params"].items()}}
    check_run(got, tail, SGD, {"problem": "mlp", "loaded": "torch.optim.SGD's state_dict after 10 steps", **hyper},
              hint="common causes: the momentum buffer kept elsewhere than self.state[p]['momentum_buffer']")


@pytest.mark.exercise("SGD")
def test_sgd_state_matches_torch(impl):
    hyper = dict(lr=0.1, momentum=0.9, dampening=0.3, nesterov=False, weight_decay=0.01)
    got = impl.run(trajectory, impl.SGD, "mlp", 12, **hyper)
    want = reference("SGD", "mlp", 12, **hyper)
    for name, state in want["state"].items():
        theirs = got["state"].get(name, {})
        assert_true("momentum_buffer" in theirs, exercise=SGD,
                    message=f"self.state[p] of parameter '{name}' has keys {sorted(theirs)}; "
                            "expected 'momentum_buffer' (torch's key)")
        assert_close(theirs["momentum_buffer"], state["momentum_buffer"], exercise=SGD,
                     what=f"state['momentum_buffer'] of '{name}' after 12 steps", inputs=hyper)


@pytest.mark.exercise("SGD")
def test_sgd_step_with_closure(impl):
    hyper = dict(lr=0.05, momentum=0.9, nesterov=True)
    got = impl.run(trajectory, impl.SGD, "mlp", 10, use_closure=True, **hyper)
    want = reference("SGD", "mlp", 10, use_closure=True, **hyper)
    check_run(got, want, SGD, {"problem": "mlp", "closure": True, **hyper},
              hint="common causes: step(closure) not calling the closure (with grad enabled) before updating")
    check_returned_loss(got, want, SGD)


@pytest.mark.exercise("SGD")
@pytest.mark.parametrize("bad", [dict(lr=-0.1), dict(momentum=-0.5), dict(weight_decay=-1e-4),
                                 dict(nesterov=True), dict(momentum=0.9, dampening=0.1, nesterov=True)])
def test_sgd_rejects_invalid_hyperparameters(impl, bad):
    hyper = dict(lr=0.05, momentum=0.5)
    got = impl.run(trajectory, impl.SGD, "mlp", 3, **hyper)
    check_run(got, reference("SGD", "mlp", 3, **hyper), SGD, {"problem": "mlp", **hyper})
    with pytest.raises(ValueError):
        impl.SGD([torch.zeros(3, dtype=torch.float64, requires_grad=True)], **{"lr": 0.1, **bad})


# =========================================================================== Adam

ADAM_CONFIGS = {
    "default-betas": dict(lr=0.05),
    "large-eps": dict(lr=0.05, eps=1e-2),
    "amsgrad": dict(lr=0.05, amsgrad=True),
    "l2": dict(lr=0.05, weight_decay=0.1),
    "everything": dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.05, amsgrad=True),
}


def adam_misconceptions(algo, problem, steps, hyper, **kwargs):
    mistakes = [(ADAM_NO_BIAS, "no_bias_correction"), (ADAM_EPS_INSIDE, "eps_inside_sqrt"),
                (ADAM_RESET, "state_reset")]
    if hyper.get("amsgrad"):
        mistakes.append((ADAM_AMSGRAD, "amsgrad_bias_corrected"))
    if algo == "adamw":
        mistakes.append((ADAMW_NO_LR, "decay_without_lr"))
    runs = wrong_runs([(d, wrong(algo, m)) for d, m in mistakes], problem, steps, **hyper, **kwargs)
    if algo == "adam" and hyper.get("weight_decay"):
        runs[ADAM_DECOUPLED] = reference("AdamW", problem, steps, **hyper, **kwargs)
    if algo == "adamw":
        runs[ADAMW_L2] = reference("Adam", problem, steps, **{"weight_decay": 1e-2, **hyper}, **kwargs)
    return runs


@pytest.mark.exercise("Adam")
@pytest.mark.parametrize("problem", ["quadratic", "mlp"])
@pytest.mark.parametrize("config", list(ADAM_CONFIGS))
def test_adam_trajectory(impl, device, problem, config):
    hyper, steps = ADAM_CONFIGS[config], 60
    got = impl.run(trajectory, impl.Adam, problem, steps, device=device, **hyper)
    want = reference("Adam", problem, steps, device=device, **hyper)
    check_run(got, want, ADAM, {"problem": problem, "steps": steps, **hyper},
              lambda: adam_misconceptions("adam", problem, steps, hyper, device=device), tol=ADAM_TOL)


@pytest.mark.exercise("Adam")
def test_adam_float32_and_float64(impl, device, dtype):
    hyper = dict(lr=0.05, betas=(0.85, 0.98), eps=1e-4, weight_decay=0.02, amsgrad=True)
    got = impl.run(trajectory, impl.Adam, "mlp", 30, dtype=dtype, device=device, **hyper)
    want = reference("Adam", "mlp", 30, dtype=dtype, device=device, **hyper)
    check_run(got, want, ADAM, {"problem": "mlp", "dtype": dtype, **hyper}, tol=ADAM_TOL)


@pytest.mark.exercise("Adam")
def test_adam_default_hyperparameters(impl):
    got = impl.run(trajectory, impl.Adam, "quadratic", 40)
    want = reference("Adam", "quadratic", 40)
    check_run(got, want, ADAM, {"problem": "quadratic", "hyper-parameters": "defaults"},
              lambda: adam_misconceptions("adam", "quadratic", 40, {}), tol=ADAM_TOL,
              hint="common causes: defaults other than torch.optim.Adam's (lr=1e-3, betas=(0.9, 0.999), eps=1e-8, "
                   "weight_decay=0)")


@pytest.mark.exercise("Adam")
@pytest.mark.parametrize("problem", ["quadratic", "mlp"])
def test_adam_param_groups(impl, problem):
    first, second = SPLIT_GROUPS[problem]
    groups = [{"params": first, "lr": 0.01, "betas": (0.5, 0.9), "amsgrad": True},
              {"params": second, "eps": 1e-2, "weight_decay": 0.2}]
    hyper = dict(lr=0.05, weight_decay=0.01)
    got = impl.run(trajectory, impl.Adam, problem, 40, groups=groups, **hyper)
    want = reference("Adam", problem, 40, groups=groups, **hyper)
    check_run(got, want, ADAM, {"problem": problem, "groups": groups, **hyper}, tol=ADAM_TOL,
              hint="common causes: lr, betas, eps, weight_decay or amsgrad not read from each param_group")


def missing_grad_misconceptions(algo, problem, steps, **kwargs):
    cases = [(ADAM_GLOBAL_STEP, wrong(algo, "global_step")), (ADAM_NONE_AS_ZERO, wrong(algo, "none_grad_as_zero"))]
    return wrong_runs(cases, problem, steps, **kwargs)


@pytest.mark.exercise("Adam")
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_skips_parameters_without_gradient(impl, amsgrad):
    # u never gets a gradient; w stops getting one after step 10; M gets its first at step 5, so its
    # bias corrections must start at t = 1 then.
    no_grad = {"w": list(range(10, 40)), "M": list(range(5))}
    hyper = dict(lr=0.05, weight_decay=0.1, amsgrad=amsgrad)
    got = impl.run(trajectory, impl.Adam, "quadratic", 40, no_grad=no_grad, **hyper)
    want = reference("Adam", "quadratic", 40, no_grad=no_grad, **hyper)
    check_run(got, want, ADAM, {"problem": "quadratic", "no_grad": no_grad, **hyper},
              lambda: missing_grad_misconceptions("adam", "quadratic", 40, no_grad=no_grad, **hyper),
              tol=ADAM_TOL)
    assert_true(sorted(got["state"]) == sorted(want["state"]), exercise=ADAM,
                message=f"state exists for parameters {sorted(got['state'])}, torch has it for "
                        f"{sorted(want['state'])}: state is created on a parameter's first gradient")
    for name, state in want["state"].items():
        step = state_value(got["state"][name].get("step"))
        assert_true(step == float(state["step"]), exercise=ADAM,
                    message=f"state['step'] of '{name}' is {step}, expected {float(state['step'])}: "
                            "count only the steps on which the parameter had a gradient")


@pytest.mark.exercise("Adam")
def test_adam_leaves_grad_unchanged(impl):
    hyper = dict(lr=0.05, weight_decay=0.1, amsgrad=True)
    got = impl.run(trajectory, impl.Adam, "mlp", 5, **hyper)
    want = reference("Adam", "mlp", 5, **hyper)
    check_run(got, want, ADAM, {"problem": "mlp", **hyper}, tol=ADAM_TOL)


@pytest.mark.exercise("Adam")
@pytest.mark.parametrize("config", ["amsgrad", "everything"])
def test_adam_state_dict_resume(impl, config):
    hyper = ADAM_CONFIGS[config]
    got = impl.run(trajectory, impl.Adam, "mlp", 30, resume_at=9, **hyper)
    want = reference("Adam", "mlp", 30, **hyper)
    check_run(got, want, ADAM, {"problem": "mlp", "resume_at": 9, **hyper},
              lambda: {LOST_STATE: lost_state_run("Adam", "mlp", 30, 9, **hyper),
               ADAM_GLOBAL_STEP: trajectory(wrong("adam", "global_step"), "mlp", 30, resume_at=9, **hyper)},
              tol=ADAM_TOL)


@pytest.mark.exercise("Adam")
def test_adam_resume_with_late_parameter(impl):
    no_grad = {"M": list(range(6))}
    hyper = dict(lr=0.05, amsgrad=True)
    got = impl.run(trajectory, impl.Adam, "quadratic", 30, resume_at=4, no_grad=no_grad, **hyper)
    want = reference("Adam", "quadratic", 30, no_grad=no_grad, **hyper)
    check_run(got, want, ADAM, {"problem": "quadratic", "resume_at": 4, "no_grad": no_grad, **hyper},
              lambda: {LOST_STATE: lost_state_run("Adam", "quadratic", 30, 4, no_grad=no_grad, **hyper)},
              tol=ADAM_TOL)


@pytest.mark.exercise("Adam")
def test_adam_loads_torch_state_dict(impl):
    hyper = dict(lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.05, amsgrad=True)
    want = reference("Adam", "mlp", 25, **hyper)
    head = reference("Adam", "mlp", 10, **hyper)
    start = {n: v[-1] for n, v in head["params"].items()}
    got = impl.run(trajectory, impl.Adam, "mlp", 15, start=start, load_state=head["state_dict"], **hyper)
    tail = {"params": {n: v[10:] for n, v in want["params"].items()}}
    check_run(got, tail, ADAM, {"problem": "mlp", "loaded": "torch.optim.Adam's state_dict after 10 steps", **hyper},
              tol=ADAM_TOL, hint="common causes: state keys other than torch's ('step', 'exp_avg', 'exp_avg_sq', "
                   "'max_exp_avg_sq')")


@pytest.mark.exercise("Adam")
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_state_matches_torch(impl, amsgrad):
    hyper = dict(lr=0.05, eps=1e-3, weight_decay=0.01, amsgrad=amsgrad)
    got = impl.run(trajectory, impl.Adam, "mlp", 12, **hyper)
    want = reference("Adam", "mlp", 12, **hyper)
    for name, state in want["state"].items():
        theirs = got["state"].get(name, {})
        missing = sorted(set(state) - set(theirs))
        assert_true(not missing, exercise=ADAM, message=f"self.state[p] of '{name}' lacks torch's keys {missing} "
                                                        f"(it has {sorted(theirs)})")
        for key, value in state.items():
            if key == "step":
                assert_true(state_value(theirs[key]) == float(value), exercise=ADAM,
                            message=f"state['step'] of '{name}' is {state_value(theirs[key])}, expected {float(value)}")
            else:
                assert_close(theirs[key], value, exercise=ADAM, what=f"state['{key}'] of '{name}' after 12 steps",
                             inputs=hyper, **ADAM_TOL)


@pytest.mark.exercise("Adam")
def test_adam_step_with_closure(impl):
    hyper = dict(lr=0.05, amsgrad=True)
    got = impl.run(trajectory, impl.Adam, "mlp", 10, use_closure=True, **hyper)
    want = reference("Adam", "mlp", 10, use_closure=True, **hyper)
    check_run(got, want, ADAM, {"problem": "mlp", "closure": True, **hyper}, tol=ADAM_TOL,
              hint="common causes: step(closure) not calling the closure (with grad enabled) before updating")
    check_returned_loss(got, want, ADAM, ADAM_TOL)


ADAM_BAD = [dict(lr=-1e-3), dict(eps=-1e-8), dict(betas=(1.0, 0.999)), dict(betas=(0.9, 1.0)),
            dict(betas=(-0.1, 0.999)), dict(weight_decay=-0.1)]


@pytest.mark.exercise("Adam")
@pytest.mark.parametrize("bad", ADAM_BAD)
def test_adam_rejects_invalid_hyperparameters(impl, bad):
    got = impl.run(trajectory, impl.Adam, "mlp", 3, lr=0.05)
    check_run(got, reference("Adam", "mlp", 3, lr=0.05), ADAM, {"problem": "mlp", "lr": 0.05}, tol=ADAM_TOL)
    with pytest.raises(ValueError):
        impl.Adam([torch.zeros(3, dtype=torch.float64, requires_grad=True)], **bad)


# =========================================================================== AdamW

ADAMW_CONFIGS = {
    "strong-decay": dict(lr=0.05, weight_decay=0.5),
    "large-eps": dict(lr=0.05, eps=1e-2, weight_decay=0.1),
    "amsgrad": dict(lr=0.05, amsgrad=True, weight_decay=0.2),
    "everything": dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.3, amsgrad=True),
}


@pytest.mark.exercise("AdamW")
@pytest.mark.parametrize("problem", ["quadratic", "mlp"])
@pytest.mark.parametrize("config", list(ADAMW_CONFIGS))
def test_adamw_trajectory(impl, device, problem, config):
    hyper, steps = ADAMW_CONFIGS[config], 60
    got = impl.run(trajectory, impl.AdamW, problem, steps, device=device, **hyper)
    want = reference("AdamW", problem, steps, device=device, **hyper)
    check_run(got, want, ADAMW, {"problem": problem, "steps": steps, **hyper},
              lambda: adam_misconceptions("adamw", problem, steps, hyper, device=device), tol=ADAM_TOL)


@pytest.mark.exercise("AdamW")
def test_adamw_float32_and_float64(impl, device, dtype):
    hyper = dict(lr=0.05, betas=(0.85, 0.98), eps=1e-4, weight_decay=0.2, amsgrad=True)
    got = impl.run(trajectory, impl.AdamW, "mlp", 30, dtype=dtype, device=device, **hyper)
    want = reference("AdamW", "mlp", 30, dtype=dtype, device=device, **hyper)
    check_run(got, want, ADAMW, {"problem": "mlp", "dtype": dtype, **hyper}, tol=ADAM_TOL)


@pytest.mark.exercise("AdamW")
@pytest.mark.parametrize("lr", [1e-3, 0.05])
def test_adamw_default_weight_decay(impl, lr):
    got = impl.run(trajectory, impl.AdamW, "quadratic", 40, lr=lr)
    want = reference("AdamW", "quadratic", 40, lr=lr)
    check_run(got, want, ADAMW, {"problem": "quadratic", "lr": lr},
              lambda: adam_misconceptions("adamw", "quadratic", 40, {"lr": lr}), tol=ADAM_TOL,
              hint="common causes: defaults other than AdamW's (betas=(0.9, 0.999), eps=1e-8, "
                   "weight_decay=1e-2, not 0)")


@pytest.mark.exercise("AdamW")
@pytest.mark.parametrize("problem", ["quadratic", "mlp"])
def test_adamw_param_groups(impl, problem):
    first, second = SPLIT_GROUPS[problem]
    groups = [{"params": first, "weight_decay": 0.0, "betas": (0.6, 0.9)},
              {"params": second, "lr": 0.01, "weight_decay": 0.8, "amsgrad": True}]
    hyper = dict(lr=0.05, weight_decay=0.1)
    got = impl.run(trajectory, impl.AdamW, problem, 40, groups=groups, **hyper)
    want = reference("AdamW", problem, 40, groups=groups, **hyper)
    check_run(got, want, ADAMW, {"problem": problem, "groups": groups, **hyper}, tol=ADAM_TOL,
              hint="common causes: lr, betas, eps, weight_decay or amsgrad not read from each param_group")


@pytest.mark.exercise("AdamW")
def test_adamw_skips_parameters_without_gradient(impl):
    no_grad = {"w": list(range(10, 40)), "M": list(range(5))}
    hyper = dict(lr=0.05, weight_decay=0.3)
    got = impl.run(trajectory, impl.AdamW, "quadratic", 40, no_grad=no_grad, **hyper)
    want = reference("AdamW", "quadratic", 40, no_grad=no_grad, **hyper)
    check_run(got, want, ADAMW, {"problem": "quadratic", "no_grad": no_grad, **hyper},
              lambda: missing_grad_misconceptions("adamw", "quadratic", 40, no_grad=no_grad, **hyper), tol=ADAM_TOL,
              hint="common causes: a parameter whose .grad is None still decayed (it is skipped entirely)")


@pytest.mark.exercise("AdamW")
def test_adamw_state_dict_resume(impl):
    hyper = ADAMW_CONFIGS["everything"]
    got = impl.run(trajectory, impl.AdamW, "mlp", 30, resume_at=9, **hyper)
    want = reference("AdamW", "mlp", 30, **hyper)
    check_run(got, want, ADAMW, {"problem": "mlp", "resume_at": 9, **hyper},
              lambda: {LOST_STATE: lost_state_run("AdamW", "mlp", 30, 9, **hyper)}, tol=ADAM_TOL)


@pytest.mark.exercise("AdamW")
def test_adamw_loads_torch_state_dict(impl):
    hyper = dict(lr=0.05, weight_decay=0.2, amsgrad=True)
    want = reference("AdamW", "mlp", 25, **hyper)
    head = reference("AdamW", "mlp", 10, **hyper)
    start = {n: v[-1] for n, v in head["params"].items()}
    got = impl.run(trajectory, impl.AdamW, "mlp", 15, start=start, load_state=head["state_dict"], **hyper)
    tail = {"params": {n: v[10:] for n, v in want["params"].items()}}
    check_run(got, tail, ADAMW, {"problem": "mlp", "loaded": "torch.optim.AdamW's state_dict after 10 steps",
                                 **hyper}, tol=ADAM_TOL,
              hint="common causes: state keys other than torch's ('step', 'exp_avg', 'exp_avg_sq', "
                   "'max_exp_avg_sq')")


@pytest.mark.exercise("AdamW")
def test_adamw_leaves_grad_unchanged_and_state(impl):
    hyper = dict(lr=0.05, weight_decay=0.3)
    got = impl.run(trajectory, impl.AdamW, "mlp", 8, **hyper)
    want = reference("AdamW", "mlp", 8, **hyper)
    check_run(got, want, ADAMW, {"problem": "mlp", **hyper}, tol=ADAM_TOL)
    for name, state in want["state"].items():
        for key in ("exp_avg", "exp_avg_sq"):
            assert_close(got["state"].get(name, {}).get(key), state[key], exercise=ADAMW,
                         what=f"state['{key}'] of '{name}' after 8 steps", inputs=hyper, **ADAM_TOL,
                         hint="common causes: the moments of AdamW never see weight_decay * p")


@pytest.mark.exercise("AdamW")
@pytest.mark.parametrize("bad", ADAM_BAD)
def test_adamw_rejects_invalid_hyperparameters(impl, bad):
    got = impl.run(trajectory, impl.AdamW, "mlp", 3, lr=0.05)
    check_run(got, reference("AdamW", "mlp", 3, lr=0.05), ADAMW, {"problem": "mlp", "lr": 0.05}, tol=ADAM_TOL)
    with pytest.raises(ValueError):
        impl.AdamW([torch.zeros(3, dtype=torch.float64, requires_grad=True)], **bad)


# =========================================================================== minibatches

MINI_CASES = [(10, 3), (20, 7), (12, 4), (5, 8), (1, 1), (33, 1), (64, 16), (17, 5)]


def check_epochs_structure(got, n, batch_size, drop_last, inputs):
    full, rest = divmod(n, batch_size)
    count = full if drop_last or rest == 0 else full + 1
    for epoch in got:
        sizes = [int(b.numel()) for b in epoch]
        assert_true(len(epoch) == count, exercise=MINI, inputs=inputs,
                    message=f"expected {count} batches, got {len(epoch)} (sizes {sizes}); "
                            + ("drop_last=True drops the short last batch" if drop_last else
                               "drop_last=False keeps the short last batch: count ceil(n / batch_size)"))
        assert_true(all(isinstance(b, torch.Tensor) and b.dtype == torch.int64 and b.dim() == 1 for b in epoch),
                    exercise=MINI, inputs=inputs, message="each batch must be a 1-d int64 (LongTensor) of indices")
        assert_true(sizes[:full] == [batch_size] * min(full, len(sizes)), exercise=MINI, inputs=inputs,
                    message=f"batch sizes {sizes}: every batch but the last has batch_size={batch_size} indices")
        seen = torch.cat(epoch).sort().values if epoch else torch.zeros(0, dtype=torch.int64)
        if drop_last:
            ok = seen.numel() == full * batch_size and seen.unique().numel() == seen.numel() and \
                bool(((seen >= 0) & (seen < n)).all())
            message = "the batches together must hold distinct indices of range(n) (a permutation, minus the tail)"
        else:
            ok = torch.equal(seen, torch.arange(n))
            message = "the batches together are not a permutation of range(n): every index exactly once per epoch"
        assert_true(ok, exercise=MINI, inputs=inputs, message=message)


@pytest.mark.exercise("minibatches")
@pytest.mark.parametrize("n,batch_size", MINI_CASES)
@pytest.mark.parametrize("drop_last", [False, True])
def test_minibatches_cover_range_once(impl, n, batch_size, drop_last):
    inputs = {"n": n, "batch_size": batch_size, "drop_last": drop_last}
    got = impl.run(epochs, impl.minibatches, n, batch_size, count=3, seed=n, drop_last=drop_last)
    check_epochs_structure(got, n, batch_size, drop_last, inputs)


@pytest.mark.exercise("minibatches")
@pytest.mark.parametrize("n,batch_size", MINI_CASES)
@pytest.mark.parametrize("drop_last", [False, True])
def test_minibatches_match_randperm_split(impl, n, batch_size, drop_last):
    inputs = {"n": n, "batch_size": batch_size, "drop_last": drop_last, "generator seed": 7}
    got = impl.run(epochs, impl.minibatches, n, batch_size, count=3, seed=7, drop_last=drop_last)
    want = epochs(reference_minibatches, n, batch_size, count=3, seed=7, drop_last=drop_last)
    check_epochs_structure(got, n, batch_size, drop_last, inputs)
    for e, (ours, theirs) in enumerate(zip(got, want)):
        assert_close(torch.cat(ours) if ours else torch.zeros(0, dtype=torch.int64),
                     torch.cat(theirs) if theirs else torch.zeros(0, dtype=torch.int64), exercise=MINI,
                     what=f"indices of epoch {e} (the batches concatenated)", inputs=inputs,
                     hint="common causes: an order other than torch.randperm(n, generator=generator) drawn once "
                          "per call, then sliced")


@pytest.mark.exercise("minibatches")
def test_minibatches_fresh_permutation_each_call(impl):
    got = impl.run(epochs, impl.minibatches, 50, 10, count=3, seed=3)
    check_epochs_structure(got, 50, 10, False, {"n": 50, "batch_size": 10})
    orders = [torch.cat(e) for e in got]
    # Two independent permutations of 50 agree with probability 1/50! (< 1e-64).
    assert_true(not torch.equal(orders[0], orders[1]) and not torch.equal(orders[1], orders[2]), exercise=MINI,
                message="successive calls with the same generator gave the same order: draw a fresh "
                        "permutation on each call (the generator advances)")


@pytest.mark.exercise("minibatches")
@pytest.mark.parametrize("drop_last", [False, True])
def test_minibatches_without_shuffle(impl, drop_last):
    got = impl.run(epochs, impl.minibatches, 11, 4, count=2, seed=0, shuffle=False, drop_last=drop_last)
    want = list(torch.arange(11).split(4))[: 2 if drop_last else 3]
    inputs = {"n": 11, "batch_size": 4, "shuffle": False, "drop_last": drop_last}
    check_epochs_structure(got, 11, 4, drop_last, inputs)
    for epoch in got:
        for b, w in zip(epoch, want):
            assert_close(b, w, exercise=MINI, what="batch (shuffle=False keeps the order 0, 1, 2, ...)", inputs=inputs)


@pytest.mark.exercise("minibatches")
def test_minibatches_global_rng_without_generator(impl):
    got = impl.run(with_global_seed, impl.minibatches, 5, 23, 4)
    want = with_global_seed(reference_minibatches, 5, 23, 4)
    inputs = {"n": 23, "batch_size": 4, "generator": None, "torch.manual_seed": 5}
    check_epochs_structure([got], 23, 4, False, inputs)
    assert_close(torch.cat(got), torch.cat(want), exercise=MINI, what="indices (batches concatenated)", inputs=inputs,
                 hint="common causes: with generator=None, a permutation not drawn by torch.randperm(n) from the "
                      "global RNG")


@pytest.mark.exercise("minibatches")
@pytest.mark.parametrize("drop_last", [False, True])
def test_minibatches_empty_and_oversized(impl, drop_last):
    empty = impl.run(epochs, impl.minibatches, 0, 4, count=1, drop_last=drop_last)
    assert_true(empty == [[]], exercise=MINI, inputs={"n": 0, "batch_size": 4},
                message=f"n=0 must give no batches, got {[[tuple(b.shape) for b in e] for e in empty]}")
    got = impl.run(epochs, impl.minibatches, 3, 10, count=1, seed=1, drop_last=drop_last)
    check_epochs_structure(got, 3, 10, drop_last, {"n": 3, "batch_size": 10, "drop_last": drop_last})


@pytest.mark.exercise("minibatches")
@pytest.mark.parametrize("bad", [dict(n=10, batch_size=0), dict(n=10, batch_size=-2), dict(n=-1, batch_size=2)])
def test_minibatches_rejects_invalid_arguments(impl, bad):
    got = impl.run(epochs, impl.minibatches, 10, 3, count=1)
    check_epochs_structure(got, 10, 3, False, {"n": 10, "batch_size": 3})
    with pytest.raises(ValueError):  # at call time, before any batch is asked for
        impl.minibatches(bad["n"], bad["batch_size"])


@pytest.mark.exercise("minibatches")
def test_minibatches_draws_the_permutation_at_call_time(impl):
    # The permutation is drawn when minibatches is called, not when the first batch is taken: a body with
    # `yield` (a generator function) runs nothing until the first next(), after the caller's RNG moved on.
    got = impl.run(drawn_at_call_time, impl.minibatches, 5, 23, 4)
    want = drawn_at_call_time(reference_minibatches, 5, 23, 4)
    lazy = with_global_seed(reference_minibatches, 6, 23, 4)
    inputs = {"n": 23, "batch_size": 4, "torch.manual_seed": 5}
    check_epochs_structure([got], 23, 4, False, inputs)
    assert_close(torch.cat(got), torch.cat(want), exercise=MINI, what="indices (batches concatenated)", inputs=inputs,
                 misconceptions={"the permutation drawn at the first next() instead of at the call (a generator "
                                 "function with yield runs nothing before the first batch is asked for: build the "
                                 "order first, then return an iterator)": torch.cat(lazy)})
