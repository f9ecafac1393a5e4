"""The trusted pipeline: submission folder -> per-topic pytest runs -> scored report.

Steps, each a function:

1. :func:`stage` copies the submission's topic modules (nothing else) into a clean folder;
2. :func:`run_topic` runs the pristine test files of one topic in a pytest process of its
   own, which starts the untrusted worker (``--worker``) in the sandbox
   (:mod:`autograder.sandbox`); the process group is killed at the topic's time limit;
   results arrive as JSON lines on a pipe only that pytest process holds, and every test
   it finished before a kill is kept;
3. :func:`read_records` checks them (a malformed, duplicate or unknown record voids the
   topic, never the report), and :func:`score_topic` turns them into points with
   ``grading.yml``: tests never reached score zero, a forbidden call zeroes its exercise;
4. the caller formats the report (:mod:`autograder.report`).

This module never imports a submission.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from autograder import config as config_mod
from autograder import sandbox, zygote
from autograder.config import REPO_ROOT

SUITE_FILES = {
    "public": os.path.join(REPO_ROOT, "tests", "test_{topic}.py"),
    "hidden": os.path.join(REPO_ROOT, "autograder", "hidden", "test_{topic}.py"),
}


class GraderFault(Exception):
    """The grader itself failed (not the submission): exit code 3."""


class Cancelled(Exception):
    """The caller's ``cancel`` event was set: the topics in progress were killed, nothing was scored."""


@dataclass
class TopicRun:
    topic: str
    collected: list[dict] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    timed_out: bool = False
    cut_by: str = "the topic exceeded its time limit"  # why tests were not reached, when timed out
    fault: str | None = None      # set when pytest itself failed (a grader fault)
    seconds: float = 0.0


@dataclass(frozen=True)
class Part:
    """Which tests of a topic run, and until when (``validate`` looks for one test that loses points)."""

    exercises: tuple[str, ...] | None = None  # only these exercises' tests (None: all)
    first: tuple[str, ...] = ()  # the tests of these names before the others, in this order
    stop_at: str | None = None   # stop at the first test losing points with this text in its message ("": any)

    def pytest_args(self) -> list[str]:
        # "--option=value": a value may start with "-" (a hint such as "-inf")
        args = [] if self.exercises is None else [f"--exercises={','.join(self.exercises)}"]
        args += [f"--first={name}" for name in self.first]
        return args + ([] if self.stop_at is None else [f"--stop-at={self.stop_at}"])


def suites_for(choice: str) -> list[str]:
    return ["public", "hidden"] if choice == "all" else [choice]


def test_files(topic: str, suites: list[str]) -> list[str]:
    return [p for p in (SUITE_FILES[s].format(topic=topic) for s in suites) if os.path.exists(p)]


def stage(submission: str, topics: list[str], workdir: str) -> str:
    """Copy ``<topic>.py`` for each topic from the submission into ``workdir/submission`` (read-only)."""
    target = os.path.join(workdir, "submission")
    os.makedirs(target, exist_ok=True)
    for topic in topics:
        source = os.path.join(submission, f"{topic}.py")
        if os.path.isfile(source):
            shutil.copyfile(source, os.path.join(target, f"{topic}.py"))
            os.chmod(os.path.join(target, f"{topic}.py"), 0o444)
    return target


RECORD_STATUSES = ("passed", "failed", "error", "timeout", "forbidden", "skipped")


def read_records(lines: list[str], run: TopicRun) -> None:
    """Fill ``run`` from the judge's JSON lines; anything malformed, repeated or unknown voids the topic."""
    problems = []
    for number, line in enumerate(lines, start=1):
        if not line.endswith("\n"):
            continue  # the last line of a judge killed mid-write: that test was not finished
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"line {number} is not JSON")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number} is not a record")
        elif "collected" in record:
            if run.collected or not isinstance(record["collected"], list):
                problems.append(f"line {number}: a second or malformed list of tests")
            else:
                run.collected = record["collected"]
        elif record.get("nodeid") not in {t.get("nodeid") for t in run.collected}:
            problems.append(f"line {number}: a result for a test that was not collected")
        elif record["nodeid"] in run.results:
            problems.append(f"line {number}: a second result for {record['nodeid']}")
        elif record.get("status") not in RECORD_STATUSES or not isinstance(record.get("message", ""), str):
            problems.append(f"line {number}: a malformed result for {record['nodeid']}")
        else:
            run.results[record["nodeid"]] = record
    if problems:
        run.results = {}
        run.fault = f"the results of topic {run.topic} are not trustworthy: " + "; ".join(problems[:3])


def _read_lines(fd: int, into: list[str]) -> None:
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as pipe:
        into.extend(pipe)


def run_topic(topic: str, staged: str, suites: list[str], device: str, grading: config_mod.Grading,
              workdir: str, threads: int | None = None, level: str = "none", budget: float | None = None,
              cancel: threading.Event | None = None, part: Part | None = None) -> TopicRun:
    """Run one topic's test files (or ``part`` of them) against the staged submission in a separate pytest
    process, for at most its ``topic_timeout`` or ``budget`` seconds, whichever is shorter; once ``cancel``
    is set, the process is killed and :class:`Cancelled` raised."""
    cfg = grading.topics[topic]
    run = TopicRun(topic)
    time_limit = cfg.topic_timeout
    if budget is not None and budget < time_limit:
        time_limit = max(0.0, budget)
        run.cut_by = f"the submission's time budget ({grading.submission_budget:g} s) ran out"
    files = test_files(topic, suites)
    if not files:
        run.fault = f"no test files for topic {topic} in suites {suites}"
        return run
    judge_dir = os.path.join(workdir, f"judge-{topic}")
    os.makedirs(judge_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider", "--rootdir", REPO_ROOT,
           "--impl", staged, "--worker", "--sandbox", level, "--workdir", judge_dir, "--device", device,
           "--test-timeout", str(cfg.test_timeout), "-o", "addopts=",
           "--strict-markers", "--import-mode=importlib", "--no-header", "--tb=no"]
    if part is not None:
        cmd += part.pytest_args()
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, PYTHONDONTWRITEBYTECODE="1")
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log_path = os.path.join(workdir, f"{topic}.pytest.log")
    start = time.monotonic()
    code, lines, run.timed_out, lost = _run_judge(cmd, env, log_path, time_limit, cancel, forked=True)
    if lost or code == zygote.RERUN:  # a fork server died under this judge or its worker: grade the topic again
        code, lines, run.timed_out, _ = _run_judge(cmd, env, log_path, time_limit, cancel, forked=False)
    run.seconds = time.monotonic() - start
    read_records(lines, run)
    if run.fault:
        return run
    if code not in (0, 1, None) or (not run.collected and not run.timed_out):
        with open(log_path, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-2000:]
        run.fault = f"pytest exited with code {code} for topic {topic}:\n{tail}"
    return run


def _run_judge(cmd: list[str], env: dict, log_path: str, time_limit: float, cancel: threading.Event | None,
               forked: bool) -> tuple[int | None, list[str], bool, bool]:
    """One judge process, forked by the judge server (:mod:`autograder.zygote`) when ``forked`` and one runs,
    else started directly; killed with its process group at ``time_limit`` (or when ``cancel`` is set, raising
    :class:`Cancelled`). Returns (exit code or None when
    killed, result lines, whether it was killed, whether the fork server died under it)."""
    if cancel is not None and cancel.is_set():  # never start a judge once cancelled (nor again, directly)
        raise Cancelled("the grading was cancelled")
    read_end, write_end = os.pipe()
    cmd = [*cmd, "--results-fd", str(write_end)]
    lines: list[str] = []
    timed_out = False
    with open(log_path, "wb") as log:
        try:
            proc = zygote.start_judge(cmd[3:], env, REPO_ROOT, log.fileno(), write_end) if forked else None
            if proc is None:
                proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=[write_end])
        finally:
            os.close(write_end)
        reader = threading.Thread(target=_read_lines, args=(read_end, lines), daemon=True)
        reader.start()
        try:
            code = _wait(proc, time_limit, cancel)
        except subprocess.TimeoutExpired:
            zygote.kill_group(proc)
            proc.wait()
            timed_out, code = True, None
    zygote.kill_group(proc)  # whatever it left in its process group
    reader.join(timeout=30)
    return code, list(lines), timed_out, getattr(proc, "lost", False)


def _wait(proc: subprocess.Popen | zygote.Child, seconds: float, cancel: threading.Event | None) -> int:
    """``proc.wait(seconds)``, looking at ``cancel`` four times a second: once it is set, the process group
    is killed and :class:`Cancelled` raised."""
    if cancel is None:
        return proc.wait(timeout=seconds)
    deadline = time.monotonic() + seconds
    while not cancel.is_set():
        try:
            return proc.wait(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
    zygote.kill_group(proc)
    proc.wait()
    raise Cancelled("the grading was cancelled")


def score_topic(run: TopicRun, grading: config_mod.Grading) -> dict:
    """Points per test from ``grading.yml``; the topic's maximum is always its exercises' points."""
    cfg = grading.topics[run.topic]
    graded = [t for t in run.collected if not t.get("skip") and
              run.results.get(t["nodeid"], {}).get("status") != "skipped"]
    tests = []
    earned = 0.0  # summed before rounding, so a full score is exactly the maximum
    for exercise_name, exercise in cfg.exercises.items():
        mine = [t for t in graded if t["exercise"] == exercise_name]
        if not mine:
            reason = run.fault or (f"not run: {run.cut_by} before these tests were collected" if run.timed_out
                                   else "no graded test for this exercise ran")
            tests.append(_entry(f"{exercise_name} (not graded)", exercise_name, "-", exercise.points, "error",
                                reason, 0.0))
            continue
        points = _split_points(mine, exercise)
        forbidden = [run.results[t["nodeid"]] for t in mine
                     if run.results.get(t["nodeid"], {}).get("status") == "forbidden"]
        for t in mine:
            record = run.results.get(t["nodeid"])
            if record is None:
                status = "timeout" if run.timed_out else "error"
                message = (f"not reached: {run.cut_by}" if run.timed_out
                           else run.fault or "not run: the grading process ended before this test")
            else:
                status, message = record["status"], record.get("message", "")
            if forbidden and status != "forbidden":
                status = "forbidden"
                message = f"exercise zeroed: {forbidden[0].get('message', 'forbidden call')}"
            score = points[t["nodeid"]] if status == "passed" else 0.0
            earned += score
            tests.append(_entry(f"{t['suite']}/{t['name']}", exercise_name, t["suite"], points[t["nodeid"]],
                                status, message, score, record.get("duration") if record else None))
    return {
        "score": round(earned, 6),
        "max_score": cfg.max_score,
        "tests": tests,
    }


def _split_points(tests: list[dict], exercise: config_mod.Exercise) -> dict[str, float]:
    """Explicit per-test-function points first; the rest of the exercise's points evenly."""
    base = {t["nodeid"]: t["name"].split("[")[0] for t in tests}
    explicit = {fn: p for fn, p in exercise.tests.items() if fn in base.values()}
    rest = [n for n, fn in base.items() if fn not in explicit]
    remaining = exercise.points - sum(explicit.values())
    points = {}
    for nodeid, fn in base.items():
        if fn in explicit:
            points[nodeid] = explicit[fn] / sum(1 for f in base.values() if f == fn)
        else:
            points[nodeid] = remaining / len(rest)
    if not rest and remaining > 1e-9:  # every test has explicit points: scale them to the total
        scale = exercise.points / sum(points.values())
        points = {k: v * scale for k, v in points.items()}
    return points


def _entry(name, exercise, suite, max_score, status, message, score, duration=None) -> dict:
    entry = {"name": name, "score": round(score, 6), "max_score": round(max_score, 6), "status": status,
             "message": message, "exercise": exercise, "suite": suite}
    if duration is not None:
        entry["duration"] = duration
    return entry


def grade(submission: str, *, topics: list[str] | None = None, suite: str = "all", device: str = "auto",
          grading: config_mod.Grading | None = None, jobs: int = 1,
          on_topic_done: Callable[[str, dict], None] | None = None, keep_dir: str | None = None,
          level: str = "auto", cancel: threading.Event | None = None, part: Part | None = None,
          threads: int | None = None) -> dict:
    """Grade one submission folder; returns the report (schema: ``report.JSON_SCHEMA``).
    ``level`` is the sandbox level (``auto``: the strongest this machine allows); setting ``cancel``
    kills the topics in progress, starts no other and raises :class:`Cancelled`. With ``part`` (for
    ``validate``), tests it leaves out score zero. ``threads``: torch's threads in each judge and worker
    (default: 1 when topics are graded in parallel, else torch's own number)."""
    grading = grading or config_mod.load()
    topics = topics or list(grading.topics)
    suites = suites_for(suite)
    level = sandbox.resolve(level)
    workdir = keep_dir or tempfile.mkdtemp(prefix="autograder-")
    os.makedirs(workdir, exist_ok=True)
    staged = stage(submission, topics, workdir)
    threads = threads or (1 if jobs > 1 else None)
    faults = []

    # The budget: the whole submission ends by its deadline, and no topic takes more than its share, so one
    # hung topic cannot starve the others (honest code needs a small part of its share).
    deadline = time.monotonic() + grading.submission_budget
    share = grading.submission_budget * max(1, jobs) / len(topics)

    def one(topic: str) -> tuple[str, dict]:
        budget = min(share, deadline - time.monotonic())
        if cancel is not None and cancel.is_set():
            raise Cancelled("the grading was cancelled")
        run = run_topic(topic, staged, suites, device, grading, workdir, threads, level, budget, cancel, part)
        if run.fault:
            faults.append(run.fault)
        result = score_topic(run, grading)
        result["seconds"] = round(run.seconds, 2)
        if on_topic_done:
            on_topic_done(topic, result)
        return topic, result

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            done = dict(pool.map(one, topics))
    finally:
        if keep_dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "score": round(sum(t["score"] for t in done.values()), 6),
        "max_score": round(sum(t["max_score"] for t in done.values()), 6),
        "topics": {t: done[t] for t in topics},
        "sandbox": sandbox.describe(level),
    }
    if faults:
        report["faults"] = faults
    return report
