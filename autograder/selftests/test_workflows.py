"""GitHub Actions workflows: every one validates against the GitHub workflow schema that check-jsonschema
vendors (a broken one fails); the instructor's runs the README's test command; the student's grades the public
suite and appends the Markdown score table to the job summary."""
import glob
import os
import re
import shlex
import subprocess
import sys

import yaml

from autograder import __main__ as cli
from autograder.config import REPO_ROOT

INSTRUCTOR = sorted(glob.glob(os.path.join(REPO_ROOT, ".github", "workflows", "*.yml")))
#: The workflow the student repository carries (``release`` copies it there).
STUDENT = os.path.join(REPO_ROOT, "autograder", "release_files", ".github", "workflows", "grade.yml")


def check(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           *map(str, paths)], capture_output=True, text=True, timeout=120)


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def run_steps(path: str) -> list[dict]:
    return [step for job in load(path)["jobs"].values() for step in job["steps"] if "run" in step]


def test_every_workflow_matches_the_github_schema():
    names = {os.path.basename(p) for p in INSTRUCTOR}
    assert {"test.yml", "batch.yml"} <= names and os.path.isfile(STUDENT)
    done = check(*INSTRUCTOR, STUDENT)
    assert done.returncode == 0, done.stdout + done.stderr


BREAKAGES = {  # each a workflow GitHub would refuse
    "no_machine": ("    runs-on: ubuntu-latest\n", ""),
    "unknown_event": ("on:\n  push:\n", "on:\n  pushed:\n"),
    "timeout_not_a_number": ("timeout-minutes: 60", "timeout-minutes: soon"),
}


def test_a_broken_workflow_fails_the_check(tmp_path):
    with open(os.path.join(REPO_ROOT, ".github", "workflows", "test.yml"), encoding="utf-8") as f:
        text = f.read()
    paths = []
    for name, (old, new) in BREAKAGES.items():
        assert old in text, name
        paths.append(tmp_path / f"{name}.yml")
        paths[-1].write_text(text.replace(old, new, 1))
    done = check(*paths)  # one run for all (the checker takes seconds to start)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Schema validation errors were encountered" in done.stdout
    for path in paths:
        assert str(path) in done.stdout, f"{path.name} passed the check"


def test_instructor_workflow_runs_exactly_the_readme_test_command():
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as f:
        setup = re.search(r"```sh\n(.*?)```", f.read(), re.S)[1]  # the set-up block: make grade, make test
    command = next(line.split("#")[0].strip() for line in setup.splitlines() if line.startswith("make test"))
    assert command == "make test"
    runs = [step["run"].strip() for step in run_steps(os.path.join(REPO_ROOT, ".github", "workflows", "test.yml"))]
    assert runs[-1] == command and runs.count(command) == 1


def test_student_workflow_grades_the_public_suite_into_the_job_summary(tmp_path):
    steps = run_steps(STUDENT)
    grade = next(step for step in steps if "-m autograder grade" in step["run"])
    argv = shlex.split(grade["run"])
    assert argv[:3] == [".venv/bin/python", "-m", "autograder"]
    args = cli._parser().parse_args(argv[3:])  # the grader's own command line accepts it
    assert (args.verb, args.suite, args.format, args.out) == ("grade", "public", "markdown", "grades.md")
    summary = next(step for step in steps if "GITHUB_STEP_SUMMARY" in step["run"])
    assert summary["if"] == "always()" and steps.index(summary) > steps.index(grade)
    # the summary step's shell, as the runner runs it: the table is appended, or a line saying there is none
    for table in ("## Grades\n\n| topic | score |\n", None):
        if table:
            (tmp_path / "grades.md").write_text(table)
        target = tmp_path / "summary.md"
        target.write_text("earlier step\n")
        done = subprocess.run(["bash", "-e", "-c", summary["run"]], cwd=tmp_path, capture_output=True, text=True,
                              env={"GITHUB_STEP_SUMMARY": str(target), "PATH": os.environ["PATH"]})
        assert done.returncode == 0, done.stderr
        assert target.read_text() == "earlier step\n" + (table or "no grades.md: see the grading step's log\n")
        (tmp_path / "grades.md").unlink(missing_ok=True)
