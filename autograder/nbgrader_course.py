"""``nbgrader COURSE``: an nbgrader course from the same single source as ``grade``.

It writes ``COURSE/nbgrader_config.py`` and ``COURSE/source/pytorch/<topic>.ipynb``, one notebook per
topic of ``grading.yml``:

1. a title and what to do;
2. a read-only setup cell (``%load_ext autograder.nbgrader_cells``);
3. the answer cell: ``%%topic <topic>`` and the whole module of ``solutions/<topic>.py`` with the
   exercise's docstring. Its regions already carry nbgrader's own markers (``### BEGIN SOLUTION`` /
   ``### END SOLUTION``), so ``nbgrader generate_assignment`` clears them as ``generate`` does;
   the stub it writes (``ClearSolutions.code_stub``) raises ``NotImplementedError``, which the
   tests report as "not implemented yet";
4. per exercise, a public and a hidden test cell. A cell calls
   :func:`autograder.nbgrader_cells.score`, which grades the module with the grader itself and
   returns the points that exercise's tests of that suite earned: nbgrader's partial credit. The
   cell's ``points`` are the sum of those tests' points in ``grading.yml``, split as
   :func:`autograder.judge.score_topic` splits them (for the tests collected on ``cpu``), so each
   notebook's score is the grader's topic score. (One all-or-nothing cell per test would also add
   up, but means ~100 cells a notebook; one all-or-nothing cell per exercise would not add up.) The
   hidden cell's call sits between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``: the
   release has none; ``nbgrader autograde`` restores it from the gradebook and runs the hidden
   suite from ``autograder/hidden/`` of this repository, which the kernel imports.

``nbgrader_config.py`` puts this repository on the kernel's ``PYTHONPATH`` and the interpreter's
``bin/`` on ``PATH`` (nbgrader runs ``alembic`` from there); tells answer cells to write their module
without running it in the kernel (the grader runs it in its sandboxed worker, so an endless loop at
import costs the topic, not the autograde run); sets ``Execute.timeout`` above the grader's own time
limits and ``Execute.raise_on_iopub_timeout = False`` (a cell that swallows the interrupt otherwise
aborts the whole autograde); adds ``ClearHiddenTests`` to the feedback; and, for ``nbgrader autograde``,
starts the grader's fork servers (:func:`fork_servers_for`), so every notebook's judge and worker are
forked, as ``grade``'s are, instead of each importing torch anew.

nbgrader runs every cell of a submission in the grading kernel, student-added ones included, so its
scores are only as trustworthy as that kernel; ``python -m autograder grade`` on the answer cells'
modules is the grade that no cell can change.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import tempfile

from autograder import config as config_mod
from autograder import judge, source, zygote
from autograder.config import REPO_ROOT
from autograder.nbgrader_cells import DECIMALS, DEVICE, GRADING_ENV

ASSIGNMENT = "pytorch"
SUITES = ("public", "hidden")
CODE_STUB = '# YOUR CODE HERE\nraise NotImplementedError("fill in this part (see the docstring)")'
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
EXECUTE_MARGIN = 120  # seconds a test cell may take beyond the grader's own limit for its topic


class CourseError(Exception):
    """The course cannot be written (message names why)."""


def build(course: str, force: bool = False, grading: config_mod.Grading | None = None) -> list[str]:
    """Write the course into ``course``; returns the files written."""
    grading = grading or config_mod.load()
    if os.path.exists(course) and not os.path.isdir(course):
        raise CourseError(f"{course} is not a folder")
    if os.path.isdir(course) and os.listdir(course) and not force:
        raise CourseError(f"{course} is not empty (--force rewrites its nbgrader_config.py and source notebooks)")
    points = cell_points(list(grading.topics), grading)
    folder = os.path.join(course, "source", ASSIGNMENT)
    os.makedirs(folder, exist_ok=True)
    written = [os.path.join(course, "nbgrader_config.py")]
    with open(written[0], "w", encoding="utf-8") as f:
        f.write(nbgrader_config(grading))
    for topic in grading.topics:
        path = os.path.join(folder, f"{topic}.ipynb")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(notebook(topic, points[topic], grading), f, indent=1, ensure_ascii=False)
            f.write("\n")
        written.append(path)
    return written


def collect(topics: list[str]) -> dict[str, list[dict]]:
    """The graded tests of each topic, as the grader collects them on :data:`DEVICE`."""
    files = [f for topic in topics for f in judge.test_files(topic, list(SUITES))]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as records:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *files, "--collect-only", "-q", "-p", "no:cacheprovider",
             "--rootdir", REPO_ROOT, "-o", "addopts=", "--import-mode=importlib", "--device", DEVICE,
             "--results-fd", str(records.fileno())],
            cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT), pass_fds=[records.fileno()],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise CourseError(f"collecting the tests failed:\n{proc.stdout[-2000:]}")
        records.seek(0)
        collected = next(json.loads(line)["collected"] for line in records if '"collected"' in line)
    return {topic: [t for t in collected if t["topic"] == topic] for topic in topics}


def cell_points(topics: list[str], grading: config_mod.Grading) -> dict[str, dict[tuple[str, str], float]]:
    """topic -> (exercise, suite) -> the points of that test cell: the points the grader gives its tests
    (:func:`autograder.judge.score_topic`); the hidden cell gets the rest of the exercise's points, so
    an exercise's two cells add up to its points exactly."""
    result = {}
    for topic, tests in collect(topics).items():
        scored = judge.score_topic(judge.TopicRun(topic, collected=tests), grading)["tests"]
        cells: dict[tuple[str, str], float] = {}
        for exercise, settings in grading.topics[topic].exercises.items():
            mine = {suite: [t["max_score"] for t in scored if t["exercise"] == exercise and t["suite"] == suite]
                    for suite in SUITES}
            for suite, points in mine.items():
                if not points:
                    raise CourseError(f"{topic}.{exercise} has no {suite} test: its points would not reach "
                                      "the course")
            cells[(exercise, "public")] = round(sum(mine["public"]), DECIMALS)
            cells[(exercise, "hidden")] = round(settings.points - cells[(exercise, "public")], DECIMALS)
        result[topic] = cells
    return result


def notebook(topic: str, points: dict[tuple[str, str], float], grading: config_mod.Grading) -> dict:
    """The source notebook of one topic (nbformat 4.5, nbgrader cell metadata version 3)."""
    module = source.marked_module(topic)
    summary = module.strip('"\n').split("\n", 1)[0]
    cells = [
        _markdown("intro", f"# `{topic}`: {summary}\n\n"
                  "Fill in every part of the next cell that raises `NotImplementedError`, as its docstrings "
                  "ask, and run it (keep its first line, `%%topic " + topic + "`). The cells after it grade "
                  "your code with the course's grader: each shows its points and the tests you lost. "
                  "Hidden tests run when your notebook is graded."),
        _code("setup", "%load_ext autograder.nbgrader_cells", locked=True),
        _code("answer", f"%%topic {topic}\n{module.rstrip()}", solution=True),
    ]
    for exercise in grading.topics[topic].exercises:
        cells.append(_markdown(f"{exercise}-tests", f"### `{exercise}`"))
        for suite in SUITES:
            call = f'score("{topic}", "{exercise}", "{suite}", of={points[(exercise, suite)]!r})'
            body = ("from autograder.nbgrader_cells import score\n"
                    + (call if suite == "public" else
                       f"# the hidden tests of {exercise}: they run when the notebook is graded\n"
                       f"{HIDDEN_BEGIN}\n{call}\n{HIDDEN_END}"))
            cells.append(_code(f"{exercise}-{suite}", body, points=points[(exercise, suite)]))
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _markdown(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def _code(grade_id: str, text: str, *, locked: bool = False, solution: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": locked or points is not None,
            "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"cell_type": "code", "execution_count": None, "id": grade_id, "metadata": {"nbgrader": meta},
            "outputs": [], "source": text}


_SERVERS = contextlib.ExitStack()  # the fork servers :func:`fork_servers_for` started, closed at exit


def fork_servers_for(argv: list[str]) -> bool:
    """For ``nbgrader autograde`` (``argv``: nbgrader's command line), start the grader's fork servers for the
    rest of this process, unless servers are already named in the environment: the kernels nbgrader starts
    inherit the environment, so each notebook's judge and worker are forked by them (same sandbox, torch
    imported once per run, not twice per notebook). Other nbgrader commands start nothing. Returns whether
    servers were started."""
    if "autograde" not in argv[1:] or all(os.environ.get(name) for name in zygote.ENV.values()):
        return False
    _SERVERS.enter_context(zygote.running())
    atexit.register(_SERVERS.close)
    return True


def nbgrader_config(grading: config_mod.Grading) -> str:
    """The course's ``nbgrader_config.py``."""
    timeout = int(max(min(t.topic_timeout, grading.submission_budget) for t in grading.topics.values()))
    return f'''"""nbgrader configuration of the course written by `python -m autograder nbgrader` (rewritten by it:
change grading.yml, the solutions or the tests in the repository, then rebuild with --force)."""
import os
import sys

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

REPOSITORY = {REPO_ROOT!r}  # the kernel imports the grader, its tests and grading.yml from here

os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (REPOSITORY, os.environ.get("PYTHONPATH")) if p)
os.environ["PATH"] = os.pathsep.join((os.path.dirname(sys.executable), os.environ.get("PATH", "")))  # alembic
os.environ[{GRADING_ENV!r}] = "1"  # answer cells only write their module; the grader's worker runs it

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.assignment_id = {ASSIGNMENT!r}
c.ClearSolutions.code_stub = {{"python": {CODE_STUB!r}}}
c.ClearHiddenTests.begin_test_delimeter = {HIDDEN_BEGIN!r}
c.ClearHiddenTests.end_test_delimeter = {HIDDEN_END!r}
c.Execute.timeout = {timeout + EXECUTE_MARGIN}  # a topic's first test cell runs the whole topic
c.Execute.raise_on_iopub_timeout = False  # code that swallows the interrupt must not abort autograde
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]

sys.path.insert(0, REPOSITORY)
from autograder.nbgrader_course import fork_servers_for  # noqa: E402

fork_servers_for(sys.argv)  # autograde: the notebooks' judges and workers are forked, as grade's are
'''
