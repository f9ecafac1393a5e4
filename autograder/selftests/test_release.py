"""``release OUT``: what the student repository holds, the leak check, and the released README's commands."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from autograder import config, release, source
from autograder.config import REPO_ROOT

FORBIDDEN = ("solutions", "autograder/hidden", "autograder/mutants", "autograder/attacks", "autograder/selftests",
             "autograder/release_files", "autograder/batch.py", "autograder/validate.py", "autograder/source.py",
             "autograder/release.py", "autograder/gradescope", "autograder/nbgrader", "autograder/notebooks.py",
             "requirements-optional.txt")


def cli(*args, cwd=REPO_ROOT, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def released_files(out) -> list[str]:
    return sorted(os.path.relpath(os.path.join(folder, name), out).replace(os.sep, "/")
                  for folder, _, names in os.walk(out) for name in names)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    result = cli("release", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def test_release_holds_the_student_files_and_nothing_secret(released):
    out, stdout = released
    files = released_files(out)
    for path in files:
        assert not path.startswith(FORBIDDEN), f"{path} must not be released"
    # of autograder/, the grader of the public suite and the public tests' times
    assert {path.split("/")[1] for path in files if path.startswith("autograder/")} == {*release.GRADER, "timings.json"}
    for topic in config.TOPICS:
        assert f"exercises/{topic}.py" in files and f"tests/test_{topic}.py" in files
    for name in ("README.md", "Makefile", ".gitignore", ".github/workflows/grade.yml", "requirements.txt",
                 "requirements-notebooks.txt", "grading.yml", "conftest.py", "autograder/__main__.py",
                 "autograder/plugin.py", "notebooks/course.py", *(f"notebooks/{t}.ipynb" for t in config.TOPICS)):
        assert name in files
    assert re.search(rf"wrote {len(files)} files to .*\nleak check: no leak", stdout, re.S), stdout

    # no solution region, as written in solutions/, in what students read and edit
    texts = {}
    for path in files:
        with open(os.path.join(out, path), "rb") as f:
            texts[path] = f.read().decode("utf-8", errors="replace")
    for name in sorted(n for n in os.listdir(os.path.join(REPO_ROOT, "solutions")) if n.endswith(".py")):
        with open(os.path.join(REPO_ROOT, "solutions", name), encoding="utf-8") as f:
            lines = source.region_lines(f.read())
        regions, last = [], None
        for number, line in lines:
            if number != last:  # a new region starts (the marker lines between two are not in ``lines``)
                regions.append([])
            regions[-1].append(line)
            last = number + 1
        assert regions, name
        for region in map("\n".join, regions):
            # outside the grader's own files (public by design: see autograder/release.py)
            where = [path for path, text in texts.items() if region in text and not path.startswith("autograder/")]
            assert not where, f"a solution region of {name} is released in {where}:\n{region}"


def test_the_graders_correct_versions_of_the_exercises_are_withheld(released):
    out, _ = released
    with open(os.path.join(out, "autograder", "fixtures", "references.py"), encoding="utf-8") as f:
        text = f.read()
    assert text == release.SERVES_NOTHING
    with open(os.path.join(REPO_ROOT, "autograder", "fixtures", "references.py"), encoding="utf-8") as f:
        answers = [line.strip() for line in f if line.strip().startswith(("return ", "def ", "class "))]
    leaked = [line for line in answers if line in text and not line.startswith(("def serve", "class StaleStandIn"))]
    assert not leaked, f"the released stand-ins hold the grader's answers: {leaked[:3]}"
    # the released plugin runs a test with ``uses`` on the student's own versions
    namespace = {"softmax": "mine"}
    undo = {}
    exec(compile(text, "references.py", "exec"), undo)
    undo["serve"](namespace, "attention", ["softmax"])()
    assert namespace == {"softmax": "mine"}


def test_released_grading_and_timings_name_no_hidden_test(released):
    out, _ = released
    public = release.public_test_names()
    with open(os.path.join(out, "grading.yml"), encoding="utf-8") as f:
        data = yaml.safe_load(f)
    named = {name for topic in data["topics"].values() for exercise in topic["exercises"].values()
             for name in exercise.get("tests", {})}
    assert named and named <= public
    ours, theirs = config.load(), config.load(os.path.join(out, "grading.yml"))
    assert {t: c.max_score for t, c in theirs.topics.items()} == {t: c.max_score for t, c in ours.topics.items()}
    with open(os.path.join(out, "autograder", "timings.json"), encoding="utf-8") as f:
        recorded = json.load(f)["topics"]
    nodeids = [n for topic in recorded.values() for n in topic["tests"]]
    assert nodeids and all(n.startswith("tests/test_") for n in nodeids)


def test_grading_filter_keeps_public_points_and_refuses_what_it_cannot_rewrite():
    flow = ("topics:\n  pooling:\n    exercises:\n"
            "      max_pool2d: {points: 20, tests: {test_secret: 4, test_seen: 2}}\n")
    kept = yaml.safe_load(release.public_grading(flow, {"test_seen"}))
    assert kept["topics"]["pooling"]["exercises"]["max_pool2d"] == {"points": 20, "tests": {"test_seen": 2}}
    block = "topics:\n  pooling:\n    exercises:\n      max_pool2d:\n        points: 20\n        tests:\n" \
            "          test_secret: 4\n"
    with pytest.raises(release.ReleaseError, match="test_secret"):
        release.public_grading(block, set())


def test_every_grader_file_is_released_bundled_or_kept_on_purpose(tmp_path, monkeypatch):
    assert release.classification_problems() == []
    # an entry named nowhere, one named twice and a name left behind are each reported
    (tmp_path / "autograder").mkdir()
    for name in os.listdir(os.path.join(REPO_ROOT, "autograder")):
        if name != "source.py":
            (tmp_path / "autograder" / name).touch()
    (tmp_path / "autograder" / "new.py").touch()
    monkeypatch.setattr(release, "INSTRUCTOR_ONLY", (*release.INSTRUCTOR_ONLY, "batch.py"))
    problems = release.classification_problems(str(tmp_path))
    assert len(problems) == 3, problems
    assert problems[0].startswith("autograder/new.py: named nowhere: add it to release.GRADER")
    assert problems[1].startswith("autograder/batch.py: named more than once")
    assert problems[2].startswith("autograder/source.py: named in") and problems[2].endswith("but not there")


def test_released_grader_refuses_instructor_verbs(released):
    out, _ = released
    for args in (["validate"], ["generate"], ["batch", "x", "--out", "y"], ["merge", "x", "--out", "y"],
                 ["release", "z"]):
        result = cli(*args, cwd=out)
        assert result.returncode == 2 and "not part of the student release" in result.stderr, (args, result.stderr)
    result = cli("grade", "--suite", "hidden", cwd=out)
    assert result.returncode == 2 and "hidden tests are not part of the student release" in result.stderr


def test_release_refuses_a_non_empty_out_unless_forced(tmp_path):
    out = tmp_path / "student"
    out.mkdir()
    (out / "old.txt").write_text("from an earlier release")
    result = cli("release", str(out))
    assert result.returncode == 2 and "OUT is not empty" in result.stderr
    assert (out / "old.txt").exists() and len(os.listdir(out)) == 1
    assert cli("release", REPO_ROOT).returncode == 2
    forced = cli("release", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (out / "old.txt").exists() and (out / "README.md").exists()


def _line_of(path: str, text: str) -> int:
    with open(path, encoding="utf-8") as f:
        return next(n for n, line in enumerate(f, start=1) if line.strip() == text)


def test_a_planted_leak_fails_the_release_naming_file_and_line(tmp_path):
    """A copy of the repository with a solution line in a notebook (JSON-quoted) and a hidden test's line
    in a notebook helper: ``release`` exits 1, names both, and leaves OUT as written; a leak the instructor
    accepts is listed without failing."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, repo, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache",
                                                                   "*.ipynb"))
    solution = next(line for _, line in source.region_lines((repo / "solutions" / "attention.py").read_text())
                    if "amax" in line).strip()
    solution_at = _line_of(repo / "solutions" / "attention.py", solution)
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                           "source": ["import torch\n", f"    {solution}\n"]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (repo / "notebooks" / "planted.ipynb").write_text(json.dumps(notebook, indent=1))
    planted_at = _line_of(repo / "notebooks" / "planted.ipynb", json.dumps(f"    {solution}\n"))
    hidden = next(line for line in (repo / "autograder" / "hidden" / "test_pooling.py").read_text().splitlines()
                  if "impl.run(count_aten_ops, impl.max_pool2d" in line).strip()
    hidden_at = _line_of(repo / "autograder" / "hidden" / "test_pooling.py", hidden)
    helper = repo / "notebooks" / "helpers.py"
    helper.write_text('"""Plots."""\n\n' + hidden + "\n")
    helper_at = len(helper.read_text().splitlines())

    out = tmp_path / "student"
    result = cli("release", str(out), cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"notebooks/planted.ipynb:{planted_at}: solution line from solutions/attention.py:{solution_at}" \
        in result.stdout
    assert f"notebooks/helpers.py:{helper_at}: hidden test line from autograder/hidden/test_pooling.py:{hidden_at}" \
        in result.stdout
    assert "leak check: 2 LEAKS" in result.stdout
    assert (out / "notebooks" / "planted.ipynb").exists() and (out / "notebooks" / "helpers.py").exists()

    # accepted by the instructor: still listed, no longer failing
    with open(repo / release.ACCEPTED, "a", encoding="utf-8") as f:
        f.write(f"\nnotebooks/planted.ipynb: {solution}\n")
    accepted = cli("release", str(tmp_path / "accepted"), cwd=repo)
    assert accepted.returncode == 1 and "leak check: 1 LEAKS" in accepted.stdout, accepted.stdout
    assert f"accepted in {release.ACCEPTED}: notebooks/planted.ipynb:{planted_at}: solution line" in accepted.stdout

    # a stub edited by hand (here: holding that line) is refused before anything is written
    stub = repo / "exercises" / "pooling.py"
    stub.write_text(stub.read_text() + "\n" + hidden + "\n")
    edited = cli("release", str(tmp_path / "again"), cwd=repo)
    assert edited.returncode == 2 and "exercises/pooling.py differs from solutions/pooling.py" in edited.stderr
    assert not (tmp_path / "again").exists()


def test_leak_check_ignores_spacing_and_comment_signs_but_not_common_lines(tmp_path):
    secrets = release.secret_lines()
    regions = [line.strip() for name in ("attention.py", "mlp.py")
               for _, line in source.region_lines(open(os.path.join(REPO_ROOT, "solutions", name)).read())]
    solution = next(line for line in regions if "amax" in line)
    common = "for _ in range(steps):"
    assert common in regions  # a solution line, but one that could be anyone's
    (tmp_path / "notes.md").write_text("Some words.\n#  " + "  ".join(solution.split()) + f"\n{common}\n")
    leaks, searched, binary = release.find_leaks(str(tmp_path), secrets)
    assert [(leak.file, leak.line) for leak in leaks] == [("notes.md", 2)]
    assert searched == 1 and binary == []


# ----------------------------------------------------------------------------- the README's own commands

def readme_blocks(path) -> dict[str, str]:
    """The fenced blocks the README marks ``<!-- run: NAME -->``: the commands a student is told to type."""
    text = open(path, encoding="utf-8").read()
    return dict(re.findall(r"<!-- run: (\w+) -->\n```sh\n(.*?)```", text, re.S))


def test_readme_commands_work_in_a_fresh_environment(released):
    """``make setup`` (a new .venv from the released requirements.txt: a real install, about half of this
    test's time), then ``pytest``: every public test fails as not implemented; then the public grade:
    0 points, exit 0."""
    out, _ = released
    blocks = readme_blocks(out / "README.md")
    assert set(blocks) == {"setup", "test", "grade"}, blocks
    venv = out / ".venv"
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "AUTOGRADER_CONFIG")}
        # pip installs the same packages but does not byte-compile all of torch's modules up front (Python
        # compiles the ones imported when they are): less time here, and half the files to remove
        env["PIP_COMPILE"] = "0"
        start = time.monotonic()
        setup = subprocess.run(["bash", "-c", blocks["setup"]], cwd=out, env=env, capture_output=True, text=True,
                               timeout=600)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        installed = time.monotonic() - start
        assert (venv / "bin" / "python").exists()

        env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
                   PYTEST_ADDOPTS=f"--junitxml={out.parent / 'junit.xml'}")
        tests = subprocess.run(["bash", "-c", blocks["test"]], cwd=out, env=env, capture_output=True, text=True,
                               timeout=600)
        junit = out.parent / "junit.xml"
        assert tests.returncode == 1 and junit.exists(), tests.stdout[-3000:] + tests.stderr[-3000:]
        cases = ET.parse(junit).getroot().iter("testcase")
        outcomes = {}
        for case in cases:
            failure = case.find("failure")
            outcomes[case.get("classname"), case.get("name")] = (failure.get("message") if failure is not None
                                          else "skipped" if case.find("skipped") is not None else "passed")
        ran = {name: message for name, message in outcomes.items() if message != "skipped"}
        assert len(ran) >= 11 * 3, outcomes
        wrong = {name: message for name, message in ran.items() if "not implemented" not in message}
        assert not wrong, wrong

        # The public grade, exactly as the README writes it: every topic.
        del env["PYTEST_ADDOPTS"]
        grade = subprocess.run(["bash", "-c", blocks["grade"].strip()], cwd=out, env=env,
                               capture_output=True, text=True, timeout=600)
        assert grade.returncode == 0, grade.stdout[-3000:] + grade.stderr[-3000:]
        total = re.search(r"total\s+(\S+) / (\S+)", grade.stdout)
        whole = sum(topic.max_score for topic in config.load().topics.values())
        assert total and float(total.group(1)) == 0 and float(total.group(2)) == whole, grade.stdout
        print(f"README commands: install {installed:.0f} s, all {time.monotonic() - start:.0f} s")
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # a gigabyte of torch
