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


def failures_on_solutions(run: notebooks.Run, cpu_limit: float = notebooks.NOTEBOOK_CPU_SECONDS) -> list[str]:
    """What is wrong with a notebook executed on the complete solutions (empty: nothing)."""
    failures = []
    if run.error is not None:
        failures.append(f"a cell failed:\n{run.error}")
    elif run.cpu_seconds > cpu_limit:
        failures.append(f"took {run.cpu_seconds:.1f} s of CPU time (limit {cpu_limit} s)")
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
def runs(request) -> dict[tuple[str, str], notebooks.Run]:
    """The selected notebooks, executed once on both implementations."""
    selected = sorted({item.callspec.params["path"] for item in request.session.items
                       if item.module is request.module and "runs" in item.fixturenames
                       and "path" in getattr(getattr(item, "callspec", None), "params", {})})
    jobs = [(path, impl) for impl in IMPLS for path in selected]
    return {(run.path, run.impl): run for run in notebooks.execute(jobs, workers=2)}


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict[str, notebooks.Run]:
    """Small planted notebooks the checks must judge right, executed in order in one kernel."""
    folder = tmp_path_factory.mktemp("planted")
    jobs = {
        # leaves a name and a module behind in the kernel ...
        "polluter": (_write_notebook(folder / "polluter.ipynb", "import math\nleftover = 1"), "solutions"),
        # ... which the next notebook must not see; it must see its own implementation and folder
        "fresh": (_write_notebook(folder / "fresh.ipynb",
                                  "assert 'leftover' not in globals() and 'math' not in globals(), dir()",
                                  "import os\nassert os.environ['COURSE_IMPL'] == 'exercises'\n"
                                  f"assert os.path.samefile(os.getcwd(), {notebooks.FOLDER!r})"), "exercises"),
        # runs fine but uses no exercise and draws nothing
        "quiet": (_write_notebook(folder / "quiet.ipynb", "x = 1"), "exercises"),
        # a plot with no figure, the unfinished-exercise line, then an error
        "broken": (_write_notebook(folder / "broken.ipynb",
                                   "import matplotlib.pyplot as plt\n"
                                   "print('an experiment: needs a.b, which is not implemented yet.')",
                                   "plt.show()",
                                   "raise ValueError('planted failure')",
                                   "print('after the failure')"), "solutions"),
    }
    return dict(zip(jobs, notebooks.execute(list(jobs.values()), workers=1)))


@pytest.mark.parametrize("path", PATHS, ids=notebooks.topic)
def test_runs_and_draws_on_the_solutions(runs, path):
    failures = failures_on_solutions(runs[(path, "solutions")])
    assert not failures, f"{notebooks.topic(path)}.ipynb on solutions/:\n" + "\n".join(failures)


@pytest.mark.parametrize("path", PATHS, ids=notebooks.topic)
def test_runs_on_the_untouched_exercises(runs, path):
    failures = failures_on_exercises(runs[(path, "exercises")])
    assert not failures, f"{notebooks.topic(path)}.ipynb on exercises/:\n" + "\n".join(failures)


def test_each_notebook_starts_from_an_empty_namespace_in_a_shared_kernel(planted):
    assert planted["polluter"].error is None
    assert planted["fresh"].error is None, planted["fresh"].error


def test_the_checks_catch_planted_faults(planted):
    broken = planted["broken"]
    broken_failures = "\n".join(failures_on_solutions(broken))
    assert "ValueError: planted failure" in broken_failures
    assert "after the failure" not in broken.text()
    assert "cells [1] call plt.show() but displayed no image" in broken_failures
    assert f"printed '{notebooks.NOT_IMPLEMENTED}'" in broken_failures
    quiet = planted["quiet"]
    assert failures_on_exercises(quiet) == [f"never printed '{notebooks.NOT_IMPLEMENTED}': no experiment uses course.attempt"]
    assert failures_on_solutions(quiet) == ["no cell draws a figure (plt.show())"]
    assert failures_on_solutions(quiet, cpu_limit=0.0)[0].startswith("took ")


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
