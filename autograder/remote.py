"""Judge side of the worker: process management and the proxies tests talk to.

:class:`Worker` starts ``python -m autograder.worker`` for one topic module in its own
process group, sends requests with a deadline and turns every reply back into Python
values: tensors by value, everything else as a :class:`RemoteObject` standing for the
object in the worker. Timeouts, crashes and malformed replies kill the process group and
raise a :class:`SubmissionError`; the next request starts a fresh worker, so one bad
test costs only itself.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from typing import Any

import torch

from autograder import protocol, zygote
from autograder.forbidden import MODULE_LEVEL, forbidden_message
from autograder.sandbox import Sandbox


class SubmissionError(Exception):
    """Base of every failure caused by the submission rather than by the judge."""

    status = "error"


class SubmissionTimeout(SubmissionError):
    status = "timeout"


class SubmissionCrashed(SubmissionError):
    pass


class ForbiddenCall(SubmissionError):
    status = "forbidden"


class StaleReference(SubmissionError):
    pass


_RAISABLE = {
    cls.__name__: cls
    for cls in (ValueError, TypeError, IndexError, KeyError, NotImplementedError, AttributeError,
                ZeroDivisionError, ArithmeticError, LookupError, AssertionError, RuntimeError)
}
_raised_types: dict[str, type] = {}


def hit_message(hit: dict) -> str:
    """A forbidden call the worker's guard reported, as the student reads it."""
    return forbidden_message(str(hit.get("call")), str(hit.get("function") or MODULE_LEVEL), str(hit.get("where")))


def _submission_exception(error: dict) -> SubmissionError:
    """Rebuild the submission's exception as a judge-side class: same builtin base, marked as the submission's."""
    if error.get("forbidden"):
        f = error["forbidden"]
        return ForbiddenCall(hit_message(f))
    base = next((_RAISABLE[b] for b in error.get("bases", []) if b in _RAISABLE), RuntimeError)
    name = str(error.get("type", "Exception"))
    key = f"{name}/{base.__name__}"
    if key not in _raised_types:
        _raised_types[key] = type(name, (base, SubmissionError), {"__module__": "submission"})
    where = f" (at {error['where']})" if error.get("where") else ""
    return _raised_types[key](f"{error.get('message', '')}{where}")


class Worker:
    """One untrusted process serving one topic module; restarted after a crash or timeout.

    ``sandbox`` decides how the process is started (:class:`autograder.sandbox.Sandbox`);
    ``guard`` is what the worker's runtime guard needs (forbidden names, allowed imports).
    """

    def __init__(self, module_path: str, module_name: str, sandbox: Sandbox, guard: dict | None = None,
                 caps: protocol.Caps = protocol.Caps()):
        self.module_path = os.path.abspath(module_path)
        self.module_name = module_name
        self.sandbox = sandbox
        self.guard = guard or {}
        self.caps = caps
        self.log_dir = sandbox.workdir
        self.proc: subprocess.Popen | zygote.Child | None = None
        self.sock: socket.socket | None = None
        self.generation = 0
        self.names: list[str] = []
        self.import_error: SubmissionError | None = None
        self.deadline: float | None = None
        self.start_seconds = 0.0    # spent starting workers during the current test (not its time)
        self.hits: list[dict] = []  # every forbidden call reported, for the current test
        self.requests = 0  # sent during the current test (none: no code of the submission ran in it)
        self.serving: list[str] = []  # exercises the worker serves with trusted references (this test's uses)
        self._proxies: dict[int, RemoteObject] = {}

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        parent, child = socket.socketpair()
        self.generation += 1
        self._proxies = {}
        log = open(os.path.join(self.log_dir, f"{self.module_name}.{self.generation}.log"), "wb")
        spec = self.sandbox.spec(self.module_path, child.fileno())
        launched = time.monotonic()  # a fork server still importing torch makes the first start wait here
        self.proc = zygote.start_worker(spec, log.fileno(), child.fileno())
        if self.proc is None:  # no fork server: a new process
            launch = self.sandbox.command(spec)
            self.proc = subprocess.Popen(launch.argv, env=launch.env, cwd=launch.cwd, pass_fds=[child.fileno()],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        child.close()
        log.close()
        self.sock = parent
        started = time.monotonic()
        try:
            self.names = self._request({"op": "init", "path": self.sandbox.module_path(self.module_path),
                                        "module": self.module_name, "serve": self.serving, **self.guard},
                                       deadline=started + self.sandbox.limits.import_seconds)
            self.start_seconds += time.monotonic() - launched
            if self.deadline is not None:  # starting python and torch is not the test's time
                self.deadline += time.monotonic() - launched
        except SubmissionError as exc:
            # Importing failed (syntax error, exception, exit or endless loop at import time): it would
            # fail the same way again, so every later request gets this error without a restart.
            self.kill()
            self.import_error = exc
            self.names = []

    def ensure(self) -> None:
        if self.import_error is None and (self.proc is None or self.proc.poll() is not None):
            self.start()
        if self.import_error is not None:
            raise self.import_error

    def kill(self) -> None:
        if self.proc is not None:
            zygote.kill_group(self.proc)
            self.proc.wait()
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def close(self) -> None:
        self.kill()
        self.proc = None

    def log_tail(self, n: int = 600) -> str:
        path = os.path.join(self.log_dir, f"{self.module_name}.{self.generation}.log")
        try:
            with open(path, "rb") as f:
                f.seek(max(0, os.path.getsize(path) - n))
                return f.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def serve(self, names: list[str]) -> None:
        """From now until the end of the test (``audit``), ``names`` are the grader's references."""
        if names or self.serving:
            self.serving = list(names)
            self.request({"op": "serve", "names": self.serving})

    # ---------------------------------------------------------------- requests
    def request(self, request: dict) -> Any:
        self.ensure()
        return self._request(request, self.deadline)

    def _request(self, request: dict, deadline: float | None) -> Any:
        generation = self.generation
        self.requests += 1
        payload, enc = protocol.pack(request, self._outgoing)
        op = request["op"]
        try:
            self.sock.settimeout(None if deadline is None else max(0.01, deadline - time.monotonic()))
            protocol.send_message(self.sock, {"request": payload, "blobs": len(enc.blobs)}, enc.blobs)
            header, blobs = protocol.recv_message(self.sock, deadline, self.caps)
        except (socket.timeout, TimeoutError):
            self.kill()
            raise SubmissionTimeout("time limit exceeded: the submission did not answer in time "
                                    "(an endless loop, or far too slow)") from None
        except (EOFError, OSError, protocol.ProtocolError) as exc:
            self.kill()
            if getattr(self.proc, "lost", False):  # the fork server died, and the worker with it: not the submission
                raise zygote.ServerLost("the worker's fork server died during the test") from None
            code = self.proc.returncode if self.proc is not None else None
            tail = self.log_tail()
            detail = f"; its last output:\n{tail}" if tail else ""
            if isinstance(exc, protocol.ProtocolError):
                raise SubmissionCrashed(f"the submission's process sent malformed data ({exc}){detail}") from None
            raise SubmissionCrashed(f"the submission's process ended during '{op}' "
                                    f"(exit code {code}){detail}") from None

        def incoming(data: dict) -> Any:
            if "__argtensor__" in data:
                tensor = enc.tensors[int(data["__argtensor__"])]
                if not getattr(tensor, protocol.INOUT, False):
                    raise protocol.ProtocolError("an argument returned by reference that is not in-out")
                return tensor
            if "__ref__" in data:
                ref = int(data["__ref__"])
                if ref not in self._proxies:
                    self._proxies[ref] = RemoteObject(self, generation, data)
                return self._proxies[ref]
            raise protocol.ProtocolError(f"unexpected value {sorted(data)}")

        try:
            decoder = protocol.Decoder(blobs, incoming, max_depth=self.caps.depth)
            for index, tensor_data in header.get("mutated", []):
                target = enc.tensors[int(index)]
                if not getattr(target, protocol.INOUT, False):
                    raise protocol.ProtocolError("a change to an argument that is not in-out")
                new = decoder.decode(tensor_data)
                with torch.no_grad():
                    target.copy_(new)
            self.hits += header.get("hits", [])
            if not header.get("ok"):
                raise _submission_exception(header.get("error") or {})
            return decoder.decode(header.get("value"))
        except (protocol.ProtocolError, KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
            if isinstance(exc, SubmissionError):
                raise
            self.kill()
            raise SubmissionCrashed(f"the submission's process sent malformed data ({exc})") from None

    def _outgoing(self, obj: Any) -> dict:
        if isinstance(obj, RemoteObject):
            if obj._generation != self.generation:
                raise StaleReference("this object lived in a submission process that has since crashed "
                                     "or timed out")
            return {"__ref__": obj._ref}
        if isinstance(obj, RemoteModule):
            return {"__ref__": 0}
        raise TypeError(f"cannot send {type(obj).__name__} to the submission's process; "
                        "build it there with impl.run(...)")


class RemoteObject:
    """Stands for an object living in the worker: attribute access, calls, iteration."""

    def __init__(self, worker: Worker, generation: int, info: dict):
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_generation", generation)
        object.__setattr__(self, "_ref", int(info["__ref__"]))
        object.__setattr__(self, "_info", info)

    def _req(self, op: str, **fields) -> Any:
        if self._generation != self._worker.generation:
            raise StaleReference("this object lived in a submission process that has since crashed or timed out")
        return self._worker.request({"op": op, "target": self, **fields})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._req("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._req("setattr", name=name, value=value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._req("call", args=list(args), kwargs=kwargs)

    def __iter__(self):
        return iter(self._req("iter"))

    def __len__(self) -> int:
        return self._req("len")

    def __getitem__(self, key: Any) -> Any:
        return self._req("getitem", key=key)

    def __repr__(self) -> str:
        return f"<submission {self._info.get('name') or self._info.get('type')}>"

    def _isinstance(self, cls: type) -> bool:
        names = self._info.get("mro", [])
        return f"{cls.__module__}.{cls.__qualname__}" in names


class RemoteModule:
    """The submitted topic module, as seen from the judge."""

    def __init__(self, worker: Worker, filename: str):
        self._worker = worker
        self._filename = filename

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._worker.ensure()
        if name not in self._worker.names:
            raise MissingName(f"{self._filename} does not define '{name}'")
        return self._worker.request({"op": "getattr", "target": self, "name": name})


class MissingName(AttributeError, SubmissionError):
    pass
