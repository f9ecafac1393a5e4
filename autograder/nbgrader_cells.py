"""What the cells of the nbgrader course run, inside the notebook's kernel.

The course (:mod:`autograder.nbgrader_course`) writes one notebook per topic:

* a read-only setup cell, ``%load_ext autograder.nbgrader_cells``, which registers the ``%%topic`` magic;
* the answer cell, ``%%topic <topic>`` followed by the whole topic module: :func:`topic` writes the cell
  to ``<topic>.py`` in a folder of this kernel's own (and, except while nbgrader grades, also runs it
  in the kernel, so later cells can try the functions out);
* per exercise a public and a hidden test cell, each ``score("<topic>", "<exercise>", "<suite>", of=P)``.

The first test cell of a topic grades the module with :func:`autograder.judge.grade`, exactly as
``python -m autograder grade`` does (sandboxed worker, time limits, forbidden calls, points of
``grading.yml``), on every suite this checkout holds, and says which sandbox the worker ran in; the
result is kept until the module changes. When the kernel's environment names the grader's fork servers
(:func:`autograder.zygote.running`, entered by whoever runs ``nbgrader autograde``), its judge and worker
are forked by them, jailed as in ``grade``; otherwise they start as new processes.
:func:`score` then returns the points that exercise's tests of that suite earned, and nbgrader takes
the cell's value as partial credit, so a topic's cells add up to the grader's topic score.

A hidden cell prints only the names and statuses of the tests it lost, never their messages, and a
failing cell's traceback shows this module's call only: no expected value appears in feedback.
Nothing here reads stdin or writes to stderr (nbgrader scores a cell that writes to stderr zero).
"""
from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile

from autograder import config as config_mod
from autograder import judge, sandbox

#: The device the course is graded on; its points are those of the tests collected for it.
DEVICE = "cpu"
#: Set by the course's ``nbgrader_config.py``: answer cells only write their module, the worker runs it.
GRADING_ENV = "AUTOGRADER_NOTEBOOK_GRADING"
#: Points are given to this many decimals (``grading.yml`` splits them into thirds and such) ...
DECIMALS = 6
#: ... and a cell whose tests' points differ from its own by more than this was built from other tests.
STALE = 1e-3

_modules_dir: str | None = None
_graded: dict[tuple[str, str], tuple[dict, bool]] = {}  # (topic, source digest) -> (topic result, hidden ran)


class CourseError(Exception):
    """The notebook cannot be graded as it stands; the message says what to do."""


def modules_dir() -> str:
    """This kernel's folder of topic modules (removed when the kernel exits)."""
    global _modules_dir
    if _modules_dir is None:
        _modules_dir = tempfile.mkdtemp(prefix="autograder-notebook-")
        atexit.register(shutil.rmtree, _modules_dir, ignore_errors=True)
    return _modules_dir


def load_ipython_extension(ipython) -> None:
    """``%load_ext autograder.nbgrader_cells``: registers the ``%%topic`` cell magic."""
    ipython.register_magic_function(topic, magic_kind="cell", magic_name="topic")


def topic(line: str, cell: str) -> None:
    """``%%topic <name>``: the rest of the cell is the module ``<name>.py`` the test cells grade."""
    name = line.strip()
    known = config_mod.load().topics
    if name not in known:
        raise CourseError(f"%%topic {name!r}: not a topic of grading.yml (topics: {', '.join(known)})")
    path = os.path.join(modules_dir(), f"{name}.py")
    text = "\n" + cell  # the magic's line stays a blank line: line numbers in feedback are the cell's
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    if os.environ.get(GRADING_ENV):
        return
    from IPython import get_ipython

    exec(compile(text, path, "exec"), get_ipython().user_ns)  # noqa: S102 - the student's own cell


def score(topic: str, exercise: str, suite: str, of: float) -> float:
    """The points ``exercise``'s tests of ``suite`` earn (at most ``of``, the cell's points), with a line
    per test lost (and, from the cell that graded the module, the sandbox it ran in)."""
    result, hidden_ran = _grade(topic)
    tests = [t for t in result["tests"] if t["exercise"] == exercise and t["suite"] in (suite, "-")]
    earned, lines = cell_score(tests, exercise, suite, of, exact=hidden_ran)
    print("\n".join(lines))
    return earned


def cell_score(tests: list[dict], exercise: str, suite: str, of: float, exact: bool) -> tuple[float, list[str]]:
    """(points, feedback lines) of one test cell from the grader's per-test results: ``of`` times the share
    of the tests' points they earned (so all passed is exactly ``of``, whatever the rounding of a third).

    ``exact``: every suite ran, so the tests' points are the course's and must add up to ``of`` (a
    course built from other tests or another ``grading.yml`` is an error, not a wrong score). Without
    the hidden suite (a student's checkout) the public tests hold all of an exercise's points, so the
    cell shows their share scaled to ``of``: an estimate until the notebook is graded.
    """
    unreached = [t for t in tests if t["suite"] == "-"]  # the topic ended before its tests were collected
    if unreached:
        return 0.0, [f"{exercise}: 0 of {of:g} points: {unreached[0]['message']}"]
    if not tests:
        raise CourseError(f"no {suite} test of {exercise} was graded: rebuild the course "
                          "(python -m autograder nbgrader COURSE --force)")
    total = sum(t["max_score"] for t in tests)
    if exact and abs(total - of) > STALE:
        raise CourseError(f"this cell is worth {of:g} points but the {suite} tests of {exercise} are worth "
                          f"{total:g} now: the tests or grading.yml changed since the course was built; rebuild "
                          "it (python -m autograder nbgrader COURSE --force)")
    share = sum(t["score"] for t in tests) / total if total else 0.0
    earned = min(round(of * share, DECIMALS), of)  # nbgrader refuses a value above the cell's points
    passed = sum(t["status"] == "passed" for t in tests)
    lines = [f"{exercise}, {suite} tests: {passed} of {len(tests)} passed, {earned:g} of {of:g} points"
             + ("" if exact else " (an estimate: the hidden tests share these points when graded)")]
    lost = [t for t in tests if t["status"] != "passed"]
    if suite == "public":
        lines += [f"  {t['status']:9} {t['name'].split('/', 1)[-1]}" + (f": {t['message']}" if t["message"] else "")
                  for t in lost]
    else:  # names and statuses only, one line per test function: a hidden test's message may quote its inputs
        cases = collections.Counter((t["status"], t["name"].split("/", 1)[-1].split("[")[0]) for t in lost)
        lines += [f"  {status:9} {name}" + (f" ({n} cases)" if n > 1 else "") for (status, name), n in cases.items()]
    return earned, lines


def _grade(topic: str) -> tuple[dict, bool]:
    """The grader's result for the module the answer cell wrote, and whether the hidden suite ran."""
    path = os.path.join(modules_dir(), f"{topic}.py")
    if not os.path.isfile(path):
        raise CourseError(f"there is no {topic} module to grade: run the cell that starts with "
                          f"%%topic {topic} first (and keep that line)")
    with open(path, "rb") as f:
        key = (topic, hashlib.sha256(f.read()).hexdigest())
    if key not in _graded:
        hidden = bool(judge.test_files(topic, ["hidden"]))
        with contextlib.redirect_stderr(sys.stdout):
            report = judge.grade(modules_dir(), topics=[topic], suite="all" if hidden else "public",
                                 device=DEVICE, jobs=1)
        if report.get("faults"):
            raise CourseError(f"the grader failed on {topic}: {report['faults'][0].splitlines()[0]} "
                              f"(python -m autograder grade FOLDER --topics {topic} shows why)")
        print(f"{topic} graded in the {sandbox.summary(report['sandbox']['level'])}")
        _graded[key] = (report["topics"][topic], hidden)
    return _graded[key]
