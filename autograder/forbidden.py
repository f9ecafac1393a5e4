"""Forbidden calls: the torch functions an exercise asks the student to write.

Two nets, both configured from ``grading.yml`` (``forbidden`` dotted names and
``forbidden_aten`` operator names per topic):

* :func:`scan` reads the submitted source (never runs it) and reports every reference
  to a forbidden object — through ``import … as``, ``from … import``, attribute chains,
  ``getattr(obj, "constant")`` and module-level aliases — attributed to the exercises
  whose code reaches it (helpers are followed by name).
* :class:`RuntimeGuard` runs inside the worker: it wraps the forbidden callables and
  every torch entry point named after a forbidden aten operator (``torch._softmax``,
  ``torch.ops.aten._softmax``, ``torch._C._nn.…``), and records a hit only when the
  *immediate caller* is the submission's own code (``nn.ReLU`` calling ``F.relu``
  inside torch is not a hit).
"""
from __future__ import annotations

import ast
import importlib
import sys
from dataclasses import dataclass
from typing import Any, Callable

import torch

MODULE_LEVEL = "<module>"


@dataclass(frozen=True)
class Hit:
    """One forbidden reference: which call, where, and which exercise pays for it."""

    call: str
    line: int
    exercise: str = MODULE_LEVEL

    def describe(self, filename: str) -> str:
        return f"uses forbidden {self.call} ({filename}:{self.line})"


def resolve(dotted: str) -> Any:
    """The object a dotted torch path names, or ``None`` (only torch is ever imported)."""
    parts = dotted.split(".")
    if parts[0] != "torch":
        return None
    obj: Any = torch
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(".".join(parts[: i + 1]))
            except ImportError:
                return None
    return obj


class ForbiddenSet:
    """The forbidden objects of one topic, matched by identity, method name or aten name."""

    def __init__(self, names: list[str], aten: list[str]):
        self.by_id: dict[int, str] = {}
        self.methods: dict[str, str] = {}
        self.prefixes = [n[:-1] for n in names if n.endswith(".*")]  # "torch.nn.init.*": the whole module
        self.aten = {n if "::" in n else f"aten::{n}" for n in aten}
        for name in names:
            if name.endswith(".*"):
                module = resolve(name[:-2])
                for attr, value in _own_functions(module):
                    self.by_id.setdefault(id(value), f"{name[:-2]}.{attr}")
                continue
            if name.startswith("torch.Tensor."):
                self.methods[name.rsplit(".", 1)[1]] = name
            obj = resolve(name)
            if obj is not None:
                self.by_id[id(obj)] = name
        self._keep = [resolve(n) for n in names]  # keep ids valid

    def match(self, dotted: str | None, attr: str | None) -> str | None:
        if dotted is not None:
            for prefix in self.prefixes:
                if dotted.startswith(prefix) and dotted != prefix[:-1]:
                    return dotted
            obj = resolve(dotted)
            if obj is not None:
                if id(obj) in self.by_id:
                    return self.by_id[id(obj)]
                op = getattr(obj, "_qualified_op_name", None) or getattr(getattr(obj, "_schema", None), "name", None)
                if not isinstance(op, str) and type(obj).__name__ == "builtin_function_or_method":
                    op = f"aten::{obj.__name__}"  # torch._softmax, torch._C._VariableFunctions._softmax …
                if isinstance(op, str) and op in self.aten:
                    return f"torch.ops.{op.replace('::', '.')}"
                return None
        if attr is not None and attr in self.methods:
            return self.methods[attr]
        return None


def _own_functions(module: Any) -> list[tuple[str, Any]]:
    """The functions a module defines itself (not what it imports)."""
    if module is None:
        return []
    return [(a, v) for a, v in vars(module).items()
            if callable(v) and not isinstance(v, type) and getattr(v, "__module__", None) == module.__name__]


# --------------------------------------------------------------------------- static scan

class _Scanner(ast.NodeVisitor):
    def __init__(self, forbidden: ForbiddenSet):
        self.forbidden = forbidden
        self.aliases: dict[str, str] = {}
        self.hits: dict[str, list[Hit]] = {}
        self.refs: dict[str, set[str]] = {}
        self.owner = MODULE_LEVEL

    # Imports anywhere bind aliases (conservative: function-local imports count too).
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                root = a.name.split(".")[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        for a in node.names:
            if a.name != "*":
                self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def dotted(self, node: ast.AST) -> tuple[str | None, str | None]:
        """(resolved dotted path or None, last attribute name or None)."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id), None
        if isinstance(node, ast.Attribute):
            base, _ = self.dotted(node.value)
            return (f"{base}.{node.attr}" if base else None), node.attr
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)):
            base, _ = self.dotted(node.args[0])
            attr = node.args[1].value
            return (f"{base}.{attr}" if base else None), attr
        return None, None

    def check(self, node: ast.AST) -> bool:
        dotted, attr = self.dotted(node)
        if dotted is None and attr is None:
            return False
        call = self.forbidden.match(dotted, attr)
        if call:
            self.hits.setdefault(self.owner, []).append(Hit(call, node.lineno, self.owner))
            return True
        return False

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self.check(node):
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.refs.setdefault(self.owner, set()).add(node.id)
        self.check(node)

    def visit_Call(self, node: ast.Call) -> None:
        if not self.check(node):
            self.generic_visit(node)

    def top_level(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            names = _bound_names(stmt)
            self.owner = names[0] if len(names) == 1 else MODULE_LEVEL
            self.visit(stmt)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.refs.setdefault(stmt.name, set())


def _bound_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def scan(source: str, filename: str, forbidden: ForbiddenSet, exercises: list[str]) -> dict[str, list[Hit]]:
    """Forbidden references per exercise. Raises ``SyntaxError`` for unparsable source."""
    tree = ast.parse(source, filename=filename)
    scanner = _Scanner(forbidden)
    scanner.top_level(tree)
    module_hits = scanner.hits.get(MODULE_LEVEL, [])
    result: dict[str, list[Hit]] = {}
    for exercise in exercises:
        seen, todo, hits = set(), [exercise], []
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            hits += [Hit(h.call, h.line, exercise) for h in scanner.hits.get(name, [])]
            todo += [n for n in scanner.refs.get(name, ()) if n in scanner.refs or n in scanner.hits]
        hits += [Hit(h.call, h.line, exercise) for h in module_hits]
        if hits:
            result[exercise] = sorted(set(hits), key=lambda h: h.line)
    return result


# --------------------------------------------------------------------------- runtime guard

class ForbiddenCallError(RuntimeError):
    """Raised inside the worker when the submission calls a forbidden function."""

    def __init__(self, call: str, where: str):
        super().__init__(f"forbidden call {call} at {where}")
        self.forbidden = {"call": call, "where": where}


class RuntimeGuard:
    """Wraps forbidden callables so calls from untrusted frames are recorded and refused."""

    def __init__(self, names: list[str], aten: list[str], untrusted: Callable[[str], bool]):
        self.names = names
        self.aten = {n if "::" in n else f"aten::{n}" for n in aten}
        self.untrusted = untrusted
        self.hits: list[dict] = []

    def _hit(self, call: str, frame) -> None:
        where = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}"
        self.hits.append({"call": call, "where": where})
        raise ForbiddenCallError(call, where)

    def _wrap_function(self, name: str, fn: Callable) -> Callable:
        guard = self

        def guarded(*args, **kwargs):
            caller = sys._getframe(1)
            if guard.untrusted(caller.f_code.co_filename):
                guard._hit(name, caller)
            return fn(*args, **kwargs)

        guarded.__wrapped__ = fn
        guarded.__name__ = getattr(fn, "__name__", name)
        guarded.__qualname__ = getattr(fn, "__qualname__", name)
        guarded.__doc__ = getattr(fn, "__doc__", None)
        if isinstance(fn, torch._ops.OpOverloadPacket):
            return _GuardedPacket(fn, self, name)
        return guarded

    def install(self) -> None:
        targets = []
        for name in self.names:
            owner_path, _, attr = name.rpartition(".")
            if attr == "*":
                owner = resolve(owner_path)
                targets += [(owner, a, f"{owner_path}.{a}") for a, _ in _own_functions(owner)]
                continue
            targets.append((resolve(owner_path), attr, name))
        # Every public or private entry point that exposes a forbidden aten operator.
        for op in self.aten:
            attr = op.split("::", 1)[1]
            for owner in _aten_owners():
                targets.append((owner, attr, f"torch.ops.aten.{attr}"))
        for owner, attr, name in targets:
            original = getattr(owner, attr, None) if owner is not None else None
            if original is None or getattr(original, "__wrapped__", None) is not None:
                continue
            try:
                if isinstance(original, type):
                    original.__init__ = self._wrap_function(name, original.__init__)
                else:
                    setattr(owner, attr, self._wrap_function(name, original))
            except (TypeError, AttributeError):
                pass  # an immutable C type: its other routes are wrapped


def _aten_owners() -> list:
    return [torch, torch.Tensor, torch._C._TensorBase, torch._C._VariableFunctions, torch._C._nn,
            torch.nn.functional, torch.special, torch.ops.aten]


class _GuardedPacket:
    """``torch.ops.aten.<op>`` with a guarded call; its overloads and attributes stay reachable for torch."""

    def __init__(self, packet: Any, guard: RuntimeGuard, name: str):
        self.__wrapped__ = packet
        self._guard = guard
        self._name = name

    def __call__(self, *args, **kwargs):
        caller = sys._getframe(1)
        if self._guard.untrusted(caller.f_code.co_filename):
            self._guard._hit(self._name, caller)
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)
