"""Fine-tuning a pretrained network: freezing, new heads, BatchNorm in eval, and LoRA.

Transfer learning keeps what a pretrained backbone learned and trains only a
little on top: a new classification head (with BatchNorm statistics left
alone), or low-rank adapters (LoRA) added to frozen linear layers.

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

- ``prepare_for_finetuning`` uses ``freeze``, ``unfreeze``, ``count_parameters``,
  ``replace_head``
- ``apply_lora`` uses ``freeze``, ``unfreeze``, ``count_parameters``, ``LoRALinear``
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm  # BatchNorm1d/2d/3d, SyncBatchNorm, lazy variants


def freeze(module: nn.Module) -> nn.Module:
    """Stops gradients to every parameter of `module` (recursively): `p.requires_grad = False`.

    Buffers (BatchNorm running statistics) are not parameters and are not
    affected; neither is train/eval mode. Returns `module` for chaining.

    Compared against `module.requires_grad_(False)`.

    Hint: walk `module.parameters()` (recursive), not only the top level.
    """
    # TODO: implement finetuning.freeze (see the docstring).
    raise NotImplementedError("finetuning.freeze")


def unfreeze(module: nn.Module) -> nn.Module:
    """Makes every parameter of `module` trainable again: `p.requires_grad = True`. Returns `module`.

    Compared against `module.requires_grad_(True)`.
    """
    # TODO: implement finetuning.unfreeze (see the docstring).
    raise NotImplementedError("finetuning.unfreeze")


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters: sum of `p.numel()` over `module.parameters()`.

    A parameter shared by several submodules (tied weights) counts once, as
    `module.parameters()` yields it once. Buffers never count.

    Args:
        trainable_only: count only parameters with `requires_grad=True`. Default: True.

    Compared against `sum(p.numel() for p in module.parameters() if p.requires_grad)`.
    """
    # TODO: implement finetuning.count_parameters (see the docstring).
    raise NotImplementedError("finetuning.count_parameters")


def _split_attr(model: nn.Module, attr: str) -> tuple[nn.Module, str]:
    """`("head.fc")` -> (model.head, "fc"); `("fc")` -> (model, "fc")."""
    parent_name, _, child = attr.rpartition(".")
    return model.get_submodule(parent_name), child


def replace_head(model: nn.Module, num_classes: int, attr: str = "fc") -> nn.Linear:
    """Replaces the classification head `model.<attr>` by a fresh `nn.Linear(in_features, num_classes)`.

    new = nn.Linear(old.in_features, num_classes) on old.weight's device and dtype; setattr(model, attr, new)

    The new head has a bias (as `nn.Linear` by default, whatever the old head
    had), PyTorch's default initialisation, and trainable parameters; it is set
    on the model (in place) and returned.

    Args:
        num_classes: outputs of the new head (>= 1).
        attr: name of the head; a dotted path reaches into submodules
            (`"head.fc"`, `"classifier.2"`). Default: `"fc"`.

    Shape:
        - new head: (*, in_features) -> (*, num_classes)

    Compared against torchvision's recipe
    `model.fc = nn.Linear(model.fc.in_features, num_classes)` (with the device/dtype moved along).

    Hint: a head created with plain `nn.Linear(...)` lives on the CPU in float32;
    a float64 or CUDA model then fails on its first forward.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"num_classes must be an int (got {type(num_classes).__name__})")
    if num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer (got {num_classes})")
    parent, name = _split_attr(model, attr)
    old = getattr(parent, name)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"attr {attr!r} must name an nn.Linear head (got {type(old).__name__})")
    # TODO: implement finetuning.replace_head (see the docstring).
    raise NotImplementedError("finetuning.replace_head")


def _bn_train_stays_eval(bn: nn.Module, mode: bool = True) -> nn.Module:
    """Replacement for `bn.train` installed by `prepare_for_finetuning`: ignores `mode`, stays in eval.

    `model.train()` calls `child.train(True)` on every submodule; an instance
    attribute `bn.train = functools.partial(_bn_train_stays_eval, bn)` shadows
    `nn.Module.train` for that one layer (picklable and `deepcopy`-able).
    """
    return nn.Module.train(bn, False)


def prepare_for_finetuning(model: nn.Module, num_classes: int, attr: str = "fc",
                           train_bn: bool = False) -> nn.Module:
    """Linear-probe setup: frozen backbone, new trainable head, BatchNorm statistics left alone.

    freeze(model); replace_head(model, num_classes, attr);
    train_bn=False: every BatchNorm stays in eval mode, even after model.train()
    train_bn=True:  BatchNorm affine weight/bias trainable, BatchNorm follows model.train()/eval()

    In train mode a BatchNorm normalises with the batch's statistics and moves
    its running mean/var towards the new data, so the "frozen" backbone would
    still change (and behave differently in eval). With `train_bn=False` each
    BatchNorm layer (any `_BatchNorm`: 1d/2d/3d/Sync) is switched to eval and its
    `train` method is overridden on the instance so that it stays in eval mode:
    forwards use (and never update) the pretrained running statistics.
    `train_bn=True` removes such a lock again. The model is modified in place
    and returned; its own train/eval mode is not changed.

    Args:
        num_classes: outputs of the new head.
        attr: name (dotted path) of the head. Default: `"fc"`.
        train_bn: fine-tune the BatchNorm layers too (affine parameters trainable,
            train mode with the model). Default: False.

    Compared against: `freeze`, then `replace_head`, then `bn.eval()` for every
    BatchNorm after each `model.train()`, with `nn.BatchNorm2d` running stats as reference.

    Hint: `bn.eval()` alone is not enough: the next `model.train()` switches it back.
    Freeze first, then replace the head (or the new head ends up frozen).
    """
    # TODO: implement finetuning.prepare_for_finetuning (see the docstring).
    raise NotImplementedError("finetuning.prepare_for_finetuning")


class LoRALinear(nn.Module):
    """A frozen `nn.Linear` plus a trainable low-rank update (LoRA, Hu et al. 2021).

    y = base(x) + dropout(x) @ A^T @ B^T * (alpha / r)

    `lora_A (r, in)` is initialised Kaiming-uniform with a=sqrt(5) (as
    `nn.Linear` weights: U(-1/sqrt(in), 1/sqrt(in))), `lora_B (out, r)` with
    zeros, so at initialisation the module computes exactly `base(x)` while the
    gradient w.r.t. B is non-zero. `base`'s parameters are frozen in place.

    Args:
        base: the `nn.Linear` to adapt.
        r: rank of the update (>= 1). Default: 8.
        alpha: scale; the update is multiplied by `scaling = alpha / r`. Default: 16.0.
        dropout: dropout probability on the adapter's input (train mode only). Default: 0.0.

    Shape:
        - Input: (*, in_features)
        - Output: (*, out_features)

    Attributes: `base`, `lora_A`, `lora_B`, `r`, `alpha`, `scaling`, `dropout` (module).

    Compared against `base(x) + F.linear(F.linear(x, A), B) * alpha / r` (outputs and
    gradients). `merge()` returns a new layer and leaves this module as it was (unlike
    PEFT's `merge_and_unload`, which adds the update into the base weight in place).

    Hint: B starts at zero, A does not (if both were zero, no gradient would flow
    to either); the scale is alpha / r, not r / alpha.
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16.0, dropout: float = 0.0) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear (got {type(base).__name__})")
        if isinstance(r, bool) or not isinstance(r, int):
            raise TypeError(f"r must be an int (got {type(r).__name__})")
        if r < 1:
            raise ValueError(f"r must be a positive integer (got {r})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
        self.r = r
        self.alpha = float(alpha)
        self.scaling = self.alpha / r
        self.base = base
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        # lora_A: (r, in_features), lora_B: (out_features, r)
        # TODO: implement finetuning.LoRALinear.__init__ (see the docstring).
        raise NotImplementedError("finetuning.LoRALinear.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: implement finetuning.LoRALinear.forward (see the docstring).
        raise NotImplementedError("finetuning.LoRALinear.forward")

    def merge(self) -> nn.Linear:
        """A new `nn.Linear` with weight `W + (alpha / r) * B @ A` and `base`'s bias: same output (no dropout).

        The result is independent of this module (which is left unchanged), on
        the same device/dtype, with `requires_grad` as `base.weight` (frozen).
        """
        base = self.base
        # skip_init: no random initialisation (and no global-RNG use), every value is overwritten
        merged = torch.nn.utils.skip_init(nn.Linear, base.in_features, base.out_features,
                                          bias=base.bias is not None,
                                          device=base.weight.device, dtype=base.weight.dtype)
        # TODO: implement finetuning.LoRALinear.merge (see the docstring).
        raise NotImplementedError("finetuning.LoRALinear.merge")
        return merged.requires_grad_(base.weight.requires_grad)

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}"


def apply_lora(model: nn.Module, target: Sequence[str], r: int = 8, alpha: float = 16.0) -> nn.Module:
    """Wraps the targeted `nn.Linear` layers of `model` in `LoRALinear`; freezes everything else.

    for name, m in model.named_modules(remove_duplicate=False):
        if isinstance(m, nn.Linear) and (name == t or name.endswith("." + t)) for some target t:
            replace m by LoRALinear(m, r, alpha)

    Matching is on whole name parts, as PEFT's `target_modules`: `"fc"` matches
    `"fc"` and `"blocks.0.fc"` but not `"fc1"` or `"out_fc"`; a target may be a
    dotted suffix (`"attn.proj"`). Subclasses of `nn.Linear` count (`isinstance`,
    not `type(m) is nn.Linear`): `nn.MultiheadAttention.out_proj`, a
    `NonDynamicallyQuantizableLinear`, is matched by `"out_proj"` — though
    `nn.MultiheadAttention` reads `out_proj.weight` itself instead of calling it, so
    the adapter would be bypassed there. After the call only the `lora_A`/`lora_B`
    parameters are trainable (the head too is frozen: unfreeze it yourself to
    train it). In place; returns `model`.

    A layer registered under several names (shared, `model.b = model.a`) is one
    layer: when any of its names matches, it is wrapped once and that same
    `LoRALinear` is set under every one of its names, matching or not, so the layer
    stays shared (PEFT's walk sees only a shared layer's first name).

    Args:
        target: module names (a single string is accepted as one name).
        r: LoRA rank. Default: 8.
        alpha: LoRA scale numerator. Default: 16.0.

    Raises:
        ValueError: any target that matches no `nn.Linear`, even when other targets
            match (PEFT complains only when none does); the model is left unchanged.

    Checked on models with nested layers whose names share suffixes, a shared layer,
    a subclass of `nn.Linear` and the pretrained CNN: which layers are wrapped (and
    with which `r`, `alpha`), which parameters stay trainable, the unchanged output
    right after the call, and that training moves exactly the adapters.

    Hint: `name.endswith(t)` alone also matches `"out_proj"` for `"proj"`.
    """
    targets = [target] if isinstance(target, str) else list(target)
    if not targets:
        raise ValueError("target must name at least one module")
    for t in targets:
        if not isinstance(t, str) or not t:
            raise ValueError(f"target names must be non-empty strings (got {t!r})")
    if isinstance(r, bool) or not isinstance(r, int):
        raise TypeError(f"r must be an int (got {type(r).__name__})")
    if r < 1:
        raise ValueError(f"r must be a positive integer (got {r})")
    # TODO: implement finetuning.apply_lora (see the docstring).
    raise NotImplementedError("finetuning.apply_lora")
