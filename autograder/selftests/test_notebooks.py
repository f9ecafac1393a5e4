"""The course notebooks: one per topic, committed without outputs, running top to bottom on the
solutions (drawing every figure) and on the untouched exercises (saying what is not implemented yet).

The notebooks are executed once per module, two at a time, each worker reusing its kernel
(autograder/notebooks.py); the tests below only read the results.
"""
from __future__ import annotations

import os

import nbformat
import pytest

from autograder import config, notebooks

PATHS = notebooks.paths()
IMPLS = ("solutions", "exercises")


def failures_on_solutions(run: notebooks.Run) -> list[str]:
    """What is wrong with a notebook executed on the complete solutions (empty: nothing)."""
    failures = []
    if run.error is not None:
        failures.append(f"a cell failed:\n{run.error}")
    if run.seconds > notebooks.NOTEBOOK_SECONDS:
        failures.append(f"took {run.seconds:.0f} s (limit {notebooks.NOTEBOOK_SECONDS} s)")
    if notebooks.NOT_IMPLEMENTED in run.text():
        failures.append(f"printed '{notebooks.NOT_IMPLEMENTED}' although every exercise is solved")
    drawing = [number for number, cell in enumerate(run.notebook.cells)
               if cell.cell_type == "code" and "plt.show()" in cell.source]
    if not drawing:
        failures.append("no cell draws a figure (plt.show())")
    blank = [number for number in drawing if run.images(number) == 0]
    if blank:
        failures.append(f"cells {blank} call plt.show() but displayed no image")
    return failures


def failures_on_exercises(run: notebooks.Run) -> list[str]:
    """What is wrong with a notebook executed on the untouched exercises (empty: nothing)."""
    failures = []
    if run.error is not None:
        failures.append(f"a cell failed instead of going on:\n{run.error}")
    if notebooks.NOT_IMPLEMENTED not in run.text():
        failures.append(f"never printed '{notebooks.NOT_IMPLEMENTED}': no experiment uses course.attempt")
    return failures


def _write_notebook(path, *sources: str) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))
    return str(path)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict[str, str]:
    """Two faulty notebooks the checks must catch."""
    folder = tmp_path_factory.mktemp("planted")
    return {
        # runs fine but uses no exercise and draws nothing
        "quiet": _write_notebook(folder / "quiet.ipynb", "x = 1"),
        # a plot with no figure, the unfinished-exercise line, then an error
        "broken": _write_notebook(folder / "broken.ipynb",
                                  "import matplotlib.pyplot as plt\n"
                                  "print('an experiment: needs a.b, which is not implemented yet.')",
                                  "plt.show()",
                                  "raise ValueError('planted failure')",
                                  "print('after the failure')"),
    }


@pytest.fixture(scope="module")
def runs(request, planted) -> dict[tuple[str, str], notebooks.Run]:
    """The selected notebooks on both implementations, and the planted ones, executed once."""
    selected = sorted({item.callspec.params["path"] for item in request.session.items
                       if item.module is request.module and "runs" in item.fixturenames
                       and "path" in getattr(getattr(item, "callspec", None), "params", {})})
    jobs = [(path, impl) for impl in IMPLS for path in selected]
    # the broken one last: a failure ends its kernel, and nothing is left to start a new one for
    jobs += [(planted["quiet"], "exercises"), (planted["broken"], "solutions")]
    return {(run.path, run.impl): run for run in notebooks.execute(jobs, workers=2)}


@pytest.mark.parametrize("path", PATHS, ids=notebooks.topic)
def test_runs_and_draws_on_the_solutions(runs, path):
    failures = failures_on_solutions(runs[(path, "solutions")])
    assert not failures, f"{notebooks.topic(path)}.ipynb on solutions/:\n" + "\n".join(failures)


@pytest.mark.parametrize("path", PATHS, ids=notebooks.topic)
def test_runs_on_the_untouched_exercises(runs, path):
    failures = failures_on_exercises(runs[(path, "exercises")])
    assert not failures, f"{notebooks.topic(path)}.ipynb on exercises/:\n" + "\n".join(failures)


def test_the_checks_catch_planted_faults(runs, planted):
    broken = runs[(planted["broken"], "solutions")]
    broken_failures = "\n".join(failures_on_solutions(broken))
    assert "ValueError: planted failure" in broken_failures
    assert "after the failure" not in broken.text()
    assert "cells [1] call plt.show() but displayed no image" in broken_failures
    assert f"printed '{notebooks.NOT_IMPLEMENTED}'" in broken_failures
    quiet_run = runs[(planted["quiet"], "exercises")]
    assert failures_on_exercises(quiet_run) == [f"never printed '{notebooks.NOT_IMPLEMENTED}': no experiment uses course.attempt"]
    assert failures_on_solutions(quiet_run) == ["no cell draws a figure (plt.show())"]


@pytest.mark.parametrize("path", PATHS, ids=notebooks.topic)
def test_committed_without_outputs(path):
    stray = notebooks.stray_outputs(nbformat.read(path, as_version=4))
    assert not stray, (f"{notebooks.topic(path)}.ipynb is committed with outputs: " + "; ".join(stray)
                       + " (clear them: Jupyter's 'Clear All Outputs', then save)")


def test_stray_outputs_are_found_in_a_notebook_with_an_output_planted(tmp_path):
    notebook = nbformat.read(PATHS[0], as_version=4)
    number = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    assert notebooks.stray_outputs(notebook) == []
    notebook.cells[number].outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    notebook.cells[number].execution_count = 3
    nbformat.write(notebook, str(tmp_path / "planted.ipynb"))
    stray = notebooks.stray_outputs(nbformat.read(str(tmp_path / "planted.ipynb"), as_version=4))
    assert stray == [f"cell {number}: 1 output(s)", f"cell {number}: execution_count 3"]


def test_every_topic_has_a_notebook():
    topics = config.load(config.DEFAULT_PATH).topics
    missing = [topic for topic in topics if not os.path.isfile(os.path.join(notebooks.FOLDER, f"{topic}.ipynb"))]
    assert not missing, "topics of grading.yml without a notebook: " + ", ".join(f"notebooks/{t}.ipynb" for t in missing)
