"""The runtime guard: runs in the worker, around the submission, beneath what the static scan sees.

The static scan (:mod:`autograder.forbidden`) reads the source; this guard covers what only
shows at run time (computed names, values handed around). Three parts:

* **Forbidden callables are wrapped.** A wrapped function refuses (and records) a call whose
  nearest caller that is not a pass-through (``functools``, ``map``, the standard library…)
  is the submission's own code. Submission frames are recognised by *code object*: the
  worker compiles the module itself and :meth:`Guard.admit` records every code object of it.
  Torch's and the grader's frames are recognised by their module's globals, so ``nn.ReLU``
  calling ``F.relu`` is not the student's call. The wrappers keep no ``__wrapped__``.
* **The submission's builtins are its own.** No ``exec``/``eval``/``compile``/``open``/
  ``vars``/``globals``/``locals``/``breakpoint``/``input``; ``__import__`` admits only the
  topic's allowed modules; ``getattr``/``setattr``/``delattr`` refuse double-underscore names,
  modules that are not allowed, and changes to modules or to classes the submission did not
  define.
* **An audit of torch's namespaces** (:meth:`Guard.audit`): what the submission replaced in
  torch, the grader's fixtures or the standard library since the guard was installed.
"""
from __future__ import annotations

import builtins
import math
import operator
import sys
import types
from itertools import repeat
from typing import Any, Callable

import torch

from autograder.forbidden import MODULE_LEVEL, forbidden_message, own_functions, resolve

REMOVED_BUILTINS = ("exec", "eval", "compile", "open", "input", "breakpoint", "vars", "globals", "locals",
                    "help", "exit", "quit", "copyright", "credits", "license", "__loader__", "__spec__")
SAFE_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__", "__class__", "__init__"})
TRUSTED_PREFIXES = ("torch", "autograder")
# Alternative implementations torch carries of its own functions: a forbidden name is wrapped there too.
ALTERNATIVE_OWNERS = ("torch._refs", "torch._refs.nn.functional", "torch._refs.special", "torch._decomp.decompositions")


class ForbiddenCallError(RuntimeError):
    """Raised inside the worker when the submission calls a forbidden function."""

    def __init__(self, call: str, where: str, function: str = MODULE_LEVEL):
        super().__init__(forbidden_message(call, function, where))
        self.forbidden = {"call": call, "where": where, "function": function}


def torch_state() -> dict[str, Any]:
    """torch's global settings a submission might change and a test relies on."""
    return {"default dtype": torch.get_default_dtype(), "grad mode": torch.is_grad_enabled(),
            "deterministic algorithms": torch.are_deterministic_algorithms_enabled(),
            "threads": torch.get_num_threads(), "anomaly detection": torch.is_anomaly_enabled(),
            "TF32 matmuls": torch.backends.cuda.matmul.allow_tf32,
            "TF32 convolutions": torch.backends.cudnn.allow_tf32}


def full_float32() -> None:
    """No TF32 on CUDA, wherever a test or a submission computes (judge, worker, local runs).

    The float32 tolerances (``grading.yml``: rtol 1.3e-6, atol 1e-5) are those of IEEE float32, on CPU and
    CUDA alike. TF32 keeps 10 mantissa bits (relative error ~5e-4), and torch lets cuDNN convolutions use it
    by default: a correct convolution written as unfold + matmul (no TF32) would then differ from
    ``F.conv2d`` (TF32) far beyond those tolerances. With TF32 off, one tolerance table holds on every device;
    a submission that turns it back on is reset before every test (:func:`restore_torch_state`).
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def restore_torch_state(state: dict[str, Any]) -> list[str]:
    """Put ``state`` back; what had changed, as "default dtype torch.float32 -> torch.float64"."""
    now = torch_state()
    changed = [f"{key} {state[key]} -> {now[key]}" for key in state if now[key] != state[key]]
    if changed:
        torch.set_default_dtype(state["default dtype"])
        torch.set_grad_enabled(state["grad mode"])
        torch.use_deterministic_algorithms(state["deterministic algorithms"])
        torch.set_num_threads(state["threads"])
        torch.autograd.set_detect_anomaly(state["anomaly detection"])
        torch.backends.cuda.matmul.allow_tf32 = state["TF32 matmuls"]
        torch.backends.cudnn.allow_tf32 = state["TF32 convolutions"]
    return changed


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _top(name: str) -> str:
    return name.split(".", 1)[0]


class Guard:
    """Everything the worker enforces at run time for one submitted module."""

    def __init__(self, forbidden: list[str], aten: list[str], imports: list[str], denied_modules: list[str],
                 module_name: str):
        self.forbidden = list(forbidden)
        self.aten = {n if "::" in n else f"aten::{n}" for n in aten}
        self.imports = set(imports)
        self.denied_modules = tuple(denied_modules)
        self.module_name = module_name
        self.hits: list[dict] = []
        self._submission_codes: set[int] = set()
        self._keep: list[Any] = []              # keeps ids of admitted code objects unique
        self._wrapped: dict[int, str] = {}      # id(wrapper or guarded class) -> forbidden name
        self._snapshot: list[tuple[str, Any, dict[str, Any]]] = []
        self._real_import = builtins.__import__

    # ------------------------------------------------------------------ whose frame is it
    def admit(self, code: types.CodeType) -> None:
        """Record ``code`` and every code object nested in it as the submission's."""
        todo = [code]
        while todo:
            c = todo.pop()
            self._submission_codes.add(id(c))
            self._keep.append(c)
            todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]

    def is_submission_frame(self, frame: types.FrameType) -> bool:
        return id(frame.f_code) in self._submission_codes

    def _trusted(self, frame: types.FrameType) -> bool:
        name = frame.f_globals.get("__name__")
        if not isinstance(name, str) or _top(name) not in TRUSTED_PREFIXES:
            return False
        module = sys.modules.get(name)
        return module is not None and getattr(module, "__dict__", None) is frame.f_globals

    def called_by_submission(self, frame: types.FrameType | None) -> bool:
        """Walk out from the caller: the submission's frame before torch's or the grader's means it called."""
        while frame is not None:
            if id(frame.f_code) in self._submission_codes:
                return True
            if self._trusted(frame):
                return False
            frame = frame.f_back
        return False

    def refuse(self, call: str, frame: types.FrameType | None) -> None:
        """Charge ``call`` to the submission's function nearest to ``frame`` (file, line and name)."""
        while frame is not None and id(frame.f_code) not in self._submission_codes:
            frame = frame.f_back
        where, function = "?", MODULE_LEVEL
        if frame is not None:
            where = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}"
            function = frame.f_code.co_qualname if frame.f_code.co_name != "<module>" else MODULE_LEVEL
        self.hits.append({"call": call, "where": where, "function": function})
        raise ForbiddenCallError(call, where, function)

    def is_guarded(self, obj: Any) -> str | None:
        """The forbidden name ``obj`` stands for, when the submission hands it over as a value."""
        try:
            return self._wrapped.get(id(obj))
        except TypeError:
            return None

    # ------------------------------------------------------------------ wrapping forbidden callables
    def _wrap_function(self, name: str, fn: Callable) -> Callable:
        guard = self

        def guarded(*args, **kwargs):
            caller = sys._getframe(1)
            if guard.called_by_submission(caller):
                guard.refuse(name, caller)
            return fn(*args, **kwargs)

        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(guarded, attr, getattr(fn, attr))
            except (AttributeError, TypeError):
                pass
        self._wrapped[id(guarded)] = name
        self._keep.append(guarded)
        return guarded

    def _wrap_packet(self, name: str, packet: Any) -> Any:
        """``torch.ops.aten.<op>``: calling it, or reaching one of its overloads (``.default``), from the
        submission's code is refused; torch itself keeps the packet's attributes as they are."""
        guard = self

        class GuardedOpPacket:
            __slots__ = ()

            def __call__(self, *args, **kwargs):
                caller = sys._getframe(1)
                if guard.called_by_submission(caller):
                    guard.refuse(name, caller)
                return packet(*args, **kwargs)

            def __getattr__(self, attr: str) -> Any:
                value = getattr(packet, attr)
                if isinstance(value, torch._ops.OpOverload):
                    caller = sys._getframe(1)
                    if guard.called_by_submission(caller):
                        guard.refuse(f"{name}.{attr}", caller)
                return value

        wrapped = GuardedOpPacket()
        self._wrapped[id(wrapped)] = name
        self._keep.append(wrapped)
        return wrapped

    def _targets(self) -> list[tuple[Any, str, str]]:
        targets = []
        for name in self.forbidden:
            owner_path, _, attr = name.rpartition(".")
            if attr == "*":  # a whole module: its functions, if torch has loaded it (importing it is refused)
                owner = sys.modules.get(owner_path)
                targets += [(owner, a, f"{owner_path}.{a}") for a, _ in own_functions(owner)]
            else:
                targets.append((resolve(owner_path), attr, name))
        # Every public or private entry point that exposes a forbidden aten operator, and torch's own
        # alternative implementations of a forbidden function (torch._refs.softmax computes softmax too).
        aten_names = {op.split("::", 1)[1] for op in self.aten}
        short_names = {n.rpartition(".")[2] for n in self.forbidden if not n.endswith(".*")}
        for attr in sorted(aten_names):
            for owner in _aten_owners():
                targets.append((owner, attr, f"torch.ops.aten.{attr}"))
        for attr in sorted(aten_names | short_names):
            for owner_path in ALTERNATIVE_OWNERS:
                targets.append((sys.modules.get(owner_path), attr, f"{owner_path}.{attr}"))
        return targets

    def install(self) -> None:
        for owner, attr, name in self._targets():
            original = getattr(owner, attr, None) if owner is not None else None
            if original is None or self.is_guarded(original) or (isinstance(original, types.ModuleType)):
                continue
            try:
                if isinstance(original, type):
                    original.__init__ = self._wrap_function(name, original.__init__)
                    self._wrapped[id(original)] = name
                elif isinstance(original, torch._ops.OpOverloadPacket):
                    setattr(owner, attr, self._wrap_packet(name, original))
                else:
                    setattr(owner, attr, self._wrap_function(name, original))
            except (TypeError, AttributeError):
                pass  # an immutable C type: its other routes are wrapped
        self._snapshot = [(label, obj, _values(obj)) for label, obj in _audited()]

    # ------------------------------------------------------------------ the submission's builtins
    def module_allowed(self, name: str) -> bool:
        """An allowed module; a forbidden one (``torch.nn.init``) only when torch has loaded it, as its
        functions are then guarded, and never one torch has not loaded (``torch.utils.cpp_extension``)."""
        if any(name == d or name.startswith(d + ".") for d in self.denied_modules) and name not in sys.modules:
            return False
        return _top(name) in self.imports

    def builtins(self) -> dict:
        """The ``__builtins__`` of the submitted module."""
        own = {k: v for k, v in vars(builtins).items() if k not in REMOVED_BUILTINS}
        own.update(__import__=self._import, getattr=self._getattr, setattr=self._setattr, delattr=self._delattr)
        return own

    # A refusal of these builtins counts as a forbidden call of the code that made it (sys._getframe(2)).
    def _import(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0):
        if level or not self.module_allowed(name):
            self.refuse(f"import {name} (not an allowed module)", sys._getframe(1))
        module = self._real_import(name, globals, locals, fromlist, level)
        for item in fromlist or ():
            value = getattr(module, item, None) if isinstance(item, str) else None
            if isinstance(value, types.ModuleType) and not self.module_allowed(value.__name__):
                self.refuse(f"import {value.__name__} (not an allowed module)", sys._getframe(1))
        return module

    def _check_name(self, name: Any, what: str) -> None:
        if isinstance(name, str) and _is_dunder(name) and name not in SAFE_DUNDERS:
            self.refuse(f"{what}(…, {name!r})", sys._getframe(2))

    def _getattr(self, obj: Any, name: str, *default: Any) -> Any:
        self._check_name(name, "getattr")
        value = getattr(obj, name, *default)
        if isinstance(value, types.ModuleType) and not self.module_allowed(value.__name__):
            self.refuse(f"getattr(…, {name!r}): module {value.__name__} (not an allowed module)", sys._getframe(1))
        return value

    def _may_change(self, obj: Any, name: Any, what: str) -> None:
        self._check_name(name, what)
        if isinstance(obj, types.ModuleType) or (isinstance(obj, type) and obj.__module__ != self.module_name):
            label = getattr(obj, "__name__", type(obj).__name__)
            self.refuse(f"{what}({label}, {name!r}): a change to torch or another module", sys._getframe(2))

    def _setattr(self, obj: Any, name: str, value: Any) -> None:
        self._may_change(obj, name, "setattr")
        setattr(obj, name, value)

    def _delattr(self, obj: Any, name: str) -> None:
        self._may_change(obj, name, "delattr")
        delattr(obj, name)

    # ------------------------------------------------------------------ audit
    def audit(self) -> list[str]:
        """Names in torch, the grader's modules or the standard library that were replaced or removed."""
        changed = []
        for label, obj, before in self._snapshot:
            now = vars(obj)
            if len(now) == len(before) and all(map(operator.is_, before.values(),
                                                   map(now.get, before.keys(), repeat(_MISSING)))):
                continue  # the same names, each still the same object (most namespaces; compared in C)
            for key, old in before.items():
                new = now.get(key, _MISSING)
                if new is old:
                    continue
                if self._rewrapped_by_torch(new, old):
                    before[key] = new
                else:
                    changed.append(f"{label}.{key}")
            for key in now.keys() - before.keys():  # torch.Tensor.add = … shadows the C method
                new = now[key]
                # __warningregistry__: the warnings machinery's record of a warning shown from that module
                if key == "__warningregistry__" or isinstance(new, types.ModuleType) or self._added_by_torch(key, new):
                    before[key] = new
                else:
                    changed.append(f"{label}.{key}")
        return changed

    def _added_by_torch(self, key: str, value: Any) -> bool:
        """A name torch adds lazily: its own function (or class) under its own name."""
        code = getattr(value, "__code__", None) if isinstance(value, types.FunctionType) else None
        return (isinstance(value, (types.FunctionType, type)) and value.__name__ == key
                and _top(value.__module__ or "") == "torch" and (code is None or id(code) not in self._submission_codes))

    def _rewrapped_by_torch(self, new: Any, old: Any) -> bool:
        """Torch wraps some of its own functions when a part of it first loads (``torch._dynamo`` wraps
        ``torch.manual_seed``, the first optimizer of a class hooks its ``step``): a chain of
        ``__wrapped__`` that leads back to the original, none of it the submission's code."""
        for _ in range(8):
            if not isinstance(new, types.FunctionType) or id(new.__code__) in self._submission_codes:
                return False
            new = new.__dict__.get("__wrapped__")
            if new is old:
                return True
        return False


_MISSING = object()


def _values(obj: Any) -> dict[str, Any]:
    """What a namespace holds now; lazily imported submodules come and go and are left out."""
    return {k: v for k, v in list(vars(obj).items()) if not isinstance(v, types.ModuleType)}


def _aten_owners() -> list:
    return [torch, torch.Tensor, torch._C._TensorBase, torch._C._VariableFunctions, torch._C._nn,
            torch.nn.functional, torch.special, torch.ops.aten]


def _audited() -> list[tuple[str, Any]]:
    """The namespaces a submission must not change: torch's core modules and classes, the grader's own."""
    modules = [torch, torch.nn, torch.nn.functional, torch.nn.init, torch.autograd, torch.optim, torch.testing,
               torch.linalg, torch.special, torch.fft, torch.random, math, builtins]
    modules += [m for n, m in list(sys.modules.items()) if _top(n) == "autograder" and m is not None]
    classes = {torch.Tensor, torch.nn.Parameter, torch.nn.Module, torch.autograd.Function, torch.optim.Optimizer}
    for module in list(modules):
        classes |= {v for v in vars(module).values() if isinstance(v, type) and _top(v.__module__) == "torch"}
    for name, module in list(sys.modules.items()):
        if name.startswith(("torch.nn.modules.", "torch.optim.")) and module is not None:
            classes |= {v for v in vars(module).values() if isinstance(v, type) and _top(v.__module__) == "torch"}
    named = [(m.__name__, m) for m in modules]
    named += [(f"{c.__module__}.{c.__qualname__}", c) for c in sorted(classes, key=lambda c: c.__qualname__)]
    return named
