"""``validate``: proof that the grader grades.

For every topic in ``grading.yml``:

* the committed ``exercises/`` equal what ``generate`` writes from ``solutions/``;
* each exercise has public and hidden tests, and every test has points (collection
  fails otherwise);
* ``solutions/`` scores full marks on every suite;
* untouched ``exercises/`` score zero on every graded test;
* every known-wrong variant in ``autograder/mutants/<topic>/`` loses points on the hidden
  suite, and where it declares a ``# hint:``, the feedback contains that hint.

A mutant file is appended to the solution's source (so it only redefines what it breaks)
and starts with ``# wrong: <what is wrong>`` and optionally ``# hint: <text>``.

A variant is graded until one test loses points (showing its hint, when it declares one): first the
tests of the exercises it breaks, starting with the one that caught it at the last recorded run
(``mutants/caught_by.json``, written by ``python -m autograder validate``), then, only when those do
not catch it, the whole hidden suite.

Variants that share code name a part of their folder whose file name starts with ``_`` (not a
variant itself) in ``# uses: _part.py`` lines; each part is appended before the variant.
"""
from __future__ import annotations

import ast
import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable

from autograder import config as config_mod
from autograder import judge, source, timings
from autograder.config import REPO_ROOT

MUTANTS = os.path.join(REPO_ROOT, "autograder", "mutants")
#: The test that caught each known-wrong variant at the last recorded ``validate``, tried first next time
#: (only an order: a variant is caught by whichever test loses points).
CAUGHT_BY = os.path.join(MUTANTS, "caught_by.json")
MIN_MUTANTS = 6


@dataclass
class Mutant:
    topic: str
    name: str
    path: str
    wrong: str
    hint: str | None
    uses: list[str] = field(default_factory=list)  # paths of the shared parts appended before it


@dataclass
class MutantResult:
    mutant: Mutant
    caught: bool
    lost: float
    max_score: float
    hint_shown: bool | None
    statuses: dict[str, int] = field(default_factory=dict)
    caught_by: str = ""  # the first test that failed


def read_mutant(topic: str, path: str) -> Mutant:
    wrong = hint = None
    uses = []
    where = os.path.relpath(path, REPO_ROOT)
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# wrong:"):
                wrong = line.split(":", 1)[1].strip()
            elif line.startswith("# hint:"):
                hint = line.split(":", 1)[1].strip()
            elif line.startswith("# uses:"):
                part = line.split(":", 1)[1].strip()
                uses.append(os.path.join(os.path.dirname(path), part))
                if not part.startswith("_") or os.sep in part or not os.path.isfile(uses[-1]):
                    raise ValueError(f"{where}: '# uses: {part}' must name a shared part _<name>.py of its folder")
    if not wrong:
        raise ValueError(f"{where}: first lines must say '# wrong: <what is wrong>'")
    return Mutant(topic, os.path.basename(path)[:-3], path, wrong, hint, uses)


def mutants_of(topic: str) -> list[Mutant]:
    folder = os.path.join(MUTANTS, topic)
    if not os.path.isdir(folder):
        return []
    return [read_mutant(topic, os.path.join(folder, n)) for n in sorted(os.listdir(folder))
            if n.endswith(".py") and not n.startswith("_")]


def build_mutant(mutant: Mutant, directory: str) -> str:
    """Write ``<topic>.py`` = solution (markers removed) + the shared parts it uses + the mutant's overrides."""
    with open(os.path.join(source.SOLUTIONS, f"{mutant.topic}.py"), encoding="utf-8") as f:
        text = source.strip_markers(f.read())
    for path in mutant.uses:
        with open(path, encoding="utf-8") as f:
            text += f"\n\n# ---- shared part: {os.path.basename(path)} ----\n{f.read()}"
    with open(mutant.path, encoding="utf-8") as f:
        text += f"\n\n# ---- known-wrong variant: {mutant.name} ----\n{f.read()}"
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{mutant.topic}.py"), "w", encoding="utf-8") as f:
        f.write(text)
    return directory


def check_mutant(mutant: Mutant, grading: config_mod.Grading, device: str, level: str = "auto",
                 caught_before: str | None = None) -> MutantResult:
    """Grade the mutant on the hidden suite until a test loses points (with the declared hint in its message,
    when there is one): first the tests of the exercises it breaks (:func:`broken_exercises`), starting with
    ``caught_before`` (the test that caught it last time), then, when those do not catch it, the whole suite."""
    targets = broken_exercises(mutant, grading)
    stop_at = mutant.hint or ""
    first = (caught_before,) if caught_before else ()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.topic}-") as tmp:
        build_mutant(mutant, tmp)
        report = None
        if targets is not None:
            report = judge.grade(tmp, topics=[mutant.topic], suite="hidden", device=device, grading=grading,
                                 level=level, part=judge.Part(tuple(targets), first, stop_at))
        if report is None or not _lost(report, mutant, targets) or (mutant.hint and not _mentions(report, mutant)):
            targets = None
            report = judge.grade(tmp, topics=[mutant.topic], suite="hidden", device=device, grading=grading,
                                 level=level, part=judge.Part(None, first, stop_at))
    tests = [t for t in report["topics"][mutant.topic]["tests"] if targets is None or t["exercise"] in targets]
    statuses: dict[str, int] = {}
    for t in tests:
        statuses[t["status"]] = statuses.get(t["status"], 0) + 1
    hint_shown = _mentions(report, mutant) if mutant.hint else None
    lost = _lost(report, mutant, targets)
    first_failure = next((t["name"] for t in tests if t["status"] != "passed"
                          and not t["message"].startswith("not run")), "")
    return MutantResult(mutant, lost > 1e-9 and not report.get("faults"), lost,
                        report["topics"][mutant.topic]["max_score"], hint_shown, statuses, first_failure)


def _lost(report: dict, mutant: Mutant, exercises: list[str] | None) -> float:
    """Points the mutant lost on ``exercises`` (all: None); tests after the first loss were not run."""
    return sum(t["max_score"] - t["score"] for t in report["topics"][mutant.topic]["tests"]
               if exercises is None or t["exercise"] in exercises)


def broken_exercises(mutant: Mutant, grading: config_mod.Grading) -> list[str] | None:
    """The exercises whose tests can see what the mutant redefines: those it redefines, and those whose
    solution reaches a redefined helper or constant through the module's top-level names (not through another
    exercise: while an exercise's tests run, the exercises it ``uses`` are the grader's). None when the mutant
    does more than define names (then every test may see it)."""
    with open(os.path.join(source.SOLUTIONS, f"{mutant.topic}.py"), encoding="utf-8") as f:
        solution = ast.parse(source.strip_markers(f.read()))
    override = []
    for path in [*mutant.uses, mutant.path]:  # the shared parts it uses are appended with it
        with open(path, encoding="utf-8") as f:
            override += ast.parse(f.read()).body
    changed = set()
    for node in override:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names = _defined(node)
        if names is None:
            return None
        changed |= names
    refers: dict[str, set[str]] = {}
    for node in solution.body:
        for name in _defined(node) or ():
            refers.setdefault(name, set()).update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    exercises = grading.topics[mutant.topic].exercises
    broken = []
    for name, exercise in exercises.items():
        seen, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in seen or (current != name and current in exercise.uses):
                continue
            seen.add(current)
            todo += refers.get(current, ())
        if seen & changed:
            broken.append(name)
    return broken


def _defined(node: ast.stmt) -> set[str] | None:
    """Top-level names a statement defines, or None when it does something else."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else None
    if targets is None or not all(isinstance(t, ast.Name) for t in targets):
        return None
    return {t.id for t in targets}


def _mentions(report: dict, mutant: Mutant) -> bool:
    return any(mutant.hint.lower() in t["message"].lower() for t in report["topics"][mutant.topic]["tests"])


def read_caught_by() -> dict[str, dict[str, str]]:
    """topic -> variant -> the name of the test that caught it (empty when nothing is recorded)."""
    try:
        with open(CAUGHT_BY, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def record_caught_by(before: dict[str, dict[str, str]], validated: Iterable["TopicValidation"]) -> None:
    """Write the tests that caught the variants of the topics just validated (others keep their record)."""
    record = dict(before)
    for res in validated:
        record[res.topic] = {r.mutant.name: r.caught_by.split("/", 1)[-1] for r in res.mutants if r.caught}
    with open(CAUGHT_BY, "w", encoding="utf-8") as f:
        json.dump({topic: dict(sorted(names.items())) for topic, names in sorted(record.items())}, f, indent=1)
        f.write("\n")


@dataclass
class TopicValidation:
    topic: str
    problems: list[str] = field(default_factory=list)
    solution: str = ""
    stub: str = ""
    mutants: list[MutantResult] = field(default_factory=list)


def validate(topics: list[str] | None = None, device: str = "auto", jobs: int = 1,
             progress: Callable[[str], None] | None = None, level: str = "auto",
             record_timings: bool = False) -> tuple[bool, list[TopicValidation], list[str]]:
    """Run every check at sandbox ``level``; returns (all hold, per-topic results, global problems).
    With ``record_timings``, the solutions' test times go to ``autograder/timings.json``."""
    grading = config_mod.load()
    topics = topics or list(grading.topics)
    global_problems = source.drift()
    results = {t: TopicValidation(t) for t in topics}
    say = progress or (lambda _: None)

    def solution_and_stub(topic: str) -> None:
        res = results[topic]
        for label, folder in (("solution", source.SOLUTIONS), ("stub", source.EXERCISES)):
            report = judge.grade(folder, topics=[topic], suite="all", device=device, grading=grading, level=level)
            data = report["topics"][topic]
            res.problems += report.get("faults", [])
            text = f"{data['score']:g}/{data['max_score']:g}"
            if label == "solution":
                res.solution = text
                bad = [t for t in data["tests"] if t["status"] != "passed"]
                if record_timings and not bad:
                    with timings_lock:
                        timings.record(topic, timings.durations(topic, data))
                res.problems += [f"solution fails {t['name']}: [{t['status']}] {t['message'][:300]}" for t in bad]
                suites = {(t["exercise"], t["suite"]) for t in data["tests"]}
                for exercise in grading.topics[topic].exercises:
                    for suite in judge.SUITE_FILES:
                        if (exercise, suite) not in suites:
                            res.problems.append(f"exercise {exercise} has no {suite} test")
            else:
                res.stub = text
                res.problems += [f"untouched exercise passes {t['name']}" for t in data["tests"]
                                 if t["status"] == "passed" or t["score"] > 0]
        say(f"{topic}: solution {res.solution}, stub {res.stub}")

    caught_before = read_caught_by()

    def mutant(m: Mutant) -> None:
        result = check_mutant(m, grading, device, level, caught_before.get(m.topic, {}).get(m.name))
        results[m.topic].mutants.append(result)
        say(f"{m.topic}/{m.name}: {'caught' if result.caught else 'NOT CAUGHT'}")

    timings_lock = threading.Lock()
    jobs_list: list[Callable[[], None]] = []
    for topic in topics:
        if not os.path.exists(os.path.join(source.SOLUTIONS, f"{topic}.py")):
            results[topic].problems.append(f"solutions/{topic}.py is missing")
            continue
        jobs_list.append(lambda t=topic: solution_and_stub(t))
        try:
            found = mutants_of(topic)
        except ValueError as exc:
            results[topic].problems.append(str(exc))
            found = []
        if len(found) < MIN_MUTANTS:
            results[topic].problems.append(f"only {len(found)} known-wrong variants (at least {MIN_MUTANTS})")
        jobs_list += [lambda m=m: mutant(m) for m in found]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(job) for job in jobs_list]:
            future.result()
    for res in results.values():
        res.mutants.sort(key=lambda r: r.mutant.name)
        for r in res.mutants:
            if not r.caught:
                res.problems.append(f"known-wrong variant {r.mutant.name} is not caught ({r.mutant.wrong})")
            elif r.hint_shown is False:
                res.problems.append(f"known-wrong variant {r.mutant.name}: feedback does not mention "
                                    f"'{r.mutant.hint}'")
    if record_timings:
        record_caught_by(caught_before, results.values())
    ok = not global_problems and all(not r.problems for r in results.values())
    return ok, list(results.values()), global_problems
