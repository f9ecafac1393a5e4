"""Optimizers: SGD (with momentum, dampening, Nesterov), Adam and AdamW, plus a minibatch sampler.

Each optimizer is a ``torch.optim.Optimizer`` subclass: hyper-parameters live in ``param_groups``, per-parameter
state lives in ``self.state[p]`` under the same keys torch uses, so ``state_dict()`` / ``load_state_dict()``
resume a run exactly. The lesson is the update rule: where weight decay enters, how the moments are initialised
and bias-corrected, and which tensor is updated in place.

Grading rules (generated from grading.yml):

Forbidden, since you write them here: ``torch.optim.SGD``, ``torch.optim.Adam``,
``torch.optim.AdamW``, ``torch.optim.sgd.sgd``, ``torch.optim.adam.adam``,
``torch.optim.adamw.adamw``, ``torch.optim._functional.*``, ``torch._fused_sgd_``,
``torch._fused_adam_``, ``torch._fused_adamw_``.

Forbidden aten operators (private routes to the same): _fused_sgd, _fused_sgd_,
_fused_adam, _fused_adam_, _fused_adamw, _fused_adamw_.

Forbidden in every topic (ways around the rules): torch.load, torch.save, torch.compile,
torch.jit.script, torch.jit.trace, torch.jit.trace_module, torch.fx.symbolic_trace,
torch.fx.GraphModule, torch.fx.Interpreter, torch.overrides.TorchFunctionMode,
torch.utils._python_dispatch.TorchDispatchMode, torch.jit.*, torch.fx.*, torch._dynamo.*,
torch._inductor.*, torch.export.*, torch.library.*, torch.overrides.*,
torch.utils._python_dispatch.*, torch.utils.cpp_extension.*, torch.hub.*, torch.package.*,
torch.multiprocessing.*, torch.distributed.*, torch._refs.*, torch._decomp.*,
torch._prims.*, torch._C.*, torch.ops.*, typing.get_type_hints.
"""

from typing import Callable, Iterable, Iterator, Optional, Tuple

import torch


class SGD(torch.optim.Optimizer):
    r"""Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay.

    Update rule for every parameter ``p`` with ``p.grad is not None`` (μ = momentum, τ = dampening, λ = weight_decay)::

        g = p.grad + λ p                      # L2 decay is added to the gradient
        if μ != 0:
            if t == 1:  b = g                 # first step: the buffer IS the gradient (no dampening)
            else:       b = μ b + (1 - τ) g
            g = g + μ b  if nesterov else  b
        p = p - lr g

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate. Default: ``1e-3``.
        momentum: momentum factor μ. Default: ``0.0``.
        dampening: dampening τ of the momentum (not applied on the first step). Default: ``0.0``.
        weight_decay: L2 penalty λ, added to the gradient. Default: ``0.0``.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``). Default: ``False``.

    State:
        ``self.state[p]["momentum_buffer"]``: the buffer ``b`` (same shape as ``p``), created on the first step that
        sees a gradient for ``p``; only kept when ``momentum != 0``.

    Compared against ``torch.optim.SGD`` (trajectories over many steps, several parameter groups, state_dict resume).

    Hints:
        * the buffer starts as a copy of the gradient, not as zeros — with ``dampening > 0`` the two differ;
        * Nesterov steps along ``g + μ b``, not along ``b``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], torch.Tensor]] = None) -> Optional[torch.Tensor]:
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss (run with grad enabled).

        Returns:
            the closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # Read the hyper-parameters from each group (groups may override lr, momentum, ...).
        # TODO: implement optimizers.SGD.step (see the docstring).
        raise NotImplementedError("optimizers.SGD.step")
        return loss


class Adam(torch.optim.Optimizer):
    r"""Adam with bias correction, optional AMSGrad and L2 weight decay (added to the gradient).

    Update rule for every parameter ``p`` with ``p.grad is not None`` (step t counts from 1)::

        g = p.grad + λ p                                  # L2 decay: it goes through the moments
        m = β1 m + (1 - β1) g
        v = β2 v + (1 - β2) g²
        if amsgrad:  v_max = max(v_max, v);  v_use = v_max   else  v_use = v
        p = p - lr / (1 - β1^t) · m / (sqrt(v_use) / sqrt(1 - β2^t) + eps)

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate. Default: ``1e-3``.
        betas: ``(β1, β2)``, decay rates of the first and second moment. Default: ``(0.9, 0.999)``.
        eps: added to the bias-corrected ``sqrt(v)`` (outside the square root). Default: ``1e-8``.
        weight_decay: L2 penalty λ, added to the gradient. Default: ``0.0``.
        amsgrad: keep the running maximum of ``v`` (the raw, not bias-corrected, second moment) and divide by it.
            Default: ``False``.

    State (same keys as torch):
        ``"step"`` (0-d float32 tensor on the CPU, number of updates so far), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v),
        ``"max_exp_avg_sq"`` (only with ``amsgrad``); created lazily, zeros, on the first step that sees a gradient.

    Compared against ``torch.optim.Adam`` (trajectories over many steps, several parameter groups, state_dict resume).

    Hints:
        * both moments start at zero, so without the bias corrections ``1 - β^t`` the first steps are far too small;
        * ``eps`` is added after the square root and after the bias correction of ``sqrt(v)``.
    """

    #: False for Adam (L2: λ p added to the gradient); AdamW sets True (decoupled: p ← p (1 - lr λ)).
    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], torch.Tensor]] = None) -> Optional[torch.Tensor]:
        """Perform one update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss (run with grad enabled).

        Returns:
            the closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # Weight decay: L2 into the gradient when not self.decoupled_weight_decay, else p *= 1 - lr * λ first.
        # TODO: implement optimizers.Adam.step (see the docstring).
        raise NotImplementedError("optimizers.Adam.step")
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter): the decay shrinks the weights, not the gradient.

    Update rule: first ``p = p (1 - lr λ)``, then the plain Adam update of ``Adam`` with ``weight_decay = 0``
    (the moments only ever see ``p.grad``).

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate. Default: ``1e-3``.
        betas: ``(β1, β2)``. Default: ``(0.9, 0.999)``.
        eps: term added to the denominator. Default: ``1e-8``.
        weight_decay: decoupled decay λ (note the non-zero default). Default: ``1e-2``.
        amsgrad: AMSGrad variant. Default: ``False``.

    State: as ``Adam``.

    Compared against ``torch.optim.AdamW``.

    Hint: the decay factor is ``lr * λ`` (it scales with the learning rate) and is applied before the Adam step.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


def minibatches(
    n: int,
    batch_size: int,
    shuffle: bool = True,
    drop_last: bool = False,
    generator: Optional[torch.Generator] = None,
) -> Iterator[torch.Tensor]:
    """Iterate over index batches that cover ``range(n)`` exactly once (one epoch).

    ``order = torch.randperm(n, generator=generator)`` if ``shuffle`` else ``torch.arange(n)``; the batches are
    ``order[0:batch_size], order[batch_size:2*batch_size], ...``; the last one is shorter when ``batch_size`` does
    not divide ``n``, and is dropped when ``drop_last``. Each call draws a fresh permutation (at call time) and
    returns an iterator over the batches; invalid arguments raise at call time.

    Args:
        n: number of samples (``>= 0``).
        batch_size: samples per batch (``>= 1``).
        shuffle: permute the indices. Default: ``True``.
        drop_last: drop the final batch if it is shorter than ``batch_size``. Default: ``False``.
        generator: random generator for the permutation (``None``: the global RNG). Default: ``None``.

    Shape:
        - each yielded batch: ``(batch_size,)`` int64 on the CPU (the last one ``(n % batch_size,)`` unless dropped).

    Compared against ``torch.randperm(n, generator=g).split(batch_size)`` with an equally seeded generator
    (the same batches as ``BatchSampler(RandomSampler(range(n), generator=g), batch_size, drop_last)``).

    Hint: ``n // batch_size`` batches lose the tail; count ``ceil(n / batch_size)`` unless ``drop_last``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
    if n < 0:
        raise ValueError(f"n should be a non-negative integer value, but got n={n}")
    # Build the order once, then return an iterator (e.g. a generator expression) over its slices.
    # TODO: implement optimizers.minibatches (see the docstring).
    raise NotImplementedError("optimizers.minibatches")
