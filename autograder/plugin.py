"""pytest plugin: hands every test the module under test, and records graded results.

Options (all test files, public and hidden, use the same ones):

``--impl DIR``        folder holding the topic modules (default: ``exercises/``)
``--worker``          run the submission in a separate worker process (grading);
                      without it the module is imported in-process so students can debug
``--sandbox LEVEL``   where workers run (:mod:`autograder.sandbox`; default ``auto``)
``--workdir DIR``     the judge's own folder (worker logs, the jail's mount point)
``--device``          ``cpu``, ``cuda`` or ``auto`` (default): which devices ``device`` covers
``--results-fd N``    write one JSON line per test to this inherited pipe (used by the grader)
``--test-timeout S``  caps every test's time limit (0: no limit, for debugging); without it a graded
                      test gets the limit of :mod:`autograder.timings`, in local runs too

A test file ``test_<topic>.py`` grades topic ``<topic>``; each test names its exercise
with ``@pytest.mark.exercise("<name>")`` and gets the module as the ``impl`` fixture.
"""
from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import types
import warnings
from typing import Any, Iterator

import pytest
import torch

from autograder import config as config_mod
from autograder import forbidden, protocol, sandbox, timings, zygote
from autograder.fixtures import references
from autograder.config import REPO_ROOT
from autograder.guard import full_float32, restore_torch_state, torch_state
from autograder.remote import (ForbiddenCall, RemoteModule, RemoteObject, SubmissionError, SubmissionTimeout, Worker,
                               hit_message)

PR_SET_DUMPABLE = 4
AUDIT_TIMEOUT = 10.0  # seconds for the end-of-test audit of torch's namespaces

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--impl", default=None, help="folder holding the topic modules (default: exercises/)")
    group.addoption("--worker", action="store_true", help="run the submission in a sandboxed worker process")
    group.addoption("--sandbox", default="auto", choices=("auto", *sandbox.LEVELS),
                    help="sandbox level of the workers (worker mode)")
    group.addoption("--workdir", default=None, help="the judge's own folder (worker mode)")
    group.addoption("--device", default="auto", choices=("cpu", "cuda", "auto"), help="devices to test on")
    group.addoption("--results-fd", type=int, default=None, help="write per-test results as JSON lines to this fd")
    group.addoption("--test-timeout", type=float, default=None,
                    help="cap on every test's time limit in seconds (0: no limit)")
    group.addoption("--exercises", default=None,
                    help="comma-separated exercises whose tests alone run (default: every exercise)")
    group.addoption("--first", action="append", default=[], metavar="NAME",
                    help="run the test of this name before the others (repeatable, in order)")
    group.addoption("--stop-at", default=None, metavar="TEXT",
                    help="stop at the first test that loses points with TEXT in its message (case ignored)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "exercise(name): the exercise a test grades")
    for topic in config_mod.TOPICS:
        config.addinivalue_line("markers", f"{topic}: tests of topic {topic}")
    full_float32()  # before the session records the settings every test starts from
    config._autograder = Session(config)
    if config._autograder.use_worker:
        # Nothing of the same user may read this process's memory or open its descriptors (the results pipe).
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _warm_up()


def _warm_up() -> None:
    """Pay a one-off cost every run pays now, not in the first test's time (its limit is measured from
    the solution's time for it): the first ``assert_close`` loads more of torch (over half a second)."""
    torch.testing.assert_close(torch.ones(2), torch.ones(2))


# --------------------------------------------------------------------------- the module under test

class Submission:
    """The topic module under test, local or in a worker, with a few helpers tests need.

    ``impl.<name>`` is the module's attribute. ``impl.run(fn, *args)`` calls the trusted
    function ``fn`` (from ``autograder.fixtures`` or torch) where the submission lives,
    so objects can be built and trained next to it. ``impl.isinstance(obj, cls)`` works
    for both local and remote objects. ``impl.inout(t, …)`` gives fresh copies whose
    in-place changes by the submission come back (running statistics, in-place
    initialisers); every other tensor a test passes is never changed by the call.
    """

    def __init__(self, topic: str, directory: str, use_worker: bool, grading: config_mod.Grading,
                 box: sandbox.Sandbox | None):
        self.topic = topic
        self.filename = f"{topic}.py"
        self.path = os.path.join(directory, self.filename)
        self.worker: Worker | None = None
        self._undo_serving = lambda: None  # puts the local module's own exercises back (see ``serve``)
        self._module: Any = None
        self.load_error: SubmissionError | None = None
        topic_cfg = grading.topics[topic]
        self.static_hits: dict[str, list[forbidden.Hit]] = {}
        if not os.path.isfile(self.path):
            self.load_error = SubmissionError(f"{self.filename} not found in {directory}")
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            source = f.read()
        rules = forbidden.ForbiddenSet(topic_cfg.forbidden, topic_cfg.forbidden_aten)
        try:
            self.static_hits = forbidden.scan(source, self.filename, rules, list(topic_cfg.exercises),
                                              topic_cfg.imports)
        except SyntaxError as exc:
            self.load_error = SubmissionError(f"SyntaxError in {self.filename} line {exc.lineno}: {exc.msg}")
            return
        if use_worker:
            guard = {"forbidden": topic_cfg.forbidden, "forbidden_aten": topic_cfg.forbidden_aten,
                     "imports": list(topic_cfg.imports), "denied_modules": [p[:-1] for p in rules.prefixes]}
            caps = protocol.Caps(total_bytes=topic_cfg.limits.reply_mb * 1024 * 1024)
            self.worker = Worker(self.path, topic, box, guard, caps)
            self._module = RemoteModule(self.worker, self.filename)
        else:
            self._module = _import_local(self.path, topic)

    @property
    def is_remote(self) -> bool:
        return self.worker is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._module, name)

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self.worker is None:
            return fn(*args, **kwargs)
        qualified = f"{fn.__module__}:{fn.__qualname__}"
        return self.worker.request({"op": "run", "fn": qualified, "args": list(args), "kwargs": kwargs})

    def inout(self, *tensors: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Fresh copies the submission may change in place, with the changes visible here afterwards."""
        copies = []
        for t in tensors:
            copy = t.detach().clone().requires_grad_(t.requires_grad)
            setattr(copy, protocol.INOUT, True)
            copies.append(copy)
        return copies[0] if len(copies) == 1 else tuple(copies)

    def serve(self, names: list[str]) -> None:
        """While this test runs, the exercises ``names`` are the grader's trusted references
        (:mod:`autograder.fixtures.references`), so a mistake in them is not charged again here."""
        if self.worker is not None:
            self.worker.serve(names)
            return
        self._undo_serving()
        self._undo_serving = lambda: None
        if names and not isinstance(self._module, _Broken):
            self._undo_serving = references.serve(vars(self._module), self.topic, names)

    @staticmethod
    def isinstance(obj: Any, cls: type) -> bool:
        if isinstance(obj, RemoteObject):
            return obj._isinstance(cls)
        return isinstance(obj, cls)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


class SubmissionWarning(UserWarning):
    """Something the submission did that the tests undo, said once in pytest's warnings summary."""


def _import_local(path: str, topic: str) -> Any:
    name = f"_impl_{topic}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    settings = torch_state()
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - reported per test, not as a collection error
        return _Broken(SubmissionError(f"importing {os.path.basename(path)} failed: {type(exc).__name__}: {exc}"))
    finally:
        changed = restore_torch_state(settings)
    if changed:
        warnings.warn(f"{os.path.basename(path)} changes torch's global settings when imported ({'; '.join(changed)}); "
                      "every test starts from torch's defaults, as in the grader", SubmissionWarning, stacklevel=1)
    sys.modules[name] = module
    return module


class _Broken:
    def __init__(self, error: SubmissionError):
        self.error = error

    def __getattr__(self, name: str) -> Any:
        raise self.error


# --------------------------------------------------------------------------- session state

class Session:
    def __init__(self, config: pytest.Config):
        self.config = config
        impl = config.getoption("--impl") or os.path.join(REPO_ROOT, "exercises")
        self.impl_dir = os.path.abspath(impl)
        self.use_worker = bool(config.getoption("--worker"))
        self.test_timeout = config.getoption("--test-timeout")
        fd = config.getoption("--results-fd")
        self.results = os.fdopen(fd, "w", encoding="utf-8") if fd is not None else None
        self.grading = config_mod.load()
        chosen = config.getoption("--exercises")
        self.exercises = set(chosen.split(",")) if chosen is not None else None  # None: all of them
        stop_at = config.getoption("--stop-at")
        self.stop_at = stop_at.lower() if stop_at is not None else None
        self.submissions: dict[str, Submission] = {}
        self.settings = torch_state()  # torch's global settings every test starts from
        self.deadline: float | None = None  # of the test running now
        self.timeouts: dict[tuple[str, str], list[str]] = {}  # (topic, exercise) -> tests that timed out
        self.level = sandbox.resolve(config.getoption("--sandbox")) if self.use_worker else "none"
        self.workdir = config.getoption("--workdir")
        self.own_workdir = self.use_worker and not self.workdir  # made here, removed at the end
        if self.own_workdir:
            self.workdir = tempfile.mkdtemp(prefix="autograder-judge-")
        device = config.getoption("--device")
        self.device = "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"

    def submission(self, topic: str) -> Submission:
        if topic not in self.submissions:
            box = None
            if self.use_worker:
                box = sandbox.Sandbox(self.level, self.grading.topics[topic].limits,
                                      os.path.join(self.workdir, topic), self.device)
            self.submissions[topic] = Submission(topic, self.impl_dir, self.use_worker, self.grading, box)
        return self.submissions[topic]

    def record(self, data: dict) -> None:
        if self.results is not None:
            self.results.write(json.dumps(data) + "\n")
            self.results.flush()


def _session(config: pytest.Config) -> Session:
    return config._autograder


def topic_of(item: pytest.Item) -> str:
    name = os.path.basename(str(item.path))
    return name.removeprefix("test_").removesuffix(".py")


def is_topic_test(item: pytest.Item) -> bool:
    """Only the suites (tests/ and autograder/hidden/) are graded; other test files are the grader's own."""
    parent = os.path.dirname(str(item.path))
    return os.path.basename(str(item.path)).startswith("test_") and (
        parent == os.path.join(REPO_ROOT, "tests") or parent.endswith(os.path.join("autograder", "hidden")))


def suite_of(item: pytest.Item) -> str:
    return "hidden" if os.path.join("autograder", "hidden") in str(item.path) else "public"


def exercise_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("exercise")
    return marker.args[0] if marker and marker.args else None


# --------------------------------------------------------------------------- collection

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames and "device" not in _explicit(metafunc):
        choice = metafunc.config.getoption("--device")
        params = []
        if choice in ("cpu", "auto"):
            params.append(pytest.param("cpu", id="cpu"))
        if choice in ("cuda", "auto"):
            marks = [] if torch.cuda.is_available() else [pytest.mark.skip(reason="CUDA not available")]
            params.append(pytest.param("cuda", id="cuda", marks=marks))
        metafunc.parametrize("device", params)
    if "dtype" in metafunc.fixturenames and "dtype" not in _explicit(metafunc):
        metafunc.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])


def _explicit(metafunc: pytest.Metafunc) -> set[str]:
    names: set[str] = set()
    for marker in metafunc.definition.iter_markers("parametrize"):
        argnames = marker.args[0]
        names.update(a.strip() for a in (argnames.split(",") if isinstance(argnames, str) else argnames))
    return names


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    grading = _session(config).grading
    problems = []
    for item in (i for i in items if is_topic_test(i)):
        topic, exercise = topic_of(item), exercise_of(item)
        if topic not in grading.topics:
            problems.append(f"{item.nodeid}: file name does not name a topic of grading.yml")
            continue
        if exercise is None:
            problems.append(f"{item.nodeid}: no @pytest.mark.exercise(...) marker")
        elif exercise not in grading.topics[topic].exercises:
            problems.append(f"{item.nodeid}: exercise '{exercise}' has no points in grading.yml "
                            f"(topic {topic})")
        item.add_marker(getattr(pytest.mark, topic))
        if exercise:
            item.extra_keyword_matches.add(exercise)
    if problems:
        raise pytest.UsageError("tests without points:\n  " + "\n  ".join(problems))
    chosen = _session(config).exercises
    if chosen is not None:
        kept = [item for item in items if not is_topic_test(item) or exercise_of(item) in chosen]
        if len(kept) < len(items):
            config.hook.pytest_deselected(items=[item for item in items if item not in kept])
            items[:] = kept
    first = {name: rank for rank, name in enumerate(config.getoption("--first"))}
    if first:
        items.sort(key=lambda item: first.get(item.name, len(first)))  # stable: the others keep their order
    _session(config).record({"collected": [
        {"nodeid": item.nodeid, "name": item.name, "topic": topic_of(item), "exercise": exercise_of(item),
         "suite": suite_of(item), "skip": item.get_closest_marker("skip") is not None}
        for item in items if is_topic_test(item)]})


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def impl(request: pytest.FixtureRequest) -> Iterator[Submission]:
    """The topic module under test (named by the test file), local or in a worker."""
    state = _session(request.config)
    sub = state.submission(topic_of(request.node))
    if sub.load_error is not None:
        raise sub.load_error
    exercise = exercise_of(request.node)
    hung = state.timeouts.get((sub.topic, exercise), [])
    if len(hung) >= state.grading.topics[sub.topic].timeouts_per_exercise:
        raise SubmissionTimeout(f"not run: this exercise already exceeded its time limit in {hung[0]}")
    hits = sub.static_hits.get(exercise, [])
    if hits:
        raise ForbiddenCall("; ".join(h.describe(sub.filename) for h in hits))
    if sub.worker is not None:
        sub.worker.deadline = state.deadline  # a worker made during this test: the test's deadline holds
        sub.worker.ensure()
    graded = state.grading.topics[sub.topic].exercises.get(exercise)
    sub.serve(list(graded.uses) if graded else [])
    yield sub
    if sub.worker is None:
        sub.serve([])


@pytest.fixture(autouse=True)
def _fresh_torch(request: pytest.FixtureRequest) -> None:
    """Every test starts from torch's settings as pytest found them (a default dtype one topic set does not
    reach another topic's tests) and from the same global RNG state, so its inputs never change."""
    restore_torch_state(_session(request.config).settings)
    torch.manual_seed(0)


# --------------------------------------------------------------------------- running and recording

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    state = _session(item.config)
    timeout = _limit(state, item)
    item._autograder_start = time.monotonic()
    state.deadline = item._autograder_start + timeout if timeout else None
    for s in state.submissions.values():
        if s.worker is not None:
            s.worker.hits = []
            s.worker.requests = 0
            s.worker.start_seconds = 0.0
            s.worker.deadline = state.deadline
    alarm = None if state.use_worker or not timeout or _debugging(item.config) else _Alarm(state, item, timeout)
    try:
        yield
    finally:
        if alarm is not None:
            alarm.cancel()
    state.deadline = None
    for s in state.submissions.values():
        if s.worker is not None:
            s.worker.deadline = None


def _limit(state: Session, item: pytest.Item) -> float | None:
    """A graded test's time limit, in the grader and in local runs alike (``--test-timeout`` caps it, 0: none)."""
    if state.test_timeout == 0:
        return None
    topic = topic_of(item)
    if not is_topic_test(item) or topic not in state.grading.topics:
        return state.test_timeout
    limit = timings.limit(state.grading.topics[topic], topic, item.nodeid)
    return min(limit, state.test_timeout) if state.test_timeout else limit


def _debugging(config: pytest.Config) -> bool:
    return bool(config.getoption("usepdb", False) or config.getoption("trace", False)) or sys.gettrace() is not None


class _Alarm:
    """A local run's time limit: SIGALRM interrupts the student's code with a timeout naming where it was
    stuck; code that swallows that too gets two more seconds, then pytest stops with the same message."""

    GRACE = 2.0

    def __init__(self, state: Session, item: pytest.Item, seconds: float):
        self.state, self.item, self.seconds = state, item, seconds
        self.fired = False
        try:
            self.previous = signal.signal(signal.SIGALRM, self.fire)
        except ValueError:  # not the main thread: no alarm
            self.previous = None
            return
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def message(self, frame) -> str:
        sub = self.state.submissions.get(topic_of(self.item))
        where = ""
        while frame is not None and sub is not None:
            if os.path.abspath(frame.f_code.co_filename) == os.path.abspath(sub.path):
                where = f"; it was running {sub.filename}:{frame.f_lineno} (in {frame.f_code.co_name})"
                break
            frame = frame.f_back
        return f"time limit of {self.seconds:g} s exceeded in {self.item.name}{where}"

    def fire(self, signum, frame) -> None:
        text = self.message(frame)
        if self.fired:
            capture = self.item.config.pluginmanager.getplugin("capturemanager")
            if capture is not None:  # the message must reach the terminal, not pytest's capture file
                capture.suspend_global_capture(in_=True)
            sys.stdout.flush()
            sys.stderr.write(f"\n{self.item.nodeid}: {text}; the code caught the interruption, so pytest "
                             "stops here\n")
            sys.stderr.flush()
            os._exit(1)
        self.fired = True
        signal.setitimer(signal.ITIMER_REAL, self.GRACE)
        raise SubmissionTimeout(text)

    def cancel(self) -> None:
        if self.previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def _classify(call: pytest.CallInfo) -> tuple[str, str, bool]:
    """(status, message, whether the message says it all so the traceback can go)."""
    exc = call.excinfo.value if call.excinfo else None
    if exc is None:
        return "passed", "", False
    if isinstance(exc, NotImplementedError):
        return "error", f"not implemented yet: {exc}", True
    if isinstance(exc, SubmissionError):
        name = type(exc).__name__
        prefix = "" if type(exc).__module__ == "autograder.remote" else f"{name}: "
        return getattr(exc, "status", "error"), f"{prefix}{exc}", True
    if isinstance(exc, AssertionError):
        return "failed", str(exc), False
    return "error", f"{type(exc).__name__}: {exc}", False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    if call.excinfo is not None and isinstance(call.excinfo.value, zygote.ServerLost):
        os._exit(zygote.RERUN)  # no test is charged for it: the grader runs this topic again, directly
    outcome = yield
    report = outcome.get_result()
    if not is_topic_test(item):
        return
    state = _session(item.config)
    sub = state.submissions.get(topic_of(item))
    finished = (call.when == "call") or (report.failed or report.skipped) and call.when == "setup"
    if not finished or getattr(item, "_autograder_recorded", False):
        return
    item._autograder_recorded = True
    short = False
    if report.skipped:
        status, message = "skipped", str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    else:
        status, message, short = _classify(call)
    hits = sub.worker.hits if sub is not None and sub.worker is not None else []
    changed = _audit(sub)
    if changed and status not in ("forbidden", "timeout"):
        status, short = "error", True
        message = (f"the submission changed torch itself ({', '.join(changed[:3])}): "
                   "a submission may not replace functions of torch or of the grader")
    if hits and status != "forbidden":
        status, short = "forbidden", True
        message = "; ".join(hit_message(h) for h in hits[:3])
    if status == "timeout" and not message.startswith("not run"):
        state.timeouts.setdefault((topic_of(item), exercise_of(item)), []).append(item.name)
    if short and report.failed:
        report.longrepr = f"[{status}] {message}"
    state.record({"nodeid": item.nodeid, "status": status, "message": message[:3000],
                  "duration": round(_test_seconds(item, sub), 3)})
    if state.stop_at is not None and status not in ("passed", "skipped") and state.stop_at in message.lower():
        item.session.shouldfail = f"{item.name} lost points with the text asked for"


def _test_seconds(item: pytest.Item, sub: Submission | None) -> float:
    """How long the test took, without the time spent starting workers (which no limit counts)."""
    elapsed = time.monotonic() - getattr(item, "_autograder_start", time.monotonic())
    worker = sub.worker if sub is not None else None
    return max(0.0, elapsed - (worker.start_seconds if worker is not None else 0.0))


@pytest.hookimpl(tryfirst=True)
def pytest_exception_interact(node: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
    """``--pdb`` opens in the test or in the student's code, not in the grader's helpers: the traceback a
    debugger is given ends at the last frame that is neither hidden nor the grader's."""
    excinfo = call.excinfo
    tb = excinfo.tb if excinfo is not None else None
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    while len(frames) > 1 and _grader_frame(frames[-1].tb_frame):
        frames.pop()
    if excinfo is None or not frames or frames[-1].tb_next is None:
        return
    trimmed = None
    for entry in reversed(frames):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    call.excinfo = pytest.ExceptionInfo.from_exc_info((excinfo.type, excinfo.value, trimmed))


def _grader_frame(frame: types.FrameType) -> bool:
    return bool(frame.f_locals.get("__tracebackhide__")) or frame.f_globals.get("__name__") in (
        "autograder.compare", "autograder.plugin", "autograder.remote")


def _audit(sub: Submission | None) -> list[str]:
    """What the submission replaced in torch during this test (nothing to ask when its worker is gone, or
    when the test sent it no request: the worker runs no code of the submission between requests)."""
    worker = sub.worker if sub is not None else None
    if worker is None or worker.proc is None or worker.proc.poll() is not None or worker.import_error:
        return []
    if not worker.requests:
        return []
    worker.deadline = time.monotonic() + AUDIT_TIMEOUT
    try:
        changed = [str(name) for name in worker.request({"op": "audit"})]
    except (SubmissionError, TypeError):
        return []
    worker.serving = []  # the audit ended the stand-ins' loan
    if changed:
        worker.kill()  # the next test starts from an untouched torch
    return changed


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = _session(session.config)
    for sub in state.submissions.values():
        sub.close()
    if state.own_workdir:
        shutil.rmtree(state.workdir, ignore_errors=True)
