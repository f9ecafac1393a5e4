"""Fork servers ("zygotes"): import torch once, then fork a judge or a worker per request.

Starting a Python that imports torch costs one to two seconds of CPU; grading starts two per
topic (the pytest judge and the untrusted worker). :func:`running` starts two servers for
the time of a ``grade``, ``batch`` or ``validate``, each its own process, so nothing of a
judge can reach a worker:

``judge``
    has imported torch, pytest, the pytest plugins installed (``pytest11`` entry points) and the
    grader's pytest plugin, and run the sandbox probes every judge would run. A child: its own session,
    the log as stdout and stderr, the results pipe at the requested descriptor number, the
    requested working folder and environment, then ``pytest.main(args)``.
``worker``
    has imported torch (with the part its first ``autograd.grad`` loads) and the worker side of the
    grader only (``sandbox.WORKER_FILES``: nothing that holds solution code or hidden tests). A
    child goes through the very steps of :mod:`autograder.jail` (namespaces, mounts,
    ``pivot_root``, the user drop, limits, parent-death signals) and ends by calling the worker's
    ``main`` instead of exec'ing a new interpreter; its ``autograder`` package then imports from
    the jail's ``/grader/autograder``.

What both servers loaded is frozen out of the collector (``gc.freeze``): no collection in a child
walks torch's objects again.

Protocol: a ``SOCK_SEQPACKET`` Unix socket in a private folder (mode 0700). A request is one
JSON message whose file descriptors travel with it (``SCM_RIGHTS``); the server answers with
the child's pid, and later with its exit status. A child is killed (with its process group)
when the connection that asked for it closes: the requester died or gave up. A server dies
with the process that started it, and its children with it. Before each fork the server
checks that it is single-threaded (a started OpenMP pool does not survive a fork).

Callers use :func:`start_judge` and :func:`start_worker`, which return a Popen-like
:class:`Child`, or ``None`` when no server is running or it cannot serve (then the caller
starts the process directly, as without a server).
"""
from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from typing import Any, Iterator

from autograder import jail

KINDS = ("judge", "worker")
ENV = {"judge": "AUTOGRADER_JUDGE_ZYGOTE", "worker": "AUTOGRADER_WORKER_ZYGOTE"}
MAX_MESSAGE = 1 << 20
READY_SECONDS = 120.0  # how long a first request waits for a server still importing torch
LOST = -signal.SIGKILL  # the exit code reported for a child whose server died before it ended
RERUN = 75  # a judge's exit code: a worker's server died under it, so its results are incomplete


class ZygoteError(Exception):
    """The fork server cannot start this child."""


class ServerLost(Exception):
    """A server died while a child it forked was working: that work is lost, through no fault of the child."""


# =========================================================================== the server

class Server:
    """One fork server: accepts connections, forks a child per request, reports exits."""

    def __init__(self, kind: str, path: str):
        self.kind = kind
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(path + ".new")
        self.listener.listen(64)
        os.rename(path + ".new", path)  # the socket appears under its name once it accepts connections
        self.selector = selectors.DefaultSelector()
        self.connections: set[socket.socket] = set()
        self.owners: dict[int, socket.socket | None] = {}  # child pid -> the connection that asked for it
        self.wake_read, self.wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.default_threads = 1

    def prepare(self) -> None:
        """Import what every child needs, without running anything that starts a thread pool (every fork
        checks that the server is still single-threaded), and load what every child would load at its start,
        so each child pays it once here rather than in its first test."""
        if self.kind == "judge":
            from autograder import sandbox
            # The trial jails every judge would start, once here (a judge killed mid-probe would leave the
            # probe's folder behind), in a thread of their own while torch imports: they mostly wait on their
            # processes. The thread ends before the first fork.
            probes = threading.Thread(target=lambda: [sandbox.works(level) for level in sandbox.LEVELS])
            probes.start()
            import torch
            import pytest  # noqa: F401
            from autograder import plugin
            plugin._warm_up()  # the part of torch every judge loads at its start (tiny tensors: no threads)
            _load_pytest_plugins()
            probes.join()
            _wait_single_threaded()
        else:
            import torch
            import autograder.worker  # noqa: F401 - the worker files only, by their own imports
            # torch's first autograd.grad imports its symbolic shapes (and sympy, a second or so): nearly every
            # topic asks for gradients, and each worker started would pay it again in its first test.
            # (Dynamo, which the first optimizer step imports, is left to the few topics that step: loading it
            # here cost every grade more CPU than it saved them.)
            import torch.fx.experimental.symbolic_shapes  # noqa: F401
        self.default_threads = torch.get_num_threads()
        # What is loaded now stays for the server's life: the collector of every child leaves it alone (no
        # full collection walks torch's objects; pytest collects several times as a judge ends).
        gc.freeze()

    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_write)
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.selector.register(self.wake_read, selectors.EVENT_READ)
        while True:
            for key, _ in self.selector.select(timeout=1.0):
                if key.fileobj is self.listener:
                    conn, _ = self.listener.accept()
                    self.connections.add(conn)
                    self.selector.register(conn, selectors.EVENT_READ)
                elif key.fileobj == self.wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_read, 4096)
                else:
                    self.receive(key.fileobj)
            self.reap()

    def receive(self, conn: socket.socket) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 8)
        except OSError:
            data, fds = b"", []
        if not data:  # the requester closed its connection or died: its children go with it
            self.selector.unregister(conn)
            self.connections.discard(conn)
            for pid in [p for p, c in self.owners.items() if c is conn]:
                _killpg(pid)
                self.owners[pid] = None
            conn.close()
            return
        request: dict = {}
        try:
            request = json.loads(data)
            if request.get("op") == "kill":
                if self.owners.get(request["pid"]) is conn:  # not reaped yet: the pid is still this child's
                    _killpg(request["pid"])
                return
            pid = self.fork(request, fds)
            self.owners[pid] = conn
            reply = {"id": request.get("id"), "pid": pid}
        except Exception as exc:  # noqa: BLE001 - a request it cannot serve is answered, never fatal
            reply = {"id": request.get("id"), "error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)
        _send(conn, reply)

    def fork(self, request: dict, fds: list[int]) -> int:
        """A child for ``request``, given ``fds`` = [its log, its channel (the results pipe or the worker's
        socket)]; its pid."""
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            raise ZygoteError(f"the server runs {threads} threads: forking it now is unsafe")
        if len(fds) != 2:
            raise ZygoteError(f"a request needs 2 descriptors (log, channel), got {len(fds)}")
        if self.kind == "worker":
            request["spec"]["judge"] = os.getpid()  # the jail's outer process dies with this server
        pid = os.fork()
        if pid == 0:
            code = 127
            try:
                self.become_child(request, fds)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                os._exit(code)
        print(f"forked {self.kind} {pid}", flush=True)  # the server's log: one line per child
        return pid

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _killpg(pid)  # whatever it left in its process group
            conn = self.owners.pop(pid, None)
            if conn is not None:
                _send(conn, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    # ----------------------------------------------------------------------- in the child
    def become_child(self, request: dict, fds: list[int]) -> None:
        """Forget the server, keep only the requested descriptors, then run the judge or the worker."""
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        jail.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(125)
        os.setsid()
        self.selector.close()
        self.listener.close()
        for conn in self.connections:
            conn.close()
        os.close(self.wake_read)
        os.close(self.wake_write)
        log, channel = fds
        _keep_only({0: os.open(os.devnull, os.O_RDONLY), 1: log, 2: log, int(request["fd"]): channel})
        if self.kind == "judge":
            self.run_judge(request)
        else:
            self.run_jailed_worker(request["spec"])

    def use_env(self, env: dict) -> None:
        import torch
        os.environ.clear()
        os.environ.update(env)
        torch.set_num_threads(int(env.get("OMP_NUM_THREADS") or self.default_threads))

    def run_judge(self, request: dict) -> None:
        import pytest
        self.use_env(request["env"])
        os.chdir(request["cwd"])
        # the plugin was imported before pytest ran, so pytest cannot rewrite its asserts: no news
        args = ["-W", "ignore::pytest.PytestAssertRewriteWarning", *request["args"]]
        sys.argv = ["pytest", *args]
        code = pytest.main(args)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))

    def run_jailed_worker(self, spec: dict) -> None:
        if spec["level"] == "none":  # no jail: a plain process, as ``--sandbox none`` starts it
            os.chdir(spec["cwd"])
            self.run_worker(spec)
        jail.launch(spec, self.run_worker)

    def run_worker(self, spec: dict) -> None:
        """The jail's last step: the worker's environment and import path, then its main (never returns)."""
        code = 1
        try:
            self.use_env(spec["env"])
            _import_from(spec["env"]["PYTHONPATH"], spec["cwd"])
            fd = int(spec["argv"][-1])
            sys.argv = [spec["argv"][0], str(fd)]
            from autograder import worker
            worker.main(fd)
        except BaseException:  # noqa: BLE001 - as an uncaught exception would end the worker's interpreter
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            os._exit(code)


def _load_pytest_plugins() -> None:
    """Import the pytest plugins installed in the environment (``pytest11`` entry points), as every judge's
    pytest would at its start: imported once here, each judge finds them loaded."""
    from importlib.metadata import entry_points
    for entry in entry_points(group="pytest11"):
        with contextlib.suppress(Exception):
            entry.load()


def _wait_single_threaded(seconds: float = 5.0) -> None:
    """Until the threads this process joined have also left the kernel's list (a joined thread may still be
    ending there for a moment, and every fork counts them)."""
    deadline = time.monotonic() + seconds
    while len(os.listdir("/proc/self/task")) > 1 and time.monotonic() < deadline:
        time.sleep(0.001)


def _keep_only(targets: dict[int, int]) -> None:
    """Put each source descriptor at its target number and close every other one."""
    high = max([*targets, *targets.values()]) + 1
    staged = {target: _dup_above(source, high) for target, source in targets.items()}
    for target, source in staged.items():
        os.dup2(source, target, inheritable=True)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in targets:
            with contextlib.suppress(OSError):
                os.close(fd)


def _dup_above(fd: int, low: int) -> int:
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)


def _import_from(grader: str, cwd: str) -> None:
    """The worker's ``autograder`` package and import path as ``python -s -m autograder.worker`` run in
    ``cwd`` with ``PYTHONPATH=grader`` would have them: modules not yet imported come from ``grader``."""
    import autograder
    here = os.path.dirname(os.path.abspath(autograder.__file__))
    there = os.path.join(grader, "autograder")
    for name, module in list(sys.modules.items()):
        if (name == "autograder" or name.startswith("autograder.")) and hasattr(module, "__path__"):
            module.__path__ = [p.replace(here, there, 1) for p in module.__path__]
    root = os.path.dirname(here)
    interpreter = tuple(os.path.join(os.path.abspath(prefix), "") for prefix in (sys.prefix, sys.base_prefix))

    def of_the_repository(path: str) -> bool:  # a venv inside the checkout is the interpreter's, not the repo's
        return (path == root or path.startswith(root + os.sep)) and not path.startswith(interpreter)

    sys.path[:] = [cwd, grader, *(p for p in sys.path if p and not of_the_repository(p))]
    sys.path_importer_cache.clear()


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _send(conn: socket.socket, message: dict, fds: list[int] = ()) -> None:
    with contextlib.suppress(OSError):
        socket.send_fds(conn, [json.dumps(message).encode()], list(fds))


def serve(kind: str, path: str, owner: int) -> None:
    """The server's main: dies with ``owner``; listens at once, imports, then serves forever."""
    jail.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != owner:
        os._exit(125)
    server = Server(kind, path)  # listening before the imports: early requests wait in the backlog
    server.prepare()
    server.serve()


# =========================================================================== the requesting side

class Channel:
    """One process's connection to one server; a thread of its own reads the replies and exits."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        self.send_lock = threading.Lock()
        self.changed = threading.Condition()
        self.replies: dict[int, dict] = {}
        self.exits: dict[int, int] = {}
        self.lost = False
        self.ids = itertools.count(1)
        threading.Thread(target=self._read, name="zygote-replies", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            with self.changed:
                if not data:
                    self.lost = True
                    self.changed.notify_all()
                    return
                message = json.loads(data)
                if "exit" in message:
                    self.exits[message["exit"]] = message["code"]
                else:
                    self.replies[message["id"]] = message
                self.changed.notify_all()

    def start(self, request: dict, fds: list[int]) -> Child:
        with self.changed:
            ident = next(self.ids)
        try:
            with self.send_lock:
                socket.send_fds(self.sock, [json.dumps({**request, "id": ident}).encode()], fds)
        except OSError as exc:
            raise ZygoteError(f"cannot reach the fork server: {exc}") from None
        with self.changed:
            self.changed.wait_for(lambda: ident in self.replies or self.lost, timeout=READY_SECONDS)
            reply = self.replies.pop(ident, None)
        if reply is None or "error" in reply:
            raise ZygoteError((reply or {}).get("error", "the fork server did not answer"))
        return Child(self, int(reply["pid"]))

    def kill(self, pid: int) -> None:
        with contextlib.suppress(OSError), self.send_lock:
            socket.send_fds(self.sock, [json.dumps({"op": "kill", "pid": pid}).encode()], [])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Child:
    """A process a server forked for us, used as a :class:`subprocess.Popen` is."""

    def __init__(self, channel: Channel, pid: int):
        self.channel = channel
        self.pid = pid
        self.returncode: int | None = None
        self.lost = False  # the server died first: the child died with it, its work is incomplete

    def _settled(self) -> bool:
        if self.returncode is None:
            if self.pid in self.channel.exits:
                self.returncode = self.channel.exits.pop(self.pid)
            elif self.channel.lost:
                self.returncode, self.lost = LOST, True
        return self.returncode is not None

    def poll(self) -> int | None:
        with self.channel.changed:
            self._settled()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.channel.changed:
            if not self.channel.changed.wait_for(self._settled, timeout=timeout):
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
        return self.returncode

    def killpg(self) -> None:
        """SIGKILL to the child's process group (the server's, which cannot confuse it with a reused pid)."""
        if self.poll() is None:
            self.channel.kill(self.pid)


def kill_group(proc: subprocess.Popen | Child) -> None:
    """SIGKILL to the process group of a child started directly or by a server."""
    if isinstance(proc, Child):
        proc.killpg()
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


_channels: dict[tuple[int, str], Channel] = {}
_channels_lock = threading.Lock()
_warned: set[str] = set()


def _channel(kind: str) -> Channel | None:
    """This process's connection to the server of ``kind`` named by the environment, if one answers."""
    path = os.environ.get(ENV[kind])
    if not path:
        return None
    key = (os.getpid(), path)
    with _channels_lock:
        channel = _channels.get(key)
        if channel is None or channel.lost:
            try:
                channel = _channels[key] = Channel(path)
            except OSError as exc:
                _fall_back(kind, f"cannot connect to {path}: {exc}")
                return None
    return channel


def _fall_back(kind: str, why: str) -> None:
    if kind not in _warned:
        _warned.add(kind)
        print(f"grader: the {kind} fork server is not available ({why}); starting processes directly",
              file=sys.stderr, flush=True)


def _start(kind: str, request: dict, fds: list[int]) -> Child | None:
    channel = _channel(kind)
    if channel is None:
        return None
    try:
        return channel.start(request, fds)
    except ZygoteError as exc:
        _fall_back(kind, str(exc))
        return None


def start_judge(args: list[str], env: dict, cwd: str, log: int, results_fd: int) -> Child | None:
    """``pytest args`` forked by the judge server (``None``: start it directly); ``results_fd`` keeps its number."""
    return _start("judge", {"op": "start", "args": args, "env": env, "cwd": cwd, "fd": results_fd},
                  [log, results_fd])


def start_worker(spec: dict, log: int, channel_fd: int) -> Child | None:
    """A worker forked by the worker server into the jail of ``spec`` (``sandbox.Sandbox.spec``; ``None``:
    start it directly), talking on ``channel_fd`` at the number the spec's argv names."""
    return _start("worker", {"op": "start", "spec": spec, "fd": int(spec["argv"][-1])}, [log, channel_fd])


# =========================================================================== lifetime

def forked(kind: str) -> int:
    """How many children the server of ``kind`` named by the environment has forked so far (0: none runs)."""
    path = os.environ.get(ENV[kind])
    if not path:
        return 0
    try:
        with open(os.path.join(os.path.dirname(path), f"{kind}.log"), encoding="utf-8") as log:
            return sum(line.startswith(f"forked {kind} ") for line in log)
    except OSError:
        return 0


@contextlib.contextmanager
def running(kinds: tuple[str, ...] = KINDS) -> Iterator[dict[str, subprocess.Popen]]:
    """Both servers for the time of the block; judges and workers started meanwhile (in this process and
    its children, through the environment) are forked by them. Enter it from the main thread: a server
    dies with the thread that started it."""
    from autograder.config import REPO_ROOT
    from autograder.sandbox import worker_environment
    folder = tempfile.mkdtemp(prefix="autograder-zygote-")  # mode 0700: only this user reaches the sockets
    # A child keeps its server's environment block (/proc/self/environ) and hash seed: a worker's server
    # starts with a worker's environment only (PYTHONHASHSEED=0 included), never the grader's.
    judge_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", *ENV.values())}
    envs = {"judge": judge_env, "worker": worker_environment()}
    for env in envs.values():
        env.pop("OMP_NUM_THREADS", None)  # each child sets its own number of threads
        env.pop("MKL_NUM_THREADS", None)
        env["OPENBLAS_NUM_THREADS"] = "1"  # numpy's BLAS (torch imports numpy) would start its threads at import
    servers: dict[str, subprocess.Popen] = {}
    saved = {kind: os.environ.get(ENV[kind]) for kind in kinds}
    try:
        for kind in kinds:
            path = os.path.join(folder, f"{kind}.sock")
            with open(os.path.join(folder, f"{kind}.log"), "wb") as log:
                servers[kind] = subprocess.Popen(
                    [sys.executable, "-s", "-m", "autograder.zygote", kind, path, str(os.getpid())],
                    cwd=REPO_ROOT, env=envs[kind], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
        for kind in kinds:
            path = os.path.join(folder, f"{kind}.sock")
            deadline = time.monotonic() + 30
            while not os.path.exists(path) and servers[kind].poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            os.environ[ENV[kind]] = path
        yield servers
    finally:
        for kind, value in saved.items():
            if value is None:
                os.environ.pop(ENV[kind], None)
            else:
                os.environ[ENV[kind]] = value
        for server in servers.values():
            server.kill()
            server.wait()
        with _channels_lock:
            for key in [k for k in _channels if k[1].startswith(folder + os.sep)]:
                _channels.pop(key).close()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> None:
    kind, path, owner = argv
    if kind not in KINDS:
        raise SystemExit(f"usage: python -m autograder.zygote {{{','.join(KINDS)}}} SOCKET OWNER_PID")
    serve(kind, path, int(owner))


if __name__ == "__main__":
    main(sys.argv[1:])
