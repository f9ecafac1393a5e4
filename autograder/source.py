"""Single source: ``solutions/`` with marked regions -> ``exercises/``.

A region is the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` (each alone on
its line) inside a function or method. In the exercise it becomes::

    # TODO: implement <topic>.<qualname> (see the docstring).
    raise NotImplementedError("<topic>.<qualname>")

at the indentation of the BEGIN marker. Everything outside regions is kept, so
signatures, docstrings, argument checks and shape unpacking reach the student.
Unbalanced or nested markers, and regions outside a function, are errors that name
the file and the line.
"""
from __future__ import annotations

import ast
import difflib
import os
import textwrap

from autograder import config
from autograder.config import REPO_ROOT

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTIONS = os.path.join(REPO_ROOT, "solutions")
EXERCISES = os.path.join(REPO_ROOT, "exercises")


class MarkerError(ValueError):
    """A solution file's markers are malformed; the message names file and line."""


def _enclosing_functions(source: str, filename: str) -> dict[int, str]:
    """line number -> qualified name of the innermost function containing it."""
    tree = ast.parse(source, filename=filename)
    owner: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                        owner[line] = name
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return owner


def strip_solutions(source: str, filename: str, topic: str) -> str:
    """The exercise text for one solution file."""
    owners = _enclosing_functions(source, filename)
    out: list[str] = []
    begin_line = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if begin_line is not None:
                raise MarkerError(f"{filename}:{number}: nested {BEGIN} (the region opened at line {begin_line} "
                                  f"is not closed)")
            if number not in owners:
                raise MarkerError(f"{filename}:{number}: {BEGIN} outside a function or method")
            begin_line = number
            indent = line[: len(line) - len(line.lstrip())]
            name = f"{topic}.{owners[number]}"
            out.append(f"{indent}# TODO: implement {name} (see the docstring).\n")
            out.append(f'{indent}raise NotImplementedError("{name}")\n')
        elif marker == END:
            if begin_line is None:
                raise MarkerError(f"{filename}:{number}: {END} without a matching {BEGIN}")
            begin_line = None
        elif begin_line is None:
            out.append(line)
        elif BEGIN in line or END in line:
            raise MarkerError(f"{filename}:{number}: marker must stand alone on its line")
        elif number in owners and not f"{owners[number]}.".startswith(f"{owners[begin_line]}."):
            raise MarkerError(f"{filename}:{number}: the region opened at line {begin_line} runs into "
                              f"another function ({owners[number]})")
    if begin_line is not None:
        raise MarkerError(f"{filename}:{begin_line}: {BEGIN} is never closed")
    return "".join(out)


def grading_rules(topic: str, grading: config.Grading | None = None) -> str:
    """The paragraph ``generate`` adds to an exercise module's docstring, from ``grading.yml``: the calls
    the topic forbids and the exercises each exercise may use (graded with the grader's versions)."""
    grading = grading or config.load()
    settings = grading.topics.get(topic)
    if settings is None:
        return ""
    lines = ["Grading rules (generated from grading.yml):", ""]
    if settings.own_forbidden:
        lines += textwrap.wrap("Forbidden, since you write them here: " + ", ".join(
            f"``{n}``" for n in settings.own_forbidden) + ".", 90, break_on_hyphens=False)
        lines.append("")
    if settings.forbidden_aten:
        lines += textwrap.wrap("Forbidden aten operators (private routes to the same): " + ", ".join(
            settings.forbidden_aten) + ".", 90, break_on_hyphens=False)
        lines.append("")
    lines += textwrap.wrap("Forbidden in every topic (ways around the rules): " + ", ".join(
        n for n in settings.forbidden if n not in settings.own_forbidden) + ".", 90, break_on_hyphens=False)
    users = {name: ex.uses for name, ex in settings.exercises.items() if ex.uses}
    if users:
        lines += ["", "Each mistake is charged once: while an exercise below is graded, the exercises it may",
                  "call are the grader's correct versions.", ""]
        for name, uses in users.items():
            lines += textwrap.wrap(f"- ``{name}`` uses " + ", ".join(f"``{u}``" for u in uses), 90,
                                   subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(lines) + "\n"


def _add_rules(text: str, topic: str, filename: str) -> str:
    """``text`` with the grading rules at the end of its module docstring."""
    tree = ast.parse(text, filename=filename)
    first = tree.body[0] if tree.body else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        raise MarkerError(f"{filename}:1: a topic module starts with its docstring")
    lines = text.splitlines(keepends=True)
    end = first.end_lineno - 1  # the line that closes the docstring
    closing = lines[end]
    if closing.strip() != '"""':
        raise MarkerError(f'{filename}:{end + 1}: the module docstring must close with """ on its own line')
    rules = grading_rules(topic)
    return "".join(lines[:end]) + ("\n" + rules if rules else "") + "".join(lines[end:])


def strip_markers(source: str) -> str:
    """The solution without marker lines (what a correct submission looks like)."""
    return "".join(line for line in source.splitlines(keepends=True) if line.strip() not in (BEGIN, END))


def expected_exercises(solutions_dir: str = SOLUTIONS) -> dict[str, str]:
    """file name -> exercise text, for every solution module."""
    result = {}
    for name in sorted(os.listdir(solutions_dir)):
        if name.endswith(".py") and not name.startswith("_"):
            path = os.path.join(solutions_dir, name)
            with open(path, encoding="utf-8") as f:
                filename = os.path.join("solutions", name)
                result[name] = _add_rules(strip_solutions(f.read(), filename, name[:-3]), name[:-3], filename)
    return result


def marked_module(name: str, solutions_dir: str = SOLUTIONS) -> str:
    """``solutions/<name>.py`` with the exercise's module docstring (grading rules added) and its markers
    kept: the answer cell of the nbgrader course, whose regions nbgrader itself clears."""
    filename = os.path.join("solutions", f"{name}.py")
    with open(os.path.join(solutions_dir, f"{name}.py"), encoding="utf-8") as f:
        text = f.read()
    strip_solutions(text, filename, name)  # the same marker checks as generate
    return _add_rules(text, name, filename)


def generate(solutions_dir: str = SOLUTIONS, exercises_dir: str = EXERCISES) -> list[str]:
    """Rewrite ``exercises/`` from ``solutions/``; returns the files written."""
    expected = expected_exercises(solutions_dir)  # all files parse before any is written
    os.makedirs(exercises_dir, exist_ok=True)
    written = []
    for name, text in expected.items():
        path = os.path.join(exercises_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written.append(path)
    return written


def drift(solutions_dir: str = SOLUTIONS, exercises_dir: str = EXERCISES) -> list[str]:
    """Differences between the committed exercises and what ``generate`` would write."""
    problems = []
    for name, text in expected_exercises(solutions_dir).items():
        path = os.path.join(exercises_dir, name)
        if not os.path.exists(path):
            problems.append(f"exercises/{name} is missing (run: python -m autograder generate)")
            continue
        with open(path, encoding="utf-8") as f:
            actual = f.read()
        if actual != text:
            diff = "".join(list(difflib.unified_diff(text.splitlines(True), actual.splitlines(True),
                                                     f"generated/{name}", f"exercises/{name}"))[:20])
            problems.append(f"exercises/{name} differs from solutions/{name} (run: python -m autograder "
                            f"generate)\n{diff}")
    return problems


def region_lines(source: str) -> list[tuple[int, str]]:
    """The lines inside the solution regions of a (well-formed) solution file, with their line numbers:
    what a student must write, and what must never be shipped."""
    lines, inside = [], False
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() in (BEGIN, END):
            inside = line.strip() == BEGIN
        elif inside:
            lines.append((number, line))
    return lines
