"""What every notebook shares: the student's module, and experiments that survive unfinished exercises.

A notebook starts with::

    import course
    attention = course.load("attention")      # exercises/attention.py (or $COURSE_IMPL/attention.py)

and wraps each experiment that needs an exercise in ``with course.attempt("what it shows"):`` so a
cell whose exercise still raises ``NotImplementedError`` says which one and the notebook goes on.
``COURSE_IMPL`` (a folder, absolute or relative to the repository) picks another implementation,
for instance the instructor's ``solutions`` when the notebooks are executed in the test suite.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from types import ModuleType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_folder() -> str:
    """The folder the topic modules are loaded from."""
    return os.path.join(ROOT, os.environ.get("COURSE_IMPL", "exercises"))


def load(topic: str) -> ModuleType:
    """Import ``<topic>.py`` from :func:`module_folder` afresh (re-run the cell after editing it)."""
    path = os.path.join(module_folder(), f"{topic}.py")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist: set COURSE_IMPL to the folder holding {topic}.py")
    spec = importlib.util.spec_from_file_location(topic, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[topic] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def attempt(what: str = "this experiment"):
    """Run a cell's experiment; an unfinished exercise prints which one, and the notebook goes on."""
    try:
        yield
    except NotImplementedError as exc:
        name = str(exc) or "an exercise"
        print(f"{what}: needs {name}, which is not implemented yet. "
              f"Finish it in {os.path.relpath(module_folder(), ROOT)}/ and run this cell again.")
