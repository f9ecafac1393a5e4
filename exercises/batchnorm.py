"""Batch normalisation from scratch: the functional form, the modules, and a hand-written backward.

Teaches: per-channel statistics over every dimension except C, biased variance for normalising but
unbiased variance for the running estimate, running-stat updates in place under ``torch.no_grad()``,
train vs eval behaviour, buffers vs parameters (``state_dict`` interchangeable with ``nn.BatchNorm``),
and the compact gradient of batch norm written by hand in an ``autograd.Function``.

Grading rules (generated from grading.yml):

Forbidden, since you write them here: ``torch.nn.functional.batch_norm``,
``torch.batch_norm``, ``torch.native_batch_norm``, ``torch.nn.BatchNorm1d``,
``torch.nn.BatchNorm2d``, ``torch.nn.BatchNorm3d``, ``torch.nn.functional.instance_norm``,
``torch.nn.functional.layer_norm``, ``torch.nn.functional.group_norm``,
``torch.instance_norm``, ``torch.layer_norm``, ``torch.group_norm``.

Forbidden aten operators (private routes to the same): batch_norm, native_batch_norm,
_native_batch_norm_legit, _native_batch_norm_legit_no_training, _batch_norm_impl_index,
_batch_norm_with_update, _batch_norm_no_update, cudnn_batch_norm, miopen_batch_norm,
instance_norm, layer_norm, native_layer_norm, group_norm, native_group_norm.

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

- ``BatchNorm1d`` uses ``batch_norm``
- ``BatchNorm2d`` uses ``batch_norm``
"""

from typing import Optional

import torch
from torch import nn

__all__ = ["batch_norm", "BatchNorm1d", "BatchNorm2d", "BatchNormFunction"]


def _check_batch_size(x: torch.Tensor) -> None:
    """Training needs more than one value per channel (else the variance is 0 / unbiased one undefined)."""
    size = list(x.shape)
    values_per_channel = size[0]
    for s in size[2:]:
        values_per_channel *= s
    if values_per_channel == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {x.shape}"
        )


def _check_eps(eps: float, training: bool) -> None:
    if not isinstance(eps, (int, float)) or isinstance(eps, bool):
        raise TypeError(f"eps must be a float, got {type(eps).__name__}")
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")


def _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps) -> None:
    """Argument checks of :func:`batch_norm` (bad values -> ValueError, bad types -> TypeError)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a Tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")
    if momentum is None:
        raise ValueError(
            "momentum must be a float in the functional batch_norm (got None); "
            "the cumulative average (momentum=None) is a feature of the BatchNorm modules"
        )
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool):
        raise TypeError(f"momentum must be a float, got {type(momentum).__name__}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if not training and running_mean is None:
        raise ValueError("running_mean and running_var must be given when training=False")
    _check_eps(eps, training)
    C = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise ValueError(f"{name} should contain {C} elements not {t.numel()} (shape {tuple(t.shape)})")
    if training:
        _check_batch_size(x)


def batch_norm(
    x: torch.Tensor,
    running_mean: Optional[torch.Tensor],
    running_var: Optional[torch.Tensor],
    weight: Optional[torch.Tensor] = None,
    bias: Optional[torch.Tensor] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Batch normalisation of each channel ``C`` over the batch and every trailing dimension.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Training: ``E[x]`` and ``Var[x]`` are the batch statistics per channel (biased variance,
    divide by ``n = N * prod(*)``), and, when running buffers are given, they are updated in place::

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)   # unbiased

    Eval (``training=False``): normalise with ``running_mean`` / ``running_var``; nothing is updated.

    Args:
        x: input, at least 2-D.
        running_mean: running mean buffer of shape ``(C,)``, updated in place when training,
            or ``None`` (then only allowed with ``training=True``; no update happens).
        running_var: running variance buffer of shape ``(C,)``, ``None`` together with ``running_mean``.
        weight: per-channel scale ``gamma`` of shape ``(C,)``. Default: ``None`` (scale 1)
        bias: per-channel shift ``beta`` of shape ``(C,)``. Default: ``None`` (shift 0)
        training: use batch statistics (and update the buffers) instead of the running ones. Default: ``False``
        momentum: weight of the new batch in the running average; must be a float here
            (``None`` -> ``ValueError``; the modules turn ``None`` into a cumulative average). Default: 0.1
        eps: added to the variance *inside* the square root. Default: 1e-5

    Shape:
        - x: ``(N, C, *)`` where ``*`` is any number of trailing dims (``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)``…)
        - output: same shape as ``x``

    Compared against ``torch.nn.functional.batch_norm`` (output, gradients w.r.t. ``x``, ``weight``,
    ``bias``, and the running buffers after the call).

    Where this differs from torch (bad arguments): ``training=False`` without running stats, a
    ``(C,)`` tensor of the wrong length and ``momentum=None`` raise ``ValueError`` here (torch raises
    ``RuntimeError`` / ``TypeError``).

    Hints:
        - Normalise with the *biased* variance, but store the *unbiased* one in ``running_var``.
        - Update the buffers in place (``mul_`` / ``add_``) inside ``torch.no_grad()``: otherwise the
          buffers join the autograd graph and carry history from one step to the next.
    """
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    N, C = x.shape[:2]

    # Statistics are per channel: reduce over every dim except dim 1.
    # TODO: implement batchnorm.batch_norm (see the docstring).
    raise NotImplementedError("batchnorm.batch_norm")


class _BatchNorm(nn.Module):
    r"""Shared logic of :class:`BatchNorm1d` and :class:`BatchNorm2d` (like torch's ``_BatchNorm``).

    Parameters ``weight`` (ones) and ``bias`` (zeros) when ``affine``; buffers ``running_mean`` (zeros),
    ``running_var`` (ones) and ``num_batches_tracked`` (``long`` scalar 0) when ``track_running_stats``,
    otherwise those three are registered as ``None`` buffers (so ``state_dict`` has no entry for them,
    exactly as ``nn.BatchNorm1d/2d``).

    Forward, per call::

        if training and track_running_stats:
            num_batches_tracked += 1
            factor = 1 / num_batches_tracked if momentum is None else momentum   # cumulative vs EMA
        use batch statistics   if training or the running buffers are None
        update running buffers if training and track_running_stats
    """

    _version = 2  # same state_dict metadata version as torch's batch norm modules

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if not isinstance(num_features, int) or isinstance(num_features, bool):
            raise TypeError(f"num_features must be an int, got {type(num_features).__name__}")
        if num_features <= 0:
            raise ValueError(f"num_features must be positive, got {num_features}")
        _check_eps(eps, training=False)
        if momentum is not None and (not isinstance(momentum, (int, float)) or isinstance(momentum, bool)):
            raise TypeError(f"momentum must be a float or None, got {type(momentum).__name__}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats

        # Learnable affine -> nn.Parameter; running statistics -> buffers (saved, not trained).
        # TODO: implement batchnorm._BatchNorm.__init__ (see the docstring).
        raise NotImplementedError("batchnorm._BatchNorm.__init__")

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, batch counter 0 (no-op without running stats)."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running stats, and ``weight`` to ones / ``bias`` to zeros when ``affine``."""
        self.reset_running_stats()
        if self.affine:
            with torch.no_grad():
                self.weight.fill_(1.0)
                self.bias.zero_()

    def _check_input_dim(self, x: torch.Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` with batch statistics (training) or the running ones (eval); see the class docstring.

        Input rank and the batch-of-one case are checked before anything changes (torch increments
        ``num_batches_tracked`` before raising; here a rejected batch leaves the state untouched).
        """
        self._check_input_dim(x)
        if self.training:
            _check_batch_size(x)
        # Reuse batch_norm() above for the arithmetic; this method decides what to pass it.
        # momentum=None means a cumulative average: factor 1/num_batches_tracked, counted *after* += 1.
        # TODO: implement batchnorm._BatchNorm.forward (see the docstring).
        raise NotImplementedError("batchnorm._BatchNorm.forward")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation over a 2-D ``(N, C)`` or 3-D ``(N, C, L)`` input.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Statistics per channel over ``(N,)`` or ``(N, L)``; running update
    ``running = (1 - momentum) * running + momentum * batch_stat`` (unbiased variance).

    Args:
        num_features: number of channels ``C``.
        eps: added to the variance inside the square root. Default: 1e-5
        momentum: weight of the new batch in the running average, or ``None`` for a cumulative
            average (factor ``1 / num_batches_tracked``). Default: 0.1
        affine: learn ``weight`` (``gamma``, init 1) and ``bias`` (``beta``, init 0). Default: ``True``
        track_running_stats: keep ``running_mean``, ``running_var``, ``num_batches_tracked`` buffers;
            if ``False`` they are ``None`` and batch statistics are used in eval too. Default: ``True``
        device, dtype: where / in which dtype parameters and buffers are created. Default: ``None``

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``; any other rank raises ``ValueError``
          ("expected 2D or 3D input (got 4D input)"); a batch with one value per channel
          raises ``ValueError`` in training.
        - Output: same shape as the input.

    Compared against ``torch.nn.BatchNorm1d`` (outputs, gradients, buffers over several train/eval
    steps, and ``state_dict`` loaded in both directions).

    Hint: ``num_batches_tracked`` is a ``long`` buffer, incremented in place each training step.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() != 2 and x.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation over a 4-D ``(N, C, H, W)`` input ("spatial" batch norm).

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Statistics per channel over ``(N, H, W)`` together, i.e. ``n = N * H * W`` values per channel.

    Args:
        num_features: number of channels ``C``.
        eps: added to the variance inside the square root. Default: 1e-5
        momentum: weight of the new batch in the running average, or ``None`` for a cumulative
            average (factor ``1 / num_batches_tracked``). Default: 0.1
        affine: learn ``weight`` (``gamma``, init 1) and ``bias`` (``beta``, init 0). Default: ``True``
        track_running_stats: keep ``running_mean``, ``running_var``, ``num_batches_tracked`` buffers;
            if ``False`` they are ``None`` and batch statistics are used in eval too. Default: ``True``
        device, dtype: where / in which dtype parameters and buffers are created. Default: ``None``

    Shape:
        - Input: ``(N, C, H, W)``; any other rank raises ``ValueError`` ("expected 4D input (got 3D input)").
        - Output: ``(N, C, H, W)``.

    Compared against ``torch.nn.BatchNorm2d`` (outputs, gradients, buffers over several train/eval
    steps, and ``state_dict`` loaded in both directions).

    Hint: the mean is over ``(N, H, W)``, not per sample over ``(H, W)`` (that would be instance norm).
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f"expected 4D input (got {x.dim()}D input)")


class BatchNormFunction(torch.autograd.Function):
    r"""Training-mode batch norm on ``(N, C)`` with a hand-written backward.

    Forward: ``x_hat = (x - mean) / sqrt(var + eps)`` (biased ``var``, over ``N``), ``y = gamma * x_hat + beta``.

    Backward, with ``g = dL/dy * gamma`` (the gradient w.r.t. ``x_hat``) and means over the batch::

        dL/dx     = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps)
        dL/dgamma = sum(dL/dy * x_hat)
        dL/dbeta  = sum(dL/dy)

    Args (to ``apply``, positional):
        x: input ``(N, C)``.
        gamma: scale ``(C,)``.
        beta: shift ``(C,)``.
        eps: added to the variance inside the square root (no gradient). Default: 1e-5

    Shape:
        - x: ``(N, C)`` with ``N > 1``; gamma, beta: ``(C,)``; output: ``(N, C)``.

    Compared against ``torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)``
    (output and gradients) and checked with ``torch.autograd.gradcheck`` in float64.

    Hint: ``x`` influences the output three ways (directly, through the mean, through the variance);
    the last two give the ``mean(g)`` and ``x_hat * mean(g * x_hat)`` terms.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
        for name, t in (("x", x), ("gamma", gamma), ("beta", beta)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a Tensor, got {type(t).__name__}")
        if x.dim() != 2:
            raise ValueError(f"expected 2D input (got {x.dim()}D input)")
        N, C = x.shape
        for name, t in (("gamma", gamma), ("beta", beta)):
            if tuple(t.shape) != (C,):
                raise ValueError(f"{name} must have shape ({C},), got {tuple(t.shape)}")
        _check_eps(eps, training=True)
        _check_batch_size(x)
        # Save what backward needs; backward must not re-run autograd.
        # TODO: implement batchnorm.BatchNormFunction.forward (see the docstring).
        raise NotImplementedError("batchnorm.BatchNormFunction.forward")

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        """Gradients for ``(x, gamma, beta, eps)``; ``None`` for ``eps``."""
        # TODO: implement batchnorm.BatchNormFunction.backward (see the docstring).
        raise NotImplementedError("batchnorm.BatchNormFunction.backward")
