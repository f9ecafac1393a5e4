"""The untrusted side: imports one submitted topic module and serves the judge's calls.

Started by :mod:`autograder.remote` as ``python -m autograder.worker FD`` in a process
group of its own, with stdout/stderr sent to a log file, so whatever the submission
prints never reaches the protocol socket (file descriptor FD). The first message
names the module and the forbidden calls; the runtime guard is installed before the
module is imported. Every reply carries the forbidden calls the submission made
while serving the request.

Nothing here decides pass or fail: the judge only receives plain data.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import sys
import sysconfig
import traceback
from typing import Any

import torch

from autograder import protocol
from autograder.forbidden import RuntimeGuard

RUNNABLE_PREFIXES = ("autograder.fixtures.", "torch.")  # where impl.run may find the function it calls


class Worker:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.module: Any = None
        self.path = ""
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> ref id
        self.next_id = 1
        self.guard: RuntimeGuard | None = None

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
        return self.objects[data["__ref__"]]

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
                # (blob index, argument, copy): what the call changes in place goes back to the judge.
                # A copy, not the version counter: writes through ``t.data`` do not bump ``t``'s.
                originals = [(i, t, t.detach().clone()) for i, t in decoder.tensors]
                result = self.handle(request)
                reply = {"ok": True, "value": result}
            except protocol.ProtocolError:
                raise
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
        for frame in traceback.extract_tb(exc.__traceback__):
            if self.path and os.path.abspath(frame.filename) == self.path:
                where = f"{os.path.basename(frame.filename)}:{frame.lineno}"
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
        raise protocol.ProtocolError(f"unknown op {op!r}")

    def init(self, request: dict) -> list[str]:
        self.path = os.path.abspath(request["path"])
        self.guard = RuntimeGuard(request.get("forbidden", []), request.get("forbidden_aten", []),
                                  untrusted=lambda filename: not _trusted(filename))
        self.guard.install()
        name = request["module"]
        spec = importlib.util.spec_from_file_location(name, self.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        self.module = module
        return sorted(n for n in vars(module) if not n.startswith("__"))

    def resolve_runnable(self, qualified: str) -> Any:
        module_name, _, qualname = qualified.partition(":")
        if not (module_name + ".").startswith(RUNNABLE_PREFIXES):
            raise PermissionError(f"{qualified} is not a trusted helper")
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj


def _changed(tensor: torch.Tensor, before: torch.Tensor) -> bool:
    if tensor.shape != before.shape or tensor.dtype != before.dtype:
        return True
    same = tensor.detach() == before
    if tensor.is_floating_point() or tensor.is_complex():
        same |= tensor.detach().isnan() & before.isnan()
    return not bool(same.all())


_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_AUTOGRADER_DIR = os.path.dirname(os.path.abspath(protocol.__file__)) + os.sep
_STDLIB_DIR = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep


def _trusted(filename: str) -> bool:
    """Frames of torch, of this grader and of the standard library are not the submission's."""
    path = os.path.abspath(filename)
    if path.startswith((_TORCH_DIR, _AUTOGRADER_DIR)):
        return True
    return path.startswith(_STDLIB_DIR) and "site-packages" not in path


def main() -> None:
    fd = int(sys.argv[1])
    sock = socket.socket(fileno=fd)
    sys.stdin = open(os.devnull)
    Worker(sock).serve()
    # Leave at once: never run atexit hooks the submission may have registered.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
