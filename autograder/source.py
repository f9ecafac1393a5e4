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
                result[name] = strip_solutions(f.read(), os.path.join("solutions", name), name[:-3])
    return result


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
