"""The nbgrader course: `python -m autograder nbgrader COURSE`, graded by nbgrader itself, agrees with `grade`.

One real run (a module fixture): the course is built, `nbgrader generate_assignment` releases it, three
students submit, `nbgrader autograde` grades them and `generate_feedback` writes the wrong one's attention
feedback, while `python -m autograder grade` grades the code of the same answer cells. The students, chosen
so that every topic is checked with a score between nothing and everything at little cost:

* ``partial``: every notebook, each with some of its points: in attention, an answer that forgets the
  1/sqrt(E) scaling and ignores need_weights (a cell with partial credit); in every other topic, the
  release with one cheap exercise (:data:`FINISHED`) answered as the solution does, so each of these
  notebooks has cells with all of their points and cells with none, the release's own;
* ``solutions`` (all the points) and ``release`` (untouched: none) in every topic (or only those of
  AUTOGRADER_NBGRADER_TOPICS, comma-separated, for a quicker run while working on one).

The kernels' judges and workers are forked by one pair of fork servers for the whole autograde (the
``fork_servers`` fixture: :func:`autograder.zygote.running`, found through the kernels' environment), as
`grade` forks its own.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from autograder import config, nbgrader_cells, nbgrader_course, sandbox, source, validate, zygote
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import SDPA_WITHOUT_SCALING, with_definition

GRADING = config.load()
CHECKED = os.environ.get("AUTOGRADER_NBGRADER_TOPICS", "all")
TOPICS = list(GRADING.topics) if CHECKED == "all" else CHECKED.split(",")
WRONG = "partial"  # the student with some of the points of every topic
# the exercise the partial student finished in each topic but attention: one whose tests take the solution
# well under a second (autograder/timings.json), so the topic costs little more than the release
FINISHED = {"mlp": "build_mlp", "embeddings": "cosine_similarity", "pooling": "global_avg_pool2d",
            "transformer": "PositionalEncoding", "autoencoder": "add_noise", "optimizers": "minibatches",
            "regularization": "EarlyStopping", "batchnorm": "BatchNormFunction",
            "initialization": "calculate_fan_in_and_fan_out", "finetuning": "count_parameters"}


def environment() -> dict:
    """This process's environment (the fork servers it runs included) and the interpreter's bin/ on PATH."""
    return {**os.environ, "PATH": os.pathsep.join((os.path.dirname(sys.executable), os.environ.get("PATH", "")))}


def cli(*args, cwd=REPO_ROOT, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=environment(), timeout=timeout)


def cells(notebook: dict) -> dict[str, dict]:
    """grade_id -> cell, for the nbgrader cells of a notebook."""
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in notebook["cells"] if "nbgrader" in c["metadata"]}


def text(cell: dict) -> str:
    return "".join(cell["source"])


def output(cell: dict) -> str:
    return "".join(text for out in cell.get("outputs", []) for text in out.get("text", ""))


def read(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def answer_module(cell_text: str) -> str:
    """The module an answer cell writes (what `%%topic` writes: its first line left blank)."""
    return "\n" + cell_text.split("\n", 1)[1]


def answers(root) -> dict[str, dict[str, str]]:
    """student -> topic -> the text of the answer cell they submit."""
    source_dir, release_dir = (root / step / nbgrader_course.ASSIGNMENT for step in ("source", "release"))
    solution = {t: source.strip_markers(text(cells(read(source_dir / f"{t}.ipynb"))["answer"])) for t in GRADING.topics}
    release = {t: text(cells(read(release_dir / f"{t}.ipynb"))["answer"]) for t in GRADING.topics}
    with open(os.path.join(validate.MUTANTS, "attention", "mha_need_weights_ignored.py"), encoding="utf-8") as f:
        loses_some_tests = f.read()  # of MultiHeadAttention's: partial credit in one cell
    partial = {t: with_definition(release[t], answer_module(solution[t]), exercise, "finished")
               for t, exercise in FINISHED.items()}
    partial["attention"] = "\n\n".join((solution["attention"], textwrap.dedent(SDPA_WITHOUT_SCALING), loses_some_tests))
    return {"solutions": {t: solution[t] for t in TOPICS}, "release": {t: release[t] for t in TOPICS}, WRONG: partial}


def budget_per_notebook(folder, topics: int) -> str:
    """grading.yml, but for a submission budget ``topics`` times as long: what nbgrader gives each notebook,
    a topic graded alone with the whole budget (``grade`` shares it out among the topics it grades, so on a
    loaded machine a correct topic would lose the tests its share cannot reach)."""
    with open(config.DEFAULT_PATH, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["defaults"]["submission_budget"] = GRADING.submission_budget * topics
    folder.mkdir(parents=True)
    path = folder / "grading.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- one real run

@pytest.fixture(scope="module")
def course(tmp_path_factory, fork_servers):  # the kernels find the servers in the environment nbgrader passes on
    base = tmp_path_factory.mktemp("nbgrader")
    root = base / "course"
    built = cli(sys.executable, "-m", "autograder", "nbgrader", str(root))
    assert built.returncode == 0, built.stderr
    released = cli("nbgrader", "generate_assignment", "--log-level=WARN", cwd=root)
    assert released.returncode == 0, released.stderr
    assignment = root / "release" / nbgrader_course.ASSIGNMENT

    submitted = answers(root)
    graders = {}
    for student, modules in submitted.items():
        folder = base / "modules" / student
        folder.mkdir(parents=True)
        notebooks = root / "submitted" / student / nbgrader_course.ASSIGNMENT
        notebooks.mkdir(parents=True)
        for topic, answer in modules.items():
            (folder / f"{topic}.py").write_text(answer_module(answer), encoding="utf-8")
            notebook = read(assignment / f"{topic}.ipynb")  # the release, answered (or left as it is)
            cells(notebook)["answer"]["source"] = answer
            (notebooks / f"{topic}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
        graders[student] = subprocess.Popen(  # the same code, graded by the grader, meanwhile
            [sys.executable, "-m", "autograder", "grade", str(folder), "--topics", ",".join(modules), "--jobs", "1",
             "--device", nbgrader_cells.DEVICE,
             "--format", "json", "--out", str(base / f"{student}.json")],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "AUTOGRADER_CONFIG": budget_per_notebook(base / student, len(modules))})

    graded = cli("nbgrader", "autograde", "--log-level=WARN", cwd=root, timeout=600 * len(TOPICS))  # solved: slow
    feedback = cli("nbgrader", "generate_feedback", "--student", WRONG, "--notebook", "attention",
                   "--log-level=WARN", cwd=root)
    forked = {kind: zygote.forked(kind) for kind in zygote.KINDS}
    for process in graders.values():
        process.wait(timeout=600)
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert feedback.returncode == 0, feedback.stderr[-3000:]

    from nbgrader.api import Gradebook

    scores = {}  # student -> topic -> {"score", "max_score", "cells": {grade_id: score}}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in submitted:
            for nb in gradebook.find_submission(nbgrader_course.ASSIGNMENT, student).notebooks:
                scores.setdefault(student, {})[nb.name] = {
                    "score": nb.score, "max_score": nb.max_score,
                    "cells": {g.name: g.score for g in nb.grades}}
    return {"root": root, "answers": submitted, "scores": scores, "forked": forked,
            "grades": {s: read(base / f"{s}.json") for s in submitted}}


def autograded(course, student: str, topic: str) -> dict:
    return read(course["root"] / "autograded" / student / nbgrader_course.ASSIGNMENT / f"{topic}.ipynb")


def test_every_notebook_is_worth_its_topic_and_each_exercise_its_points(course):
    for topic, settings in GRADING.topics.items():
        graded = course["scores"][WRONG][topic]
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


def disagreements(graded: dict, scored: dict) -> list[str]:
    """Where nbgrader's scores of one notebook (``scored``) differ from the grader's report of its topic
    (``graded``): cell by cell (a test cell's points are its exercise's tests of its suite), then in total."""
    by_cell = {}
    for test in graded["tests"]:
        key = f"{test['exercise']}-{test['suite']}"
        by_cell[key] = by_cell.get(key, 0.0) + test["score"]
    test_cells = {g: s for g, s in scored["cells"].items() if g.endswith(("-public", "-hidden"))}
    found = [f"{g}: no such cell in the notebook" for g in by_cell if g not in test_cells]
    found += [f"{g}: nbgrader {s} != grader {by_cell.get(g, 0.0)}" for g, s in test_cells.items()
              if s != pytest.approx(by_cell.get(g, 0.0), abs=1e-4)]
    for key in ("score", "max_score"):
        if scored[key] != pytest.approx(graded[key], abs=1e-4 if key == "score" else 1e-6):
            found.append(f"{key}: nbgrader {scored[key]} != grader {graded[key]}")
    return found


def test_every_topic_is_checked_with_and_without_points(course):
    assert set(FINISHED) == set(GRADING.topics) - {"attention"}
    assert set(course["grades"][WRONG]["topics"]) == set(GRADING.topics) == set(course["scores"][WRONG])
    for student in ("solutions", "release"):
        assert set(course["grades"][student]["topics"]) == set(TOPICS)


@pytest.mark.parametrize("student", ["solutions", "release", WRONG])
def test_nbgrader_scores_equal_the_graders_topic_by_topic_and_cell_by_cell(course, student):
    grades, scores = course["grades"][student], course["scores"][student]
    for topic, graded in grades["topics"].items():
        assert disagreements(graded, scores[topic]) == [], topic
    expected = {"solutions": lambda g: g["score"] == g["max_score"], "release": lambda g: g["score"] == 0,
                WRONG: lambda g: 0 < g["score"] < g["max_score"]}[student]
    assert all(expected(g) for g in grades["topics"].values()), {t: g["score"] for t, g in grades["topics"].items()}
    if student == WRONG:  # a cell between nothing and all of its points: nbgrader's partial credit
        points = cells(read(course["root"] / "source" / nbgrader_course.ASSIGNMENT / "attention.ipynb"))
        partial = [g for g, score in scores["attention"]["cells"].items()
                   if 0 < score < points[g]["metadata"]["nbgrader"]["points"]]
        assert partial == ["MultiHeadAttention-hidden"]


def test_the_cross_check_names_a_cell_or_a_total_that_differs(course):
    graded, scored = course["grades"][WRONG]["topics"]["attention"], course["scores"][WRONG]["attention"]
    assert disagreements(graded, scored) == []
    one_cell_off = {**scored, "cells": {**scored["cells"], "softmax-public": scored["cells"]["softmax-public"] - 0.5}}
    assert disagreements(graded, one_cell_off) == [
        f"softmax-public: nbgrader {one_cell_off['cells']['softmax-public']} != grader "
        f"{scored['cells']['softmax-public']}"]
    cell_missing = {**scored, "cells": {g: s for g, s in scored["cells"].items() if g != "causal_mask-hidden"}}
    assert disagreements(graded, cell_missing) == ["causal_mask-hidden: no such cell in the notebook"]
    moved = [dict(t, exercise="softmax") if (t["exercise"], t["suite"]) == ("causal_mask", "public") else t
             for t in graded["tests"]]  # the same total, the tests of one cell counted in another
    assert [d.split(":")[0] for d in disagreements({**graded, "tests": moved}, scored)] == [
        "softmax-public", "causal_mask-public"]
    assert disagreements({**graded, "score": graded["score"] + 1}, scored) == [
        f"score: nbgrader {scored['score']} != grader {graded['score'] + 1}"]


def test_the_kernels_grade_in_the_graders_sandbox_forked_by_the_servers(course):
    notebooks = 0
    for student, modules in course["answers"].items():
        level = course["grades"][student]["sandbox"]["level"]
        assert course["grades"][student]["sandbox"] == sandbox.describe(level)
        for topic in modules:
            said = "".join(output(c) for c in cells(autograded(course, student, topic)).values())
            assert f"{topic} graded in the {sandbox.summary(level)}\n" in said, (student, topic)
            assert "fork server is not available" not in said, (student, topic)
            notebooks += 1
    # one judge per notebook (each starts its worker), none started directly
    assert course["forked"]["judge"] >= notebooks and course["forked"]["worker"] >= notebooks, course["forked"]


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


def test_the_config_starts_fork_servers_for_autograde_only(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    (tmp_path / "nbgrader_config.py").write_text(nbgrader_course.nbgrader_config(GRADING), encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if k not in zygote.ENV.values()}  # no servers yet
    monkeypatch.setattr(os, "environ", environ)
    for command in ("generate_assignment", "generate_feedback"):
        monkeypatch.setattr(sys, "argv", ["nbgrader", command])
        PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
        assert not any(os.environ.get(name) for name in zygote.ENV.values())
    monkeypatch.setattr(sys, "argv", ["nbgrader", "autograde"])
    try:
        PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
        paths = [os.environ.get(name) for name in zygote.ENV.values()]
        assert all(paths) and all(os.path.exists(p) for p in paths)  # what the kernels inherit
        assert zygote.forked("judge") == 0  # running, and asked for nothing yet
        assert not nbgrader_course.fork_servers_for(["nbgrader", "autograde"])  # servers named: none started
    finally:
        nbgrader_course._SERVERS.close()
    assert not any(os.path.exists(p) for p in paths)
