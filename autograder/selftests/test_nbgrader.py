"""The nbgrader course: `python -m autograder nbgrader COURSE`, graded by nbgrader itself, agrees with `grade`.

One real run (a module fixture): the course is built, `nbgrader generate_assignment` releases it, three
students submit (the solutions; the untouched release; the release with an attention answer that forgets
the 1/sqrt(E) scaling and ignores need_weights, for partial credit), `nbgrader autograde` grades them and `generate_feedback`
writes the wrong one's feedback, while `python -m autograder grade` grades the code of the same answer
cells. Every notebook is checked for its points and its release, but only the topics of CHECKED are
autograded (the file takes about 80 s of CPU time, most of it grading, twice, the autograded notebooks);
AUTOGRADER_NBGRADER_TOPICS=all (or a comma-separated list) autogrades the others too.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from autograder import config, nbgrader_cells, nbgrader_course, source, validate
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import SDPA_WITHOUT_SCALING

GRADING = config.load()
CHECKED = os.environ.get("AUTOGRADER_NBGRADER_TOPICS", "attention,mlp")
TOPICS = list(GRADING.topics) if CHECKED == "all" else CHECKED.split(",")
WRONG = "partial"  # the student whose attention forgets the scaling
ENV = {**os.environ, "PATH": os.pathsep.join((os.path.dirname(sys.executable), os.environ.get("PATH", "")))}


def cli(*args, cwd=REPO_ROOT, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=ENV, timeout=timeout)


def cells(notebook: dict) -> dict[str, dict]:
    """grade_id -> cell, for the nbgrader cells of a notebook."""
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in notebook["cells"] if "nbgrader" in c["metadata"]}


def text(cell: dict) -> str:
    return "".join(cell["source"])


def read(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def answer_module(cell_text: str) -> str:
    """The module an answer cell writes (what `%%topic` writes: its first line left blank)."""
    return "\n" + cell_text.split("\n", 1)[1]


# --------------------------------------------------------------------------- one real run

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("nbgrader")
    root = base / "course"
    built = cli(sys.executable, "-m", "autograder", "nbgrader", str(root))
    assert built.returncode == 0, built.stderr
    released = cli("nbgrader", "generate_assignment", "--log-level=WARN", cwd=root)
    assert released.returncode == 0, released.stderr
    assignment = root / "release" / nbgrader_course.ASSIGNMENT

    answers = {}  # student -> topic -> answer cell text
    for topic in TOPICS:
        solution = text(cells(read(root / "source" / nbgrader_course.ASSIGNMENT / f"{topic}.ipynb"))["answer"])
        answers.setdefault("solutions", {})[topic] = source.strip_markers(solution)
        answers.setdefault("release", {})[topic] = text(cells(read(assignment / f"{topic}.ipynb"))["answer"])
    with open(os.path.join(validate.MUTANTS, "attention", "mha_need_weights_ignored.py"), encoding="utf-8") as f:
        loses_some_tests = f.read()  # of MultiHeadAttention's: partial credit in one cell
    answers[WRONG] = {"attention": "\n\n".join((answers["solutions"]["attention"],
                                                 textwrap.dedent(SDPA_WITHOUT_SCALING), loses_some_tests))}

    graders = {}
    for student, modules in answers.items():
        folder = base / "modules" / student
        folder.mkdir(parents=True)
        submitted = root / "submitted" / student / nbgrader_course.ASSIGNMENT
        submitted.mkdir(parents=True)
        for topic, answer in modules.items():
            (folder / f"{topic}.py").write_text(answer_module(answer), encoding="utf-8")
            notebook = read(assignment / f"{topic}.ipynb")  # the release, answered (or left as it is)
            cells(notebook)["answer"]["source"] = answer
            (submitted / f"{topic}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
        graders[student] = subprocess.Popen(  # the same code, graded by the grader, meanwhile
            [sys.executable, "-m", "autograder", "grade", str(folder), "--topics", ",".join(modules), "--jobs", "1",
             "--device", nbgrader_cells.DEVICE,
             "--format", "json", "--out", str(base / f"{student}.json")],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    graded = cli("nbgrader", "autograde", "--log-level=WARN", cwd=root)
    feedback = cli("nbgrader", "generate_feedback", "--student", WRONG, "--log-level=WARN", cwd=root)
    for process in graders.values():
        process.wait(timeout=600)
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert feedback.returncode == 0, feedback.stderr[-3000:]

    from nbgrader.api import Gradebook

    scores = {}  # student -> topic -> {"score", "max_score", "cells": {grade_id: score}}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in answers:
            for nb in gradebook.find_submission(nbgrader_course.ASSIGNMENT, student).notebooks:
                scores.setdefault(student, {})[nb.name] = {
                    "score": nb.score, "max_score": nb.max_score,
                    "cells": {g.name: g.score for g in nb.grades}}
    return {"root": root, "answers": answers, "scores": scores,
            "grades": {s: read(base / f"{s}.json") for s in answers}}


def test_every_notebook_is_worth_its_topic_and_each_exercise_its_points(course):
    for topic, settings in GRADING.topics.items():
        graded = course["scores"]["release"][topic]
        assert graded["max_score"] == pytest.approx(settings.max_score, abs=1e-6), topic
        source_cells = cells(read(course["root"] / "source" / nbgrader_course.ASSIGNMENT / f"{topic}.ipynb"))
        for exercise, exercise_settings in settings.exercises.items():
            points = [source_cells[f"{exercise}-{suite}"]["metadata"]["nbgrader"]["points"] for suite in ("public", "hidden")]
            assert min(points) > 0 and sum(points) == pytest.approx(exercise_settings.points, abs=1e-9), (topic, exercise)


def test_the_release_holds_no_solution_and_no_hidden_test(course):
    release = course["root"] / "release" / nbgrader_course.ASSIGNMENT
    for topic in GRADING.topics:
        notebook = read(release / f"{topic}.ipynb")
        everything = "\n".join(text(c) for c in notebook["cells"])
        for marker in (source.BEGIN, source.END, nbgrader_course.HIDDEN_BEGIN, '"hidden", of='):
            assert marker not in everything, (topic, marker)
        with open(os.path.join(source.SOLUTIONS, f"{topic}.py"), encoding="utf-8") as f:
            solution = f.read()
        exercise = {line.strip() for line in source.strip_solutions(solution, topic, topic).splitlines()}
        answer = {line.strip() for line in text(cells(notebook)["answer"]).splitlines()}
        solution_only = {line.strip() for line in solution.splitlines()} - exercise  # the regions' own lines
        assert solution_only and not solution_only & answer, (topic, sorted(solution_only & answer)[:5])
        assert everything.count('raise NotImplementedError("fill in') == solution.count(source.BEGIN), topic


@pytest.mark.parametrize("student", ["solutions", "release", WRONG])
def test_nbgrader_scores_equal_the_graders_topic_by_topic_and_cell_by_cell(course, student):
    grades, scores = course["grades"][student], course["scores"][student]
    for topic, graded in grades["topics"].items():
        by_cell = {}
        for test in graded["tests"]:
            key = f"{test['exercise']}-{test['suite']}"
            by_cell[key] = by_cell.get(key, 0.0) + test["score"]
        for grade_id, score in scores[topic]["cells"].items():
            if grade_id.endswith(("-public", "-hidden")):
                assert score == pytest.approx(by_cell.get(grade_id, 0.0), abs=1e-4), (topic, grade_id)
        assert scores[topic]["score"] == pytest.approx(graded["score"], abs=1e-4), topic
        assert scores[topic]["max_score"] == pytest.approx(graded["max_score"], abs=1e-6), topic
    expected = {"solutions": lambda g: g["score"] == g["max_score"], "release": lambda g: g["score"] == 0,
                WRONG: lambda g: 0 < g["score"] < g["max_score"]}[student]
    assert all(expected(g) for g in grades["topics"].values()), {t: g["score"] for t, g in grades["topics"].items()}
    if student == WRONG:  # a cell between nothing and all of its points: nbgrader's partial credit
        points = cells(read(course["root"] / "source" / nbgrader_course.ASSIGNMENT / "attention.ipynb"))
        partial = [g for g, score in scores["attention"]["cells"].items()
                   if 0 < score < points[g]["metadata"]["nbgrader"]["points"]]
        assert partial == ["MultiHeadAttention-hidden"]


def test_feedback_shows_points_and_lost_tests_but_no_hidden_test(course):
    path = course["root"] / "feedback" / WRONG / nbgrader_course.ASSIGNMENT / "attention.html"
    html = path.read_text(encoding="utf-8")
    assert "scaled_dot_product_attention, hidden tests:" in html  # the hidden cell's output: names, no code
    assert "without the 1/sqrt(E) scaling" in html                  # the public test's hint
    assert nbgrader_course.HIDDEN_BEGIN not in html
    assert "test_attention_values_and_gradients" in html and "Mismatched elements" not in html.split(
        "scaled_dot_product_attention, hidden tests:")[1].split("MultiHeadAttention, public tests:")[0]


# --------------------------------------------------------------------------- without nbgrader

def result(name, suite, status, max_score, message="") -> dict:
    return {"name": f"{suite}/{name}", "suite": suite, "status": status, "exercise": "softmax",
            "score": max_score if status == "passed" else 0.0, "max_score": max_score, "message": message}


def test_a_cell_earns_its_share_of_the_tests_points():
    tests = [result("test_a", "public", "passed", 1 / 3), result("test_b", "public", "failed", 1 / 3, "got 3"),
             result("test_c", "public", "passed", 1 / 3)]
    earned, lines = nbgrader_cells.cell_score(tests, "softmax", "public", of=1.0, exact=True)
    assert earned == pytest.approx(2 / 3, abs=1e-6)
    assert lines[0] == "softmax, public tests: 2 of 3 passed, 0.666667 of 1 points"
    assert lines[1:] == ["  failed    test_b: got 3"]
    full, _ = nbgrader_cells.cell_score([dict(t, status="passed", score=t["max_score"]) for t in tests], "softmax",
                                        "public", of=1.0, exact=True)
    assert full == 1.0  # exactly the cell's points: nbgrader refuses more


def test_a_hidden_cell_names_lost_tests_without_their_messages():
    tests = [result(f"test_h[cpu-{i}]", "hidden", "failed", 0.5, "expected 42") for i in range(3)]
    tests.append(result("test_g", "hidden", "timeout", 0.5, "time limit of 3 s exceeded"))
    earned, lines = nbgrader_cells.cell_score(tests, "softmax", "hidden", of=2.0, exact=True)
    assert earned == 0.0
    assert lines[1:] == ["  failed    test_h (3 cases)", "  timeout   test_g"]


def test_a_cell_built_from_other_tests_is_an_error_not_a_score():
    tests = [result("test_a", "public", "passed", 1.0)]
    with pytest.raises(nbgrader_cells.CourseError, match="worth 1.5 points .* worth 1 now"):
        nbgrader_cells.cell_score(tests, "softmax", "public", of=1.5, exact=True)


def test_without_hidden_tests_a_public_cell_scales_its_share_to_its_points():
    tests = [result("test_a", "public", "passed", 3.0), result("test_b", "public", "error", 3.0)]
    earned, lines = nbgrader_cells.cell_score(tests, "softmax", "public", of=1.5, exact=False)
    assert earned == 0.75
    assert "an estimate" in lines[0]


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "autograder.nbgrader_cells")
    return shell


def module_written(topic: str) -> str:
    with open(os.path.join(nbgrader_cells.modules_dir(), f"{topic}.py"), encoding="utf-8") as f:
        return f.read()


def test_the_answer_cell_writes_the_module_and_runs_it_for_the_student(shell, monkeypatch):
    monkeypatch.delenv(nbgrader_cells.GRADING_ENV, raising=False)
    assert shell.run_cell("%%topic mlp\nanswer = 6 * 7\n").success
    assert module_written("mlp") == "\nanswer = 6 * 7\n"  # line numbers as in the cell
    assert shell.user_ns["answer"] == 42


def test_while_nbgrader_grades_the_answer_cell_only_writes_the_module(shell, monkeypatch):
    monkeypatch.setenv(nbgrader_cells.GRADING_ENV, "1")
    assert shell.run_cell("%%topic mlp\nnever_run = 1\n").success
    assert module_written("mlp") == "\nnever_run = 1\n"
    assert "never_run" not in shell.user_ns


def test_a_wrong_topic_line_or_no_answer_cell_says_what_to_do(shell):
    failed = shell.run_cell("%%topic mpl\nx = 1\n")
    assert isinstance(failed.error_in_exec, nbgrader_cells.CourseError)
    assert "'mpl': not a topic of grading.yml" in str(failed.error_in_exec)
    with pytest.raises(nbgrader_cells.CourseError, match="run the cell that starts with %%topic pooling"):
        nbgrader_cells.score("pooling", "max_pool2d", "public", of=1.0)


def test_the_config_outlasts_the_graders_limits_and_survives_a_cell_that_swallows_interrupts(tmp_path, monkeypatch):
    from nbgrader.preprocessors import ClearHiddenTests
    from traitlets.config.loader import PyFileConfigLoader

    (tmp_path / "nbgrader_config.py").write_text(nbgrader_course.nbgrader_config(GRADING), encoding="utf-8")
    monkeypatch.setattr(os, "environ", dict(os.environ))  # what the config sets for nbgrader's kernels
    c = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert c.CourseDirectory.root == str(tmp_path)
    assert c.Execute.raise_on_iopub_timeout is False
    assert c.Execute.timeout > max(min(t.topic_timeout, GRADING.submission_budget) for t in GRADING.topics.values())
    assert ClearHiddenTests in c.GenerateFeedback.preprocessors
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == REPO_ROOT and os.environ[nbgrader_cells.GRADING_ENV]
    assert os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)  # nbgrader runs alembic


def test_nbgrader_refuses_a_course_folder_in_use(tmp_path):
    (tmp_path / "gradebook.db").write_text("")
    refused = cli(sys.executable, "-m", "autograder", "nbgrader", str(tmp_path))
    assert refused.returncode == 2
    assert f"{tmp_path} is not empty (--force rewrites" in refused.stderr
    assert not (tmp_path / "source").exists()
    shutil.rmtree(tmp_path)
    (tmp_path.parent / tmp_path.name).write_text("")
    refused = cli(sys.executable, "-m", "autograder", "nbgrader", str(tmp_path))
    assert refused.returncode == 2 and "is not a folder" in refused.stderr
