"""Weight initialisation: fans, gains, Xavier/Glorot and Kaiming/He.

A layer keeps the scale of its signal when its weights have variance
``gain**2 / fan``: the fan counts how many inputs (or outputs) each unit sums,
the gain undoes what the nonlinearity removes. This topic rebuilds
``torch.nn.init``'s fan/gain helpers and four initialisers, then measures
how activations grow or vanish through a deep MLP under each scheme.

Grading rules (generated from grading.yml):

Forbidden, since you write them here: ``torch.nn.init.*``.

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

- ``xavier_uniform_`` uses ``calculate_fan_in_and_fan_out``
- ``xavier_normal_`` uses ``calculate_fan_in_and_fan_out``
- ``kaiming_uniform_`` uses ``calculate_fan_in_and_fan_out``, ``calculate_gain``
- ``kaiming_normal_`` uses ``calculate_fan_in_and_fan_out``, ``calculate_gain``
- ``init_weights`` uses ``calculate_fan_in_and_fan_out``, ``calculate_gain``,
  ``kaiming_normal_``, ``kaiming_uniform_``
- ``activation_std_by_layer`` uses ``calculate_fan_in_and_fan_out``, ``calculate_gain``,
  ``kaiming_normal_``, ``kaiming_uniform_``, ``xavier_normal_``, ``xavier_uniform_``
"""

import math
import warnings
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

# Names accepted by calculate_gain whose gain is 1 (as in torch.nn.init).
_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_fan_in_and_fan_out(tensor: torch.Tensor) -> Tuple[int, int]:
    r"""Returns ``(fan_in, fan_out)`` of a weight tensor.

    For a weight of shape ``(OUT, IN, *K)`` (``nn.Linear``: ``(OUT, IN)``,
    ``nn.Conv2d``: ``(OUT, IN/groups, kH, kW)``) with receptive field
    :math:`r = \prod K` (1 when there is no ``K``):
    :math:`\text{fan\_in} = IN \cdot r,\ \text{fan\_out} = OUT \cdot r`.

    Args:
        tensor: a tensor with at least 2 dimensions.

    Returns:
        ``(fan_in, fan_out)`` as Python ints.

    Raises:
        ValueError: if ``tensor`` has fewer than 2 dimensions.

    Shape:
        - ``tensor``: ``(OUT, IN, *K)``.

    Compared against ``torch.nn.init._calculate_fan_in_and_fan_out``.

    Hints:
        - dim 0 is the *output* dimension (``weight`` is used as ``x @ W.T``).
        - A conv unit sums over its whole kernel window: multiply by ``prod(K)``.
    """
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    # TODO: implement initialization.calculate_fan_in_and_fan_out (see the docstring).
    raise NotImplementedError("initialization.calculate_fan_in_and_fan_out")


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    r"""Returns the recommended gain for a nonlinearity (``nn.functional`` name).

    ======================================  ===========================================
    nonlinearity                            gain
    ======================================  ===========================================
    linear, conv{1,2,3}d,                   :math:`1`
    conv_transpose{1,2,3}d, sigmoid
    tanh                                    :math:`5/3`
    relu                                    :math:`\sqrt{2}`
    leaky_relu                              :math:`\sqrt{2 / (1 + \text{negative\_slope}^2)}`
    selu                                    :math:`3/4`
    ======================================  ===========================================

    Args:
        nonlinearity: one of the names above.
        param: ``leaky_relu``'s negative slope (an int or float, not a bool);
            ``None`` means torch's default 0.01. Ignored for the other names.
            Default: ``None``.

    Returns:
        The gain as a Python number (torch returns the int ``1`` for the linear
        family; this returns ``1.0``, which compares equal).

    Raises:
        ValueError: ``"Unsupported nonlinearity <name>"`` for an unknown name, and
            ``"negative_slope <param> not a valid number"`` for a bad ``param``.

    Compared against ``torch.nn.init.calculate_gain`` for every name it accepts.

    Hints:
        - ``leaky_relu`` without ``param`` uses slope 0.01, not 0.
    """
    # TODO: implement initialization.calculate_gain (see the docstring).
    raise NotImplementedError("initialization.calculate_gain")


def _calculate_correct_fan(tensor: torch.Tensor, mode: str) -> int:
    """``fan_in`` or ``fan_out`` of ``tensor`` according to ``mode`` (case-insensitive)."""
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    r"""Fills ``tensor`` in place from the Xavier/Glorot uniform distribution.

    :math:`\mathcal{U}(-a, a)`, :math:`a = \sqrt{3}\,\text{std}`,
    :math:`\text{std} = \text{gain}\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`.

    Args:
        tensor: tensor with at least 2 dims (may be an ``nn.Parameter`` that
            requires grad: the fill runs under ``torch.no_grad()``).
        gain: scaling factor. Default: ``1.0``.
        generator: ``torch.Generator`` to sample from; ``None`` uses the global RNG.
            Default: ``None``.

    Returns:
        ``tensor`` itself (same object), filled.

    Shape:
        - ``tensor``: ``(OUT, IN, *K)``.

    Compared against ``torch.nn.init.xavier_uniform_`` (same samples for the same
    generator state).

    Hints:
        - ``U(-a, a)`` has std ``a / sqrt(3)``: the bound is ``sqrt(3) * std``.
    """
    # TODO: implement initialization.xavier_uniform_ (see the docstring).
    raise NotImplementedError("initialization.xavier_uniform_")


def xavier_normal_(
    tensor: torch.Tensor, gain: float = 1.0, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    r"""Fills ``tensor`` in place from the Xavier/Glorot normal distribution.

    :math:`\mathcal{N}(0, \text{std}^2)`,
    :math:`\text{std} = \text{gain}\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`.

    Args:
        tensor: tensor with at least 2 dims (filled under ``torch.no_grad()``).
        gain: scaling factor. Default: ``1.0``.
        generator: ``torch.Generator`` to sample from; ``None`` uses the global RNG.
            Default: ``None``.

    Returns:
        ``tensor`` itself, filled.

    Shape:
        - ``tensor``: ``(OUT, IN, *K)``.

    Compared against ``torch.nn.init.xavier_normal_``.

    Hints:
        - Xavier averages the two fans: ``(fan_in + fan_out) / 2``.
    """
    # TODO: implement initialization.xavier_normal_ (see the docstring).
    raise NotImplementedError("initialization.xavier_normal_")


def kaiming_uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    r"""Fills ``tensor`` in place from the Kaiming/He uniform distribution.

    :math:`\mathcal{U}(-b, b)`, :math:`b = \sqrt{3}\,\text{gain} / \sqrt{\text{fan\_mode}}`,
    ``gain = calculate_gain(nonlinearity, a)``.

    Args:
        tensor: tensor with at least 2 dims (filled under ``torch.no_grad()``).
            A tensor with a zero-sized dim is left as is (with a warning), as torch does.
        a: negative slope of the rectifier after this layer (only used with
            ``"leaky_relu"``). Default: ``0.0``.
        mode: ``"fan_in"`` (keeps the forward variance) or ``"fan_out"`` (keeps the
            backward variance); case-insensitive; anything else raises ``ValueError``.
            Default: ``"fan_in"``.
        nonlinearity: ``nn.functional`` name passed to ``calculate_gain``.
            Default: ``"leaky_relu"`` (with ``a = 0`` that is ReLU's ``sqrt(2)``).
        generator: ``torch.Generator`` to sample from; ``None`` uses the global RNG.
            Default: ``None``.

    Returns:
        ``tensor`` itself, filled.

    Shape:
        - ``tensor``: ``(OUT, IN, *K)``.

    Compared against ``torch.nn.init.kaiming_uniform_``.

    Hints:
        - ``nn.Linear`` uses ``a = sqrt(5)``: the gain must depend on ``a``.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    # TODO: implement initialization.kaiming_uniform_ (see the docstring).
    raise NotImplementedError("initialization.kaiming_uniform_")


def kaiming_normal_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    r"""Fills ``tensor`` in place from the Kaiming/He normal distribution.

    :math:`\mathcal{N}(0, \text{std}^2)`, :math:`\text{std} = \text{gain} / \sqrt{\text{fan\_mode}}`,
    ``gain = calculate_gain(nonlinearity, a)``.

    Args:
        tensor: tensor with at least 2 dims (filled under ``torch.no_grad()``).
            A tensor with a zero-sized dim is left as is (with a warning), as torch does.
        a: negative slope of the rectifier (only used with ``"leaky_relu"``).
            Default: ``0.0``.
        mode: ``"fan_in"`` or ``"fan_out"`` (case-insensitive); anything else
            raises ``ValueError``. Default: ``"fan_in"``.
        nonlinearity: ``nn.functional`` name passed to ``calculate_gain``.
            Default: ``"leaky_relu"``.
        generator: ``torch.Generator`` to sample from; ``None`` uses the global RNG.
            Default: ``None``.

    Returns:
        ``tensor`` itself, filled.

    Shape:
        - ``tensor``: ``(OUT, IN, *K)``.

    Compared against ``torch.nn.init.kaiming_normal_``.

    Hints:
        - The std is ``gain / sqrt(fan)``; the ``sqrt(3)`` belongs to the uniform bound only.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    # TODO: implement initialization.kaiming_normal_ (see the docstring).
    raise NotImplementedError("initialization.kaiming_normal_")


def init_weights(module: nn.Module, generator: Optional[torch.Generator] = None) -> None:
    r"""Initialises one module, for use as ``model.apply(init_weights)``.

    For ``nn.Linear`` and ``nn.Conv1d/2d/3d`` (and their subclasses):
    ``weight`` <- ``kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")``,
    i.e. :math:`\mathcal{N}(0, 2/\text{fan\_in})`, and ``bias`` (when present) <- 0.
    Every other module (``nn.BatchNorm2d``, ``nn.Embedding``, containers,
    ``nn.ConvTranspose2d``, ...) is left untouched. ``model.apply`` visits the
    children, so this function must not recurse itself.

    Args:
        module: the module to initialise (in place).
        generator: ``torch.Generator`` for the weights; ``None`` uses the global
            RNG, so ``torch.manual_seed(s); model.apply(init_weights)`` is
            reproducible. Default: ``None``.

    Compared against ``torch.nn.init.kaiming_normal_(w, nonlinearity="relu")`` and
    ``torch.nn.init.zeros_(b)`` applied to the same layers after the same seed.

    Hints:
        - Biases have one dim: they have no fan, so they are zeroed, not Kaiming-initialised.
    """
    # TODO: implement initialization.init_weights (see the docstring).
    raise NotImplementedError("initialization.init_weights")


_INITS = ("kaiming", "xavier", "normal01", "small")
_NONLINEARITIES = ("relu", "tanh", "linear")


def activation_std_by_layer(
    depth: int,
    width: int,
    init: str,
    nonlinearity: str,
    n: int = 1024,
    seed: int = 0,
) -> List[float]:
    r"""Standard deviation of the activations after each layer of a deep MLP at init.

    The network is ``depth`` bias-free ``width -> width`` layers
    ``h_l = f(h_{l-1} @ W_l.T)`` with ``h_0 ~ N(0, 1)`` of shape ``(n, width)``
    and ``f`` the nonlinearity (``"linear"``: identity). The weights are::

        "kaiming":  kaiming_normal_(W, mode="fan_in", nonlinearity=nonlinearity)
                    -> N(0, gain^2 / width), gain = calculate_gain(nonlinearity)
        "xavier":   xavier_normal_(W, gain=1.0)      -> N(0, 1 / width)
        "normal01": N(0, 1)
        "small":    N(0, 0.01^2)

    Returns ``[h_1.std(), ..., h_depth.std()]``: the std over all ``n * width``
    entries (``torch.std``, unbiased) measured *after* the nonlinearity. All
    sampling uses one ``torch.Generator`` seeded with ``seed``, in the order
    ``h_0`` then ``W_1, ..., W_depth``; CPU, no autograd, **float64**, so that
    the exploding (``"normal01"``: x16-23 per layer) and vanishing (``"small"``)
    runs stay finite and non-zero at depth 50 instead of overflowing to inf/nan
    or underflowing to 0 in float32.

    With ``width=512, n=1024, seed=0`` at depth 50, kaiming+relu ends at
    1.05x of the first layer's std (within x0.5-2) and xavier+relu at 4.4e-8 of it
    (below 1e-3; it loses ``2^{-1/2}`` per layer). The kaiming ratio is a random
    walk over the layers: over seeds 0..15 it ranges 0.64-1.36, so the x0.5-2 band
    is the typical outcome, not a bound that holds for every seed.

    Args:
        depth: number of layers (>= 1).
        width: width of every layer (>= 1).
        init: ``"kaiming"``, ``"xavier"``, ``"normal01"`` or ``"small"``.
        nonlinearity: ``"relu"``, ``"tanh"`` or ``"linear"``.
        n: number of input samples (>= 1). Default: ``1024``.
        seed: seed of the generator. Default: ``0``.

    Returns:
        A list of ``depth`` Python floats.

    Raises:
        ValueError: unknown ``init`` / ``nonlinearity``, or a non-positive size.

    Shape:
        - ``h_l``: ``(n, width)``; ``W_l``: ``(width, width)``.

    Compared against the same recipe written with ``torch.nn.init`` and
    ``torch.relu`` / ``torch.tanh``, and against the vanishing/exploding trends above.

    Hints:
        - Kaiming's gain must match the nonlinearity (``sqrt(2)`` for ReLU): ReLU
          zeroes half of the signal, Xavier does not compensate for it.
    """
    if init not in _INITS:
        raise ValueError(f"init must be one of {list(_INITS)}, got {init!r}")
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {list(_NONLINEARITIES)}, got {nonlinearity!r}")
    for name, value in (("depth", depth), ("width", width), ("n", n)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    # TODO: implement initialization.activation_std_by_layer (see the docstring).
    raise NotImplementedError("initialization.activation_std_by_layer")
