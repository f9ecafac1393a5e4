"""Regularization: inverted dropout, an explicit L2 penalty, and early stopping.

Dropout zeroes random units during training and rescales the survivors so the expected activation is unchanged
(nothing to do at evaluation time); the L2 penalty adds ``λ Σ w²`` over the weight matrices to the loss; early
stopping watches a validation metric, stops after ``patience`` steps without improvement and keeps the best weights.

Grading rules (generated from grading.yml):

Forbidden, since you write them here: ``torch.nn.functional.dropout``,
``torch.nn.functional.alpha_dropout``, ``torch.nn.Dropout``, ``torch.dropout``,
``torch.dropout_``, ``torch.alpha_dropout``.

Forbidden aten operators (private routes to the same): dropout, dropout_, native_dropout,
feature_dropout, alpha_dropout, feature_alpha_dropout.

Forbidden in every topic (ways around the rules): torch.load, torch.save, torch.compile,
torch.jit.script, torch.jit.trace, torch.jit.trace_module, torch.fx.symbolic_trace,
torch.fx.GraphModule, torch.fx.Interpreter, torch.overrides.TorchFunctionMode,
torch.utils._python_dispatch.TorchDispatchMode, torch.jit.*, torch.fx.*, torch._dynamo.*,
torch._inductor.*, torch.export.*, torch.library.*, torch.overrides.*,
torch.utils._python_dispatch.*, torch.utils.cpp_extension.*, torch.hub.*, torch.package.*,
torch.multiprocessing.*, torch.distributed.*, torch._refs.*, torch._decomp.*,
torch._prims.*, torch._C.*, torch.ops.*, typing.get_type_hints.

Each mistake is charged once: while an exercise below is graded, the exercises it may
call are the grader's correct versions.

- ``Dropout`` uses ``dropout``
"""

import copy
import math
from typing import Dict, Optional, Union

import torch
from torch import nn


def dropout(
    x: torch.Tensor, p: float = 0.5, training: bool = True, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    r"""Inverted dropout: zero each element with probability ``p`` and scale the kept ones by ``1 / (1 - p)``.

    ``mask ~ Bernoulli(1 - p)`` (elementwise, same shape as x);  ``y = x * (mask / (1 - p))``, so ``E[y] = x``.

    Special cases (as ``F.dropout``): the output equals ``x`` (returning ``x`` itself is fine) when ``not training``,
    ``p == 0`` or ``x`` is empty; ``p == 1`` gives all zeros with a zero gradient (no division by zero).

    Args:
        x: input of any shape, floating point.
        p: probability of zeroing an element, in ``[0, 1]``. Default: ``0.5``.
        training: apply dropout (``False``: identity). Default: ``True``.
        generator: random generator for the mask, on ``x``'s device (``None``: the global RNG). Default: ``None``.

    Shape:
        - x: ``(*)``, any shape;  output: ``(*)``, same shape, dtype and device.

    The mask is drawn as ``torch.empty_like(x).bernoulli_(1 - p, generator=generator)``: on the CPU with the
    global RNG this is the very draw ``F.dropout`` makes, so equal seeds give equal outputs.
    Compared against ``torch.nn.functional.dropout`` (values ``0`` or ``x / (1 - p)``, keep rate, mean, gradient).

    Hints:
        * ``bernoulli_(q)`` gives 1 with probability ``q``: pass the KEEP probability ``1 - p``;
        * the gradient flows only through kept elements and is scaled by the same ``1 / (1 - p)``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, but got {p}")
    # TODO: implement regularization.dropout (see the docstring).
    raise NotImplementedError("regularization.dropout")


class Dropout(nn.Module):
    r"""Module form of :func:`dropout`: active in ``train()`` mode, identity in ``eval()`` mode.

    Args:
        p: probability of zeroing an element, in ``[0, 1]``. Default: ``0.5``.

    Shape:
        - input: ``(*)``;  output: ``(*)``, same shape.

    Uses the global RNG (no generator), so ``torch.manual_seed`` makes it reproducible.
    Compared against ``torch.nn.Dropout``.

    Hint: read ``self.training`` at call time (``model.eval()`` flips it); don't store it in ``__init__``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: implement regularization.Dropout.forward (see the docstring).
        raise NotImplementedError("regularization.Dropout.forward")

    def extra_repr(self) -> str:
        return f"p={self.p}"


def l2_penalty(module: nn.Module, weight_decay: float, include_bias: bool = False) -> torch.Tensor:
    r"""L2 penalty over a module's weights: ``λ Σ_w Σ_i w_i²`` (no factor 1/2; its gradient is ``2 λ w``).

    Sums over every parameter of ``module.parameters()`` with ``dim() > 1`` (weight matrices, conv kernels,
    embeddings), frozen ones (``requires_grad=False``) included; with ``include_bias`` over every parameter
    (the 1-d biases, norm scales, and 0-d scalars too). A parameter shared by several submodules counts once
    (``module.parameters()`` de-duplicates).

    Args:
        module: the model.
        weight_decay: λ, ``>= 0``.
        include_bias: also penalise parameters with ``dim() <= 1`` (1-d and 0-d alike). Default: ``False``.

    Shape:
        - output: ``()``, a scalar tensor, differentiable w.r.t. the parameters (``0.`` if nothing is penalised,
          on the first parameter's device and dtype, or the default dtype on the CPU when there is none).

    Compared against ``weight_decay * sum(p.pow(2).sum() for p in module.parameters() if p.dim() > 1)``.

    Hint: square before summing (``‖W‖²``, not ``‖W‖``), and don't drop the frozen weights.
    """
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    params = list(module.parameters())
    # TODO: implement regularization.l2_penalty (see the docstring).
    raise NotImplementedError("regularization.l2_penalty")


class EarlyStopping:
    r"""Stop training when a monitored metric has not improved for ``patience`` consecutive steps.

    At step ``t`` (0-based, one call of :meth:`step` per evaluation) with value ``m``::

        improved = m < best - min_delta   (mode "min")   or   m > best + min_delta   (mode "max")
        if improved:  best, best_step, counter = m, t, 0;  keep a deep copy of model.state_dict();  return False
        counter += 1
        return counter >= patience        # True = stop now

    ``best`` starts at ``+inf`` ("min") / ``-inf`` ("max"), so the first finite metric always improves; a NaN
    metric never improves. ``patience=0`` stops at the first step without improvement (like ``patience=1``).
    ``step`` may be called again after it returned ``True``: the same rule applies (the stop is not remembered,
    so an improvement resets ``counter`` and returns ``False``; another bad step returns ``True`` again).
    Nothing is restored automatically: call :meth:`restore` after the loop.

    Args:
        patience: steps without improvement before stopping, ``>= 0``. Default: ``5``.
        min_delta: how much better than ``best`` a metric must be to count as an improvement, ``>= 0``.
            Default: ``0.0``.
        mode: ``"min"`` (loss-like) or ``"max"`` (accuracy-like). Default: ``"min"``.
        restore_best: keep a copy of the model's ``state_dict`` at each improvement (when ``step`` gets a model).
            Default: ``True``.

    Attributes:
        best (float): best metric so far.  best_step (int | None): 0-based step of ``best`` (``None`` before any
        improvement).  counter (int): consecutive steps without improvement.  num_steps (int): calls of ``step``.
        best_state (dict | None): deep copy of the ``state_dict`` at ``best_step`` (``None`` if none was kept).

    Compared against a hand-written loop of the rule above (torch has no early stopping).

    Hints:
        * improvement is strict and includes ``min_delta`` (``m < best - min_delta``), so a tie is no improvement;
        * ``model.state_dict()`` returns references to the live tensors: copy them, or "best" follows training.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, mode: str = "min", restore_best: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', but got mode={mode!r}")
        if patience < 0:
            raise ValueError(f"patience must be >= 0, but got patience={patience}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, but got min_delta={min_delta}")
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.restore_best = restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_step: Optional[int] = None
        self.counter = 0
        self.num_steps = 0
        self.best_state: Optional[Dict[str, object]] = None

    def step(self, metric: Union[float, torch.Tensor], model: Optional[nn.Module] = None) -> bool:
        """Record one evaluation; return ``True`` when training should stop now.

        Args:
            metric: the monitored value (a float or a one-element tensor).
            model: if given and ``restore_best``, its ``state_dict`` is copied when the metric improves.
        """
        metric = float(metric)
        # TODO: implement regularization.EarlyStopping.step (see the docstring).
        raise NotImplementedError("regularization.EarlyStopping.step")

    def restore(self, model: nn.Module) -> None:
        """Load the kept best ``state_dict`` into ``model``.

        Raises:
            RuntimeError: if no state was kept (``restore_best=False``, or no improving step was given a model).
        """
        if self.best_state is None:
            raise RuntimeError(
                "EarlyStopping.restore: no best state was kept "
                "(restore_best=False, or step() never received a model on an improving step)"
            )
        # TODO: implement regularization.EarlyStopping.restore (see the docstring).
        raise NotImplementedError("regularization.EarlyStopping.restore")
