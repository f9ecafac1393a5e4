"""The static scan: what a submission may not write, found by reading its source (never running it).

Configured from ``grading.yml`` (``forbidden`` dotted names, ``forbidden_aten`` operator names,
``imports`` per topic). :func:`scan` reports, attributed to the exercises whose code reaches
it (helpers are followed by name; module-level code counts for every exercise):

* every reference to a forbidden object — through ``import … as``, ``from … import``,
  attribute chains, ``getattr(obj, "constant")`` and module-level aliases;
* what reaches beneath the names: imports outside the allowed modules, star and relative
  imports, ``exec``/``eval``/``compile``/``__import__``/``open``/``vars``/``globals``/
  ``locals``/``breakpoint``, double-underscore attributes (``__wrapped__``, ``__globals__``,
  ``__closure__``, ``__code__``, ``__dict__``, ``__subclasses__``, ``__builtins__``…), frame
  attributes (``f_back``, ``f_globals``…), modules such as ``os``/``sys``/``gc`` reached as
  attributes (``torch.sys``), and assignments into torch or another module (monkeypatching).

:mod:`autograder.guard` enforces the same rules at run time, in the worker, for what
the source does not show.
"""
from __future__ import annotations

import ast
import importlib
import sys
import types
import warnings
from dataclasses import dataclass
from typing import Any, Collection

import torch

MODULE_LEVEL = "<module>"


# Builtins a submission has no use for: code from strings, files, introspection of scopes.
BANNED_BUILTINS = frozenset({"exec", "eval", "compile", "__import__", "open", "input", "breakpoint", "vars",
                             "globals", "locals", "__builtins__", "__loader__", "__spec__"})
# Double-underscore attributes and names a submission may use (super().__init__, type(x).__name__ …).
SAFE_DUNDERS = frozenset({"__init__", "__name__", "__qualname__", "__doc__", "__class__"})
MODULE_DUNDERS = frozenset({"__all__", "__file__"})  # a module's own names it may read and set
FRAME_ATTRIBUTES = frozenset({"f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame",
                              "tb_next", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
                              "_getframe", "settrace", "setprofile", "_current_frames"})
# Modules that torch and others import: reached as an attribute (torch.sys, nn.modules.module.os) they
# hand out the interpreter itself.
UNSAFE_MODULE_NAMES = frozenset({"os", "sys", "gc", "inspect", "builtins", "importlib", "subprocess", "socket",
                                 "ctypes", "pickle", "marshal", "shutil", "signal", "threading",
                                 "multiprocessing", "pathlib", "tempfile", "runpy", "pty", "resource", "posix",
                                 "_thread", "_imp", "_io", "urllib", "http", "ftplib", "pdb"})


@dataclass(frozen=True)
class Hit:
    """One rejected reference: what, where, and which exercise pays for it."""

    call: str
    line: int
    exercise: str = MODULE_LEVEL
    reason: str = ""  # a sentence for the student; empty for a forbidden torch function
    function: str = MODULE_LEVEL  # the top-level def or class whose code holds the line

    def describe(self, filename: str) -> str:
        if self.reason:
            return f"{self.reason} ({filename}:{self.line})"
        return forbidden_message(self.call, self.function, f"{filename}:{self.line}")


def forbidden_message(call: str, function: str, where: str) -> str:
    """What a student reads about a forbidden call, from the static scan and the runtime guard alike."""
    place = "at module level" if function == MODULE_LEVEL else f"in `{function}`"
    if call.startswith("torch.") and " " not in call:
        return f"{place} ({where}): forbidden call {call} (the module's docstring lists every forbidden call)"
    return f"{place} ({where}): {call} is not allowed"


def resolve(dotted: str) -> Any:
    """The object a dotted path names, or ``None``. Only ``torch`` is ever imported for it; other top-level
    modules are looked at only when already imported."""
    parts = dotted.split(".")
    if parts[0] != "torch":
        obj = sys.modules.get(parts[0])
        for part in parts[1:]:
            obj = getattr(obj, part, None)
        return obj
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
                module = sys.modules.get(name[:-2])  # a whole module: its functions if torch loaded it
                for attr, value in own_functions(module):
                    self.by_id.setdefault(id(value), f"{name[:-2]}.{attr}")
                continue
            if name.startswith("torch.Tensor."):
                self.methods[name.rsplit(".", 1)[1]] = name
            obj = resolve(name)
            if obj is not None:
                self.by_id[id(obj)] = name
        self._keep = [resolve(n) for n in names if not n.endswith(".*")]  # keep ids valid


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


def own_functions(module: Any) -> list[tuple[str, Any]]:
    """The Python functions a module defines itself (not what it imports, not C builtins)."""
    if not isinstance(module, types.ModuleType):
        return []
    with warnings.catch_warnings():  # deprecated aliases warn when looked at
        warnings.simplefilter("ignore")
        return [(a, v) for a, v in vars(module).items()
                if isinstance(v, types.FunctionType) and getattr(v, "__module__", None) == module.__name__]


# --------------------------------------------------------------------------- static scan

class _Scanner(ast.NodeVisitor):
    def __init__(self, forbidden: ForbiddenSet, imports: Collection[str] | None, bound: set[str]):
        self.forbidden = forbidden
        self.imports = None if imports is None else set(imports)
        self.bound = bound  # every name the module binds somewhere (a parameter named `input` is not the builtin)
        self.aliases: dict[str, str] = {}
        self.hits: dict[str, list[Hit]] = {}
        self.refs: dict[str, set[str]] = {}
        self.owner = MODULE_LEVEL
        self.runs_at_import = True  # a top-level statement other than a def or class body

    def reject(self, node: ast.AST, what: str, reason: str) -> None:
        """What runs at import costs every exercise; inside a def or class, the exercises that reach it."""
        owner = MODULE_LEVEL if self.runs_at_import else self.owner
        self.hits.setdefault(owner, []).append(Hit(what, node.lineno, owner, reason))

    def check_module(self, node: ast.AST, dotted: str, statement: str) -> None:
        """Only allowed modules; a forbidden module (``torch.nn.init.*``) is charged where it is used."""
        if self.imports is not None and dotted.split(".")[0] not in self.imports:
            allowed = ", ".join(sorted(self.imports))
            self.reject(node, dotted, f"`{statement}` is not allowed: a submission may import only {allowed}")

    # Imports anywhere bind aliases (conservative: function-local imports count too).
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.check_module(node, a.name, f"import {a.name}")
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                root = a.name.split(".")[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            self.reject(node, "relative import", "a relative import: a submission is one module, import torch instead")
            return
        self.check_module(node, node.module, f"from {node.module} import …")
        for a in node.names:
            if a.name == "*":
                self.reject(node, "import *", f"`from {node.module} import *` hides which names are used: "
                                              "import the names you need")
                continue
            if a.name in UNSAFE_MODULE_NAMES:  # from torch import os
                self.check_module(node, a.name, f"from {node.module} import {a.name}")
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
        attr = node.attr
        if attr.startswith("__") and attr.endswith("__") and attr not in SAFE_DUNDERS:
            self.reject(node, f".{attr}", f"`.{attr}` reaches into Python's internals, which a submission may not do")
        elif attr in FRAME_ATTRIBUTES:
            self.reject(node, f".{attr}", f"`.{attr}` inspects the running program, which a submission may not do")
        elif attr in UNSAFE_MODULE_NAMES:
            self.reject(node, f".{attr}", f"`.{attr}` reaches the module {attr}, which a submission may not use")
        elif self.check(node):
            return  # the whole chain is one forbidden reference
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.refs.setdefault(self.owner, set()).add(node.id)
        name = node.id
        if name in BANNED_BUILTINS and (name not in self.bound or name.startswith("__")):
            self.reject(node, name, f"`{name}` is not available to a submission")
        elif (isinstance(node.ctx, ast.Load) and name.startswith("__") and name.endswith("__")
              and name not in SAFE_DUNDERS | MODULE_DUNDERS):
            self.reject(node, name, f"`{name}` reaches into Python's internals, which a submission may not do")
        else:
            self.check(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") and node.args:
            target, _ = self.dotted(node.args[0])
            if target is not None:
                self.reject(node, node.func.id, f"`{node.func.id}({target}, …)` changes {target} itself: "
                                                "a submission may not change torch or other modules")
        if not self.check(node):
            self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.check_targets(node, node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_targets(node, [node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.check_targets(node, [node.target])
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        self.check_targets(node, node.targets)
        self.generic_visit(node)

    def check_targets(self, node: ast.AST, targets: list[ast.expr]) -> None:
        """``torch.x = …``, ``nn.Module.forward = …``, ``type(m).forward = …``: monkeypatching."""
        for target in targets:
            for t in ast.walk(target):
                if not isinstance(t, ast.Attribute):
                    continue
                base, _ = self.dotted(t.value)
                is_type_call = (isinstance(t.value, ast.Call) and isinstance(t.value.func, ast.Name)
                                and t.value.func.id == "type")
                if base is not None or is_type_call or (isinstance(t.value, ast.Attribute)
                                                        and t.value.attr == "__class__"):
                    what = base or "a class"
                    self.reject(node, f"{what}.{t.attr} =", f"assigning `{what}.{t.attr}` changes {what} itself: "
                                                             "a submission may not change torch or other modules")

    def top_level(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            names = _bound_names(stmt)
            self.owner = names[0] if len(names) == 1 else MODULE_LEVEL
            self.runs_at_import = not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
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


def _bound_anywhere(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def scan(source: str, filename: str, forbidden: ForbiddenSet, exercises: list[str],
         imports: Collection[str] | None = None) -> dict[str, list[Hit]]:
    """Rejected references per exercise; ``imports`` (None: any) are the modules the submission may import.
    Raises ``SyntaxError`` for unparsable source."""
    tree = ast.parse(source, filename=filename)
    scanner = _Scanner(forbidden, imports, _bound_anywhere(tree))
    scanner.top_level(tree)
    module_hits = scanner.hits.get(MODULE_LEVEL, [])
    result: dict[str, list[Hit]] = {}
    for exercise in exercises:
        seen, todo, hits = set(), [(exercise, False)], []
        while todo:
            name, crossed = todo.pop()  # crossed: reached through another exercise
            if (name, crossed) in seen:
                continue
            seen.add((name, crossed))
            # A forbidden torch call is charged to the exercise whose code holds it (and to the helpers'
            # callers): another exercise calling it is graded with the grader's version of that exercise,
            # and the runtime guard sees the call should the student's own still run. What the guard cannot
            # stop at run time (a reason: reaching into the interpreter) is charged to every caller.
            crossed = crossed or (name != exercise and name in exercises)
            hits += [Hit(h.call, h.line, exercise, h.reason, name) for h in scanner.hits.get(name, [])
                     if h.reason or not crossed]
            todo += [(n, crossed) for n in scanner.refs.get(name, ()) if n in scanner.refs or n in scanner.hits]
        hits += [Hit(h.call, h.line, exercise, h.reason, MODULE_LEVEL) for h in module_hits]
        if hits:
            result[exercise] = sorted(set(hits), key=lambda h: h.line)
    return result
