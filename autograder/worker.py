"""The untrusted side: imports one submitted topic module and serves the judge's calls.

Started by :mod:`autograder.remote` through the sandbox (:mod:`autograder.sandbox`) as
``python -m autograder.worker FD``, with stdout/stderr sent to a log file, so whatever the
submission prints never reaches the protocol socket (file descriptor FD). The first
message names the module, the forbidden calls and the allowed imports; the runtime guard
(:mod:`autograder.guard`) is installed before the module is compiled and run with
builtins of its own. Every reply carries the forbidden calls the submission made while
serving the request; ``audit`` reports what it changed in torch.

Nothing here decides pass or fail: the judge only receives plain data.
"""
from __future__ import annotations

import importlib
import os
import socket
import sys
import traceback
import types
from typing import Any

import torch

from autograder import protocol
from autograder.fixtures import references
from autograder.guard import Guard, full_float32, restore_torch_state, torch_state

RUNNABLE_PREFIXES = ("autograder.fixtures.", "torch.")  # where impl.run may find the function it calls


class Worker:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.module: Any = None
        self.path = ""
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> ref id
        self.next_id = 1
        self.guard: Guard | None = None
        self.settings = torch_state()  # torch's global settings every test starts from
        self.topic = ""
        self.undo_serving = lambda: None  # puts the submission's own exercises back (see ``lend``)

    # ---------------------------------------------------------------- references
    def as_ref(self, obj: Any) -> dict:
        ref = self.ids.get(id(obj))
        if ref is None or self.objects.get(ref) is not obj:
            ref = self.next_id
            self.next_id += 1
            self.objects[ref] = obj
            self.ids[id(obj)] = ref
        kind = type(obj) if not isinstance(obj, type) else obj
        return {
            "__ref__": ref,
            "type": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "mro": [f"{c.__module__}.{c.__qualname__}" for c in kind.__mro__],
            "is_class": isinstance(obj, type),
            "callable": callable(obj),
            "name": getattr(obj, "__qualname__", None) if callable(obj) else None,
        }

    def from_ref(self, data: dict) -> Any:
        if "__ref__" not in data or data["__ref__"] not in self.objects:
            if data.get("__ref__") == 0:
                return self.module
            raise protocol.ProtocolError(f"unknown reference {data!r}")
        obj = self.objects[data["__ref__"]]
        forbidden = self.guard.is_guarded(obj) if self.guard else None
        if forbidden:  # the submission handed over a forbidden function as its own
            self.guard.hits.append({"call": forbidden, "where": f"{os.path.basename(self.path)} (as a value)"})
            raise ForbiddenValue(forbidden)
        return obj

    # ---------------------------------------------------------------- serving
    def serve(self) -> None:
        while True:
            try:
                header, blobs = protocol.recv_message(self.sock)
            except EOFError:
                return
            decoder = protocol.Decoder(blobs, self.from_ref)
            originals: list[tuple[int, torch.Tensor, torch.Tensor]] = []
            if self.guard:
                self.guard.hits.clear()
            try:
                request = decoder.decode(header.get("request"))
                # (blob index, argument, copy) of the in-out arguments: their changes go back to the judge.
                # A copy, not the version counter: writes through ``t.data`` do not bump ``t``'s.
                originals = [(i, t, t.detach().clone()) for i, t in decoder.inout]
                result = self.handle(request)
                reply = {"ok": True, "value": result}
            except protocol.ProtocolError:
                raise
            except ForbiddenValue as exc:
                reply = {"ok": False, "error": {"type": "ForbiddenCallError", "bases": ["RuntimeError"],
                                                "message": str(exc), "where": None,
                                                "forbidden": self.guard.hits[-1]}}
            except BaseException as exc:  # noqa: BLE001 - everything the submission raises is data
                if isinstance(exc, SystemExit):
                    exc = RuntimeError(f"the submission called exit({exc.code!r})")
                if isinstance(exc, KeyboardInterrupt):
                    exc = RuntimeError("the submission raised KeyboardInterrupt")
                reply = {"ok": False, "error": self.describe(exc)}
            reply["hits"] = list(self.guard.hits) if self.guard else []
            self.reply(reply, originals)

    def reply(self, reply: dict, originals) -> None:
        def argument(tensor):
            for index, arg, _ in originals:
                if tensor is arg:
                    return {"__argtensor__": index}
            return None

        try:
            value, enc = protocol.pack(reply.pop("value", None), self.as_ref, argument)
            mutated = [[index, enc.encode_tensor(t)] for index, t, before in originals if _changed(t, before)]
        except BaseException as exc:  # noqa: BLE001
            value, enc = protocol.pack(None, self.as_ref)
            mutated = []
            reply = {"ok": False, "error": self.describe(exc), "hits": reply.get("hits", [])}
        reply.update(value=value, mutated=mutated, blobs=len(enc.blobs))
        protocol.send_message(self.sock, reply, enc.blobs)

    def describe(self, exc: BaseException) -> dict:
        where = None
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if self.guard and self.guard.is_submission_frame(frame):
                where = f"{os.path.basename(self.path)}:{lineno}"
        if isinstance(exc, SyntaxError) and exc.lineno:
            where = f"{os.path.basename(exc.filename or self.path)}:{exc.lineno}"
        bases = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"]
        message = str(exc)
        if len(message) > 4000:
            message = message[:4000] + " …"
        return {"type": type(exc).__name__, "bases": bases, "message": message, "where": where,
                "forbidden": getattr(exc, "forbidden", None)}

    # ---------------------------------------------------------------- requests
    def handle(self, request: dict) -> Any:
        op = request["op"]
        if op == "init":
            return self.init(request)
        if op == "release":
            for ref in request["ids"]:
                obj = self.objects.pop(ref, None)
                if obj is not None:
                    self.ids.pop(id(obj), None)
            return None
        if op == "run":
            fn = self.resolve_runnable(request["fn"])
            return fn(*request["args"], **request["kwargs"])
        target = request.get("target")
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "setattr":
            setattr(target, request["name"], request["value"])
            return None
        if op == "call":
            return target(*request["args"], **request["kwargs"])
        if op == "iter":
            return list(target)
        if op == "len":
            return len(target)
        if op == "getitem":
            return target[request["key"]]
        if op == "repr":
            return repr(target)[:2000]
        if op == "serve":  # the start of a test: the exercises it uses are the grader's references
            self.lend(request["names"])
            return None
        if op == "audit":  # the end of a test: what it replaced in torch; torch's settings as they were
            self.lend([])
            changed = self.guard.audit() if self.guard else []
            restore_torch_state(self.settings)
            return changed
        raise protocol.ProtocolError(f"unknown op {op!r}")

    def init(self, request: dict) -> list[str]:
        """Compile and run the submitted module under the guard; its public names."""
        self.path = os.path.abspath(request["path"])
        name = request["module"]
        self.guard = Guard(request.get("forbidden", []), request.get("forbidden_aten", []),
                           request.get("imports", []), request.get("denied_modules", []), name)
        self.guard.install()
        with open(self.path, encoding="utf-8", errors="replace") as f:
            code = compile(f.read(), self.path, "exec", dont_inherit=True)
        self.guard.admit(code)
        module = types.ModuleType(name)
        module.__file__ = self.path
        module.__dict__["__builtins__"] = self.guard.builtins()
        sys.modules[name] = module
        full_float32()
        self.settings = torch_state()
        exec(code, module.__dict__)  # noqa: S102 - the submission, compiled above, with its own builtins
        restore_torch_state(self.settings)  # a default dtype set at import must not reach the tests
        self.module = module
        self.topic = name
        changed = self.guard.audit()
        if changed:
            raise RuntimeError(f"the module changed torch itself at import: {', '.join(changed[:5])}")
        self.lend(request.get("serve", []))
        return sorted(n for n in vars(module) if not n.startswith("__"))

    def lend(self, names: list[str]) -> None:
        """Exactly ``names`` of the module are trusted stand-ins from now on (none: the student's own)."""
        self.undo_serving()
        self.undo_serving = references.serve(self.module.__dict__, self.topic, names) if names else lambda: None

    def resolve_runnable(self, qualified: str) -> Any:
        module_name, _, qualname = qualified.partition(":")
        if not (module_name + ".").startswith(RUNNABLE_PREFIXES):
            raise PermissionError(f"{qualified} is not a trusted helper")
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj


class ForbiddenValue(Exception):
    """A request names a forbidden function the submission handed over as one of its own values."""

    def __init__(self, name: str):
        super().__init__(f"forbidden call {name}: the submission hands over {name} itself")


def _changed(tensor: torch.Tensor, before: torch.Tensor) -> bool:
    if tensor.shape != before.shape or tensor.dtype != before.dtype:
        return True
    same = tensor.detach() == before
    if tensor.is_floating_point() or tensor.is_complex():
        same |= tensor.detach().isnan() & before.isnan()
    return not bool(same.all())


def main(fd: int | None = None) -> None:
    """Serve on the socket ``fd`` (default: the command line's), then leave without running exit hooks."""
    fd = int(sys.argv[1]) if fd is None else fd
    sock = socket.socket(fileno=fd)
    sys.stdin = open(os.devnull)
    Worker(sock).serve()
    # Leave at once: never run atexit hooks the submission may have registered.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
