"""Autoencoders: compress data through a small bottleneck and reconstruct it.

You write a fully connected autoencoder, the Gaussian corruption of a denoising autoencoder,
a deterministic mini-batch training loop (AdamW + MSE), and the per-sample reconstruction error
used as an anomaly score: points off the learned manifold reconstruct badly.

Grading rules (generated from grading.yml):

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

- ``train_autoencoder`` uses ``add_noise``
"""

from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["Autoencoder", "add_noise", "train_autoencoder", "reconstruction_error"]


class Autoencoder(nn.Module):
    r"""Fully connected autoencoder with one hidden layer on each side.

    .. math::
        z = W_2\,\mathrm{ReLU}(W_1 x + b_1) + b_2, \qquad
        \hat{x} = W_4\,\mathrm{ReLU}(W_3 z + b_3) + b_4

    Args:
        input_dim: size ``D`` of a data vector. Default: 784 (a flattened 28x28 image).
        hidden_dim: size ``h`` of the hidden layers. Default: 64.
        latent_dim: size ``k`` of the code ``z`` (the bottleneck). Default: 3.

    Attributes:
        encoder: ``nn.Sequential(nn.Linear(D, h), nn.ReLU(), nn.Linear(h, k))``
        decoder: ``nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, D))`` (the mirror image)

        ``state_dict`` keys: ``encoder.0.weight``, ``encoder.0.bias``, ``encoder.2.weight``,
        ``encoder.2.bias``, ``decoder.0.weight``, ..., ``decoder.2.bias``. The code and the output
        are linear (no activation after the last layer of either side): data and codes may be negative.

    Shape:
        - ``encode``: :math:`(*, D) \to (*, k)`; ``decode``: :math:`(*, k) \to (*, D)`;
          ``forward``: :math:`(*, D) \to (*, D)`.

    The four ``nn.Linear`` layers keep their default initialisation and are created in the order
    ``encoder.0, encoder.2, decoder.0, decoder.2`` with nothing else drawn from the global RNG, so
    after the same ``torch.manual_seed`` the weights equal those of these stacks built by torch.

    Compared against the same ``nn.Sequential`` stacks built in the tests and loaded with this
    module's ``state_dict``.
    """

    def __init__(self, input_dim: int = 784, hidden_dim: int = 64, latent_dim: int = 3) -> None:
        super().__init__()
        for name, value in (("input_dim", input_dim), ("hidden_dim", hidden_dim), ("latent_dim", latent_dim)):
            if value < 1:
                raise ValueError(f"{name} must be positive (got {value})")
        # TODO: implement autoencoder.Autoencoder.__init__ (see the docstring).
        raise NotImplementedError("autoencoder.Autoencoder.__init__")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Maps data ``(*, D)`` to codes ``(*, k)``."""
        # TODO: implement autoencoder.Autoencoder.encode (see the docstring).
        raise NotImplementedError("autoencoder.Autoencoder.encode")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Maps codes ``(*, k)`` back to data space ``(*, D)``."""
        # TODO: implement autoencoder.Autoencoder.decode (see the docstring).
        raise NotImplementedError("autoencoder.Autoencoder.decode")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: implement autoencoder.Autoencoder.forward (see the docstring).
        raise NotImplementedError("autoencoder.Autoencoder.forward")


def add_noise(x: torch.Tensor, std: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    r"""Corrupts ``x`` with additive Gaussian noise (the input of a denoising autoencoder).

    .. math::
        \tilde{x} = x + \sigma\,\varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, I)

    The noise is exactly ``std * torch.randn(x.shape, generator=generator, dtype=x.dtype,
    device=x.device)``, so a test holding a generator in the same state can reproduce it.
    ``x`` itself is not modified; ``std=0`` adds nothing (``x``'s values come back).

    Args:
        x: clean data.
        std: standard deviation :math:`\sigma \ge 0` of the noise (not the variance).
        generator: optional ``torch.Generator`` (on ``x``'s device) for reproducible noise.
            Default: None (the global RNG).

    Shape:
        - Input: :math:`(*)`; Output: same shape, dtype and device.

    Compared against ``x + std * torch.randn(...)`` with an identically seeded generator.

    Hint: ``randn`` has variance 1, so scale by ``std``, not ``std ** 2``.
    """
    if std < 0:
        raise ValueError(f"std must be non-negative (got {std})")
    # TODO: implement autoencoder.add_noise (see the docstring).
    raise NotImplementedError("autoencoder.add_noise")


def train_autoencoder(
    model: nn.Module,
    data: torch.Tensor,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int = 64,
    noise_std: float = 0.0,
    seed: int = 0,
) -> List[float]:
    r"""Trains ``model`` to reconstruct ``data`` with AdamW on the mean squared error.

    Pseudocode::

        g = torch.Generator(device=data.device).manual_seed(seed)
        opt = torch.optim.AdamW(model.parameters(), lr=lr)          # default betas, weight_decay=0.01
        for epoch in range(epochs):
            perm = torch.randperm(N, generator=g, device=data.device)
            for each slice idx of perm of size batch_size (the last one may be smaller):
                x = data[idx]
                x_in = add_noise(x, noise_std, generator=g) if noise_std > 0 else x
                loss = mse_loss(model(x_in), x)                       # target: the CLEAN x
                opt.zero_grad(); loss.backward(); opt.step()
            history.append(sum(loss * len(idx)) / N)                  # mean loss per sample

    The loss of a batch is ``F.mse_loss`` (mean over samples and features), so the value recorded
    per epoch is the mean over all ``N`` samples of each sample's mean squared error, weighted
    correctly when the last batch is smaller. The losses are those measured *during* the epoch
    (before each step). The model is put in train mode and its previous mode restored at the end.

    Determinism: the shuffling and the noise come from one ``torch.Generator`` seeded with
    ``seed``; the global RNG is not touched, and the model's initial weights are NOT re-seeded
    (seed torch yourself before building the model). Same model weights + same seed = same run.

    Args:
        model: the autoencoder (any module mapping ``(B, D) -> (B, D)``); trained in place.
        data: training data.
        epochs: passes over the data. Default: 20.
        lr: AdamW learning rate. Default: 1e-3.
        batch_size: samples per step. Default: 64.
        noise_std: if ``> 0``, train a denoising autoencoder: the input is
            ``add_noise(x, noise_std)``, the target stays ``x``. Default: 0.0.
        seed: seed of the shuffling/noise generator. Default: 0.

    Shape:
        - data: :math:`(N, D)`. Returns a list of ``epochs`` floats.

    Hint: in a denoising autoencoder the target is the clean input; using the noisy one teaches
    the model to copy noise.
    """
    if data.dim() != 2:
        raise ValueError(f"expected 2D input (got {data.dim()}D input)")
    if epochs < 0:
        raise ValueError(f"epochs must be non-negative (got {epochs})")
    if lr <= 0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive (got {batch_size})")
    if noise_std < 0:
        raise ValueError(f"noise_std must be non-negative (got {noise_std})")
    N, D = data.shape
    # TODO: implement autoencoder.train_autoencoder (see the docstring).
    raise NotImplementedError("autoencoder.train_autoencoder")


def reconstruction_error(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""Per-sample mean squared reconstruction error: the anomaly score of each row.

    .. math::
        e_n = \frac{1}{D} \sum_{d=1}^{D} \big(\mathrm{model}(x)_{n,d} - x_{n,d}\big)^2

    Runs under ``torch.no_grad()`` with the model in eval mode; the model's previous mode is
    restored afterwards. The result does not require grad.

    Args:
        model: a trained autoencoder.
        x: the samples to score.

    Shape:
        - Input: :math:`(N, D)` (more generally :math:`(*, D)`); Output: :math:`(N,)` (:math:`(*)`).

    Compared against ``F.mse_loss(model(x), x, reduction="none").mean(-1)``.

    Hint: average over the features of each sample (``dim=-1``), not over the batch.
    """
    if x.dim() < 1:
        raise ValueError(f"expected at least 1D input (got {x.dim()}D input)")
    # TODO: implement autoencoder.reconstruction_error (see the docstring).
    raise NotImplementedError("autoencoder.reconstruction_error")
