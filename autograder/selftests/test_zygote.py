"""The fork servers (``autograder/zygote.py``): what a forked judge or worker holds, and what it does not.

One pair of servers serves the whole module. Workers are started as the judge starts them
(:class:`autograder.remote.Worker`), at every sandbox level this machine has.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch

from autograder import config, judge, remote, sandbox, zygote
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import make_submission

WORKER_MODULES = {"autograder"} | {f"autograder.{name.removesuffix('.py')}" for name in sandbox.WORKER_FILES
                                   if name != "__init__.py"}
LAUNCHER = {"autograder.jail"}  # the jail's own steps, run in the same process before the worker's main
AVAILABLE = [level for level in sandbox.LEVELS if sandbox.works(level)]


MARKER = "AUTOGRADER_TEST_GRADER_ONLY"  # in the grading process's environment, never in a worker's


@pytest.fixture(scope="module")
def servers():
    os.environ[MARKER] = "the grader's own"
    try:
        with zygote.running() as started:
            yield started
    finally:
        del os.environ[MARKER]


def beyond_worker_files(modules: list[str]) -> list[str]:
    """Loaded modules a worker must not hold: the judge's, pytest's, the tests', the solutions'."""
    return [m for m in modules
            if (m.startswith("autograder.") and m not in WORKER_MODULES | LAUNCHER
                and not m.startswith("autograder.fixtures."))
            or m.split(".")[0] in ("pytest", "_pytest", "solutions", "exercises", "conftest")]


def start_worker(tmp_path, level: str) -> remote.Worker:
    folder = make_submission(tmp_path / "submission", text="VALUE = 42\n", topic="mlp")
    box = sandbox.Sandbox(level, config.Limits(), str(tmp_path / "judge"))
    worker = remote.Worker(os.path.join(folder, "mlp.py"), "mlp", box)
    worker.deadline = time.monotonic() + 120
    worker.ensure()
    return worker


def ask(worker: remote.Worker, fn: str):
    return worker.request({"op": "run", "fn": f"autograder.fixtures.process:{fn}", "args": [], "kwargs": {}})


@pytest.mark.parametrize("level", AVAILABLE)
def test_a_forked_worker_holds_its_own_descriptors_and_the_worker_files_only(servers, tmp_path, level):
    worker = start_worker(tmp_path, level)
    try:
        assert isinstance(worker.proc, zygote.Child), "the worker was not forked by the server"
        assert remote.RemoteModule(worker, "mlp.py").VALUE == 42
        descriptors = ask(worker, "open_descriptors")
        modules = ask(worker, "loaded_modules")
        environment = ask(worker, "environment_block")
    finally:
        worker.close()
    # its protocol socket, the log (stdout and stderr) and /dev/null (stdin, and the worker's own sys.stdin)
    sockets = [fd for fd, what in descriptors.items() if what.startswith("socket:")]
    assert len(sockets) == 1, descriptors
    log = os.path.join(tmp_path, "judge", "mlp.1.log")
    assert {0, 1, 2} <= set(descriptors) and descriptors[1] == descriptors[2] == log, descriptors
    assert {what for fd, what in descriptors.items() if fd not in sockets} == {"/dev/null", log}, descriptors
    assert beyond_worker_files(modules) == []
    if level == "full":  # a user of its own: not even its own environment block is readable
        assert environment is None
    else:
        assert MARKER not in environment and "PYTHONHASHSEED=0" in environment, environment
    assert "torch" in modules  # imported before the fork, as the server is there for
    assert "torch.fx.experimental.symbolic_shapes" in modules  # what the first autograd.grad loads: not in each worker
    # the check itself sees a judge's modules: this test process holds pytest and the grader's judge side
    assert {"pytest", "autograder.judge"} <= set(beyond_worker_files(sorted(sys.modules)))


# Asks the worker server for a worker on the inherited socket FD, prints its pid and waits to be killed.
def test_a_warning_shown_from_the_forked_worker_is_no_change_to_the_grader(servers, tmp_path):
    """The forked worker serves from the imported module autograder.worker (not a fresh __main__): a warning
    attributed to it adds its __warningregistry__, which the end-of-test audit does not count as a change."""
    worker = start_worker(tmp_path, sandbox.best_level())
    try:
        worker.request({"op": "run", "fn": "torch.nn.init:kaiming_normal_", "args": [torch.empty(0)], "kwargs": {}})
        assert worker.request({"op": "audit"}) == []
    finally:
        worker.close()


REQUESTER = """
import json, os, sys, time
from autograder import zygote
spec, fd = json.loads(sys.argv[1]), int(sys.argv[2])
child = zygote.start_worker(spec, os.open(os.devnull, os.O_WRONLY), fd)
print(child.pid, flush=True)
time.sleep(120)
"""


def descendants(pid: int) -> set[int]:
    parents = {}
    for name in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{name}/status") as f:
                parents[int(name)] = next(int(line.split()[1]) for line in f if line.startswith("PPid:"))
        except (OSError, StopIteration):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_worker_dies_with_the_process_that_asked_for_it(servers, tmp_path):
    level = sandbox.best_level()
    box = sandbox.Sandbox(level, config.Limits(), str(tmp_path / "judge"))
    # This test keeps the other end of the worker's socket: the worker waits for requests until it is killed.
    mine, theirs = socket.socketpair()
    spec = box.spec(make_submission(tmp_path / "submission", text="VALUE = 1\n", topic="mlp") + "/mlp.py",
                    theirs.fileno())
    requester = subprocess.Popen([sys.executable, "-c", REQUESTER, json.dumps(spec), str(theirs.fileno())],
                                 cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, pass_fds=[theirs.fileno()],
                                 env={**os.environ, "PYTHONPATH": REPO_ROOT})
    theirs.close()
    try:
        pid = int(requester.stdout.readline())
        deadline = time.monotonic() + 30
        while not descendants(pid) and level != "none" and time.monotonic() < deadline:
            time.sleep(0.05)  # the jail's init and the worker
        group = {pid} | descendants(pid)
        assert all(alive(p) for p in group)
    finally:
        requester.kill()
        requester.wait()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in group) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in group if alive(p)]
    mine.close()


def test_grading_forks_its_judges_and_workers(servers, tmp_path, monkeypatch):
    def no_new_process(*args, **kwargs):
        raise AssertionError(f"a process was started directly: {args[0][:4]}")
    monkeypatch.setattr(judge.subprocess, "Popen", no_new_process)
    folder = make_submission(tmp_path / "submission")
    before = {kind: zygote.forked(kind) for kind in zygote.KINDS}
    report = judge.grade(folder, topics=["attention"], suite="public", device="cpu", keep_dir=str(tmp_path / "work"))
    assert report["topics"]["attention"]["score"] == 60, report.get("faults")
    assert zygote.forked("judge") == before["judge"] + 1 and zygote.forked("worker") > before["worker"]  # logged
    with open(tmp_path / "work" / "attention.pytest.log", encoding="utf-8") as f:
        assert "fork server is not available" not in f.read()  # the judge forked its workers too


def test_without_a_server_a_worker_starts_directly(tmp_path, monkeypatch):
    monkeypatch.setenv(zygote.ENV["worker"], str(tmp_path / "no-such.sock"))
    worker = start_worker(tmp_path, sandbox.best_level())
    try:
        assert isinstance(worker.proc, subprocess.Popen)
        assert remote.RemoteModule(worker, "mlp.py").VALUE == 42
        assert zygote.forked("worker") == 0
    finally:
        worker.close()


def test_a_crashed_judge_server_costs_no_result(tmp_path, capfd, monkeypatch):
    """Judges start directly (workers still forked: a crashed worker server is the test above's)."""
    monkeypatch.setattr(zygote, "_warned", set())
    folder = make_submission(tmp_path / "submission")
    with zygote.running() as started:
        started["judge"].send_signal(signal.SIGKILL)
        started["judge"].wait()
        report = judge.grade(folder, topics=["attention"], suite="public", device="cpu")
    assert report["topics"]["attention"]["score"] == 60, report.get("faults")
    assert "judge fork server is not available" in capfd.readouterr().err


PREPARE = """
import gc, json, os, sys
from importlib.metadata import entry_points
from autograder import sandbox, zygote
server = zygote.Server("judge", sys.argv[1])
server.prepare()
print(json.dumps({"threads": len(os.listdir("/proc/self/task")), "frozen": gc.get_freeze_count(),
                  "probed": sandbox.works.cache_info().currsize,
                  "plugins missing": [e.module for e in entry_points(group="pytest11") if e.module not in sys.modules]}))
"""


def test_a_judge_server_loads_what_every_judge_would_load_and_can_fork(tmp_path):
    """The sandbox probes ran (in a thread of their own, ended), pytest's installed plugins are imported and what
    was loaded is out of the children's collections."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=REPO_ROOT)  # as zygote.running starts servers
    done = subprocess.run([sys.executable, "-s", "-c", PREPARE, str(tmp_path / "judge.sock")], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    facts = json.loads(done.stdout.splitlines()[-1])
    assert facts["threads"] == 1  # a fork now is safe
    assert facts["probed"] == len(sandbox.LEVELS)
    assert facts["plugins missing"] == []
    assert facts["frozen"] > 0


def test_a_server_refuses_to_fork_while_it_runs_threads(tmp_path):
    server = zygote.Server("worker", str(tmp_path / "s.sock"))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(zygote.ZygoteError, match="threads"):
            server.fork({"spec": {}}, [])
    finally:
        stop.set()
        thread.join()
        server.listener.close()


def kill_at_first_child(server: subprocess.Popen, killed: threading.Event) -> None:
    """Kill ``server`` as soon as it has forked a child that is still working (the judge, or the jail)."""
    deadline = time.monotonic() + 120
    while server.poll() is None and time.monotonic() < deadline:
        if descendants(server.pid):
            server.send_signal(signal.SIGKILL)
            killed.set()
            return
        time.sleep(0.01)


@pytest.mark.parametrize("kind", zygote.KINDS)
def test_a_server_dying_mid_topic_costs_no_result(tmp_path, kind):
    folder = make_submission(tmp_path / "submission")
    killed = threading.Event()
    with zygote.running() as started:
        killer = threading.Thread(target=kill_at_first_child, args=(started[kind], killed))
        killer.start()
        report = judge.grade(folder, topics=["attention"], suite="public", device="cpu")
        killer.join()
    assert killed.is_set()
    assert report["topics"]["attention"]["score"] == 60, report["topics"]["attention"]["tests"]


def test_a_venv_inside_the_checkout_stays_on_a_forked_workers_import_path(monkeypatch):
    """``make`` puts .venv in the checkout: its site-packages (sympy, which torch imports lazily) must stay
    importable in a forked worker, while the repository itself leaves the import path."""
    venv = os.path.join(REPO_ROOT, ".venv")
    site_packages = os.path.join(venv, "lib", "python3.11", "site-packages")
    packages = {name: module.__path__ for name, module in sys.modules.items()
                if (name == "autograder" or name.startswith("autograder.")) and hasattr(module, "__path__")}
    monkeypatch.setattr(sys, "prefix", venv)
    monkeypatch.setattr(sys, "path", [REPO_ROOT, os.path.join(REPO_ROOT, "tests"), site_packages, "/usr/lib/py"])
    try:
        zygote._import_from("/grader", "/tmp")
        assert sys.path == ["/tmp", "/grader", site_packages, "/usr/lib/py"]
        assert sys.modules["autograder"].__path__ == ["/grader/autograder"]
    finally:
        for name, path in packages.items():
            sys.modules[name].__path__ = path
