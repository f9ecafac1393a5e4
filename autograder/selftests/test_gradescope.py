"""The Gradescope bundle, built and run as Gradescope runs it: unpacked into a simulated ``/autograder`` tree
(``$AUTOGRADER_ROOT``), ``run_autograder`` per submission, results.json checked against the documented schema."""
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile

import jsonschema
import pytest

from autograder import gradescope, release, report, sandbox, source
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import solution_text

TOPICS = ("pooling", "embeddings")  # pooling quick to grade; embeddings the stub (in the broken run: missing)
NEVER_IN_A_BUNDLE = ("solutions/", "exercises/", "autograder/mutants/", "autograder/attacks/",
                     "autograder/selftests/")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "AUTOGRADER_CONFIG"})


def stub_text(topic: str) -> str:
    with open(os.path.join(source.EXERCISES, f"{topic}.py"), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("bundle") / "autograder.zip")
    result = cli("gradescope", out, "--topics", ",".join(TOPICS))
    assert result.returncode == 0, result.stderr
    return out


def gradescope_tree(base, bundle: str, submission: dict[str, str | bytes]) -> str:
    """``base/autograder`` as Gradescope lays it out: the bundle in ``source/``, ``run_autograder`` copied to the
    root, the upload in ``submission/``."""
    root = os.path.join(str(base), "autograder")
    with zipfile.ZipFile(bundle) as z:
        z.extractall(os.path.join(root, "source"))
    for name in gradescope.SCRIPTS:  # zipfile drops the mode bits; Gradescope's unzip keeps them
        os.chmod(os.path.join(root, "source", name), 0o755)
    shutil.copy2(os.path.join(root, "source", "run_autograder"), os.path.join(root, "run_autograder"))
    for name, content in submission.items():
        path = os.path.join(root, "submission", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
    os.makedirs(os.path.join(root, "submission"), exist_ok=True)
    return root


def run_autograder(root: str, **env) -> tuple[subprocess.CompletedProcess, dict, float]:
    """Gradescope's call: ``/autograder/run_autograder`` in ``/autograder``; the results, checked against the schema."""
    environment = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_CONFIG"}
    environment.update({"AUTOGRADER_ROOT": root, "AUTOGRADER_PYTHON": sys.executable, **env})
    start = time.monotonic()
    done = subprocess.run([os.path.join(root, "run_autograder")], cwd=root, capture_output=True, text=True,
                          env=environment, timeout=600)
    seconds = time.monotonic() - start
    with open(os.path.join(root, "results", "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    jsonschema.validate(results, report.gradescope_schema())
    return done, results, seconds


def by_topic(results: dict, topic: str) -> list[dict]:
    return [t for t in results["tests"] if t["name"].startswith(f"{topic}: ")]


# --------------------------------------------------------------------------- the bundle

def test_bundle_holds_the_scripts_the_grader_and_both_suites(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in z.infolist()}
        settings = json.loads(z.read(gradescope.SETTINGS))
    for script in gradescope.SCRIPTS:  # at the root, executable: what Gradescope requires
        assert script in names and modes[script] & stat.S_IXUSR, script
    assert settings == {"topics": list(TOPICS), "suite": "all"}
    for topic in TOPICS:
        assert {f"tests/test_{topic}.py", f"autograder/hidden/test_{topic}.py"} <= names
    assert {"autograder/judge.py", "autograder/worker.py", "autograder/jail.py", "autograder/fixtures/references.py",
            "autograder/schemas/gradescope_results.json", "grading.yml", "requirements.txt"} <= names
    assert "tests/test_attention.py" not in names and "autograder/hidden/test_attention.py" not in names
    # the grader students run locally is the bundle's: every released grader file is in it
    released = release.copied_files()
    grader = [target for target in released if target.startswith(("autograder/", *release.GRADER_SETUP))]
    assert "autograder/plugin.py" in grader and "conftest.py" in grader
    assert not [target for target in grader if target not in names or released[target] != target], grader
    # and of autograder/, nothing the instructor keeps
    kept = [n for n in names if n.startswith("autograder/") and n.split("/")[1] in release.INSTRUCTOR_ONLY]
    assert kept == ["autograder/timings.json"]  # written for the bundle: the times of its tests


def test_bundle_holds_no_solution_mutant_attack_or_selftest(bundle):
    with zipfile.ZipFile(bundle) as z:
        members = {n: z.read(n) for n in z.namelist()}
    assert not [n for n in members if n.startswith(NEVER_IN_A_BUNDLE) or "/mutants/" in n]
    # every member is a repository file at the same path, unchanged, but for what the build writes itself
    written = {*gradescope.SCRIPTS, gradescope.SETTINGS, "autograder/timings.json"}
    for name, data in members.items():
        if name not in written:
            with open(os.path.join(REPO_ROOT, name), "rb") as f:
                assert f.read() == data, name
    # and not a line of a solution body, beyond what the grader's references and the topic's tests compute alike
    text = "\n".join(data.decode("utf-8", "replace") for name, data in members.items() if not name.endswith(".pt"))
    fixtures = os.path.join(REPO_ROOT, "autograder", "fixtures")
    for topic in TOPICS:
        known = stub_text(topic)
        for path in [os.path.join(fixtures, n) for n in os.listdir(fixtures) if n.endswith(".py")] + [
                os.path.join(REPO_ROOT, "tests", f"test_{topic}.py"),
                os.path.join(REPO_ROOT, "autograder", "hidden", f"test_{topic}.py")]:
            with open(path, encoding="utf-8") as f:
                known += f.read()
        secret = [line.strip() for line in solution_text(topic).splitlines()
                  if len(line.strip()) >= 30 and line.strip() not in known]
        assert len(secret) > 5 and not [line for line in secret if line in text]


def test_bundle_keeps_the_fitted_time_limits(tmp_path, bundle):
    """The bundle has no solutions/, which the recorded times' fingerprint covers: they are re-keyed to it."""
    root = gradescope_tree(tmp_path, bundle, {})
    check = subprocess.run([sys.executable, "-c", "import sys; from autograder import timings; "
                            f"print(timings.stale({list(TOPICS)!r}))"],
                           cwd=os.path.join(root, "source"), capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "[]"


def test_bundle_refuses_a_solution_that_slips_in(monkeypatch):
    from autograder import judge

    monkeypatch.setattr(judge, "test_files", lambda topic, suites: [os.path.join(source.SOLUTIONS, f"{topic}.py")])
    with pytest.raises(gradescope.BundleError, match="refusing to bundle solutions/pooling.py"):
        gradescope.bundle_files(["pooling"], ["public"])


@pytest.mark.parametrize("results", [
    {"tests": [{"name": "no score anywhere", "max_score": 1}]},
    {"score": 1, "visibility": "sometimes"},
    {"score": 1, "tests": [{"score": 1, "status": "ok"}]},
    {"score": 1, "leaderboard": [{"name": "accuracy", "value": 0.9, "order": "up"}]},
    {"score": 1, "grade": "A"},
])
def test_schema_and_writer_refuse_what_gradescope_does_not_document(tmp_path, results):
    with pytest.raises(jsonschema.ValidationError):
        gradescope.write_results(str(tmp_path), results)
    assert not (tmp_path / "results" / "results.json").exists()


def test_cli_refuses_bad_bundle_requests(tmp_path):
    missing = cli("gradescope", str(tmp_path / "no" / "such" / "autograder.zip"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    unknown = cli("gradescope", str(tmp_path / "autograder.zip"), "--topics", "pooling,nosuch")
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr
    assert not (tmp_path / "autograder.zip").exists()


def test_setup_sh_parses():
    check = subprocess.run(["bash", "-n", os.path.join(gradescope.FILES, "setup.sh")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
fi
exit {code}
"""


@pytest.mark.parametrize("image_python", ["3.11", "too old"])
def test_setup_sh_makes_the_venv_run_autograder_uses(tmp_path, image_python):
    """setup.sh against stand-ins for python and apt-get (nothing downloaded): the venv is made where
    run_autograder looks for it, from the bundle's requirements.txt, and apt-get runs only when no
    Python 3.11+ is there."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, code in [("python3.11", 0 if image_python == "3.11" else 1), ("python3", 1), ("python3.12", 1),
                       ("python3.13", 1), ("apt-get", 0), ("add-apt-repository", 0)]:
        (fake / name).write_text(FAKE.format(code=code))
        (fake / name).chmod(0o755)
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    calls = tmp_path / "calls"
    env = {"PATH": f"{fake}:/usr/bin:/bin", "AUTOGRADER_ROOT": str(root), "CALLS": str(calls)}
    done = subprocess.run(["bash", os.path.join(gradescope.FILES, "setup.sh")], env=env, capture_output=True,
                          text=True, timeout=60)
    log = calls.read_text().splitlines()
    if image_python == "too old":
        # every candidate refuses the version check: apt installs 3.11, then the venv is made (and our stand-in
        # for python3.11 keeps refusing, so the script stops there: the image build fails loudly)
        assert "apt-get install -y --no-install-recommends python3.11 python3.11-venv" in log
        assert done.returncode != 0
        return
    assert done.returncode == 0, done.stderr
    assert not [c for c in log if c.startswith(("apt-get", "add-apt-repository"))]
    assert f"python3.11 -m venv {root}/venv" in log
    assert f"python -m pip install --quiet --disable-pip-version-check -r {root}/source/requirements.txt" in log
    # run_autograder grades with that venv's python (a stand-in here, which writes no results: the fallback does)
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_CONFIG", "AUTOGRADER_PYTHON")}
    shutil.copy2(os.path.join(gradescope.FILES, "run_autograder"), root / "run_autograder")
    subprocess.run([str(root / "run_autograder")], cwd=root, env={**env, "AUTOGRADER_ROOT": str(root),
                   "CALLS": str(calls)}, capture_output=True, timeout=60, check=True)
    assert calls.read_text().splitlines()[-1] == f"python -m autograder.gradescope {root}"


# --------------------------------------------------------------------------- grading at Gradescope

@pytest.fixture(scope="module")
def graded(tmp_path_factory, bundle):
    """A student's upload of their repository folder: pooling solved in ``hw/exercises/``, embeddings the stub,
    the grader's own copy of the fixtures beside them (it must not be mistaken for the student's module)."""
    return run_autograder(gradescope_tree(tmp_path_factory.mktemp("gs"), bundle, {
        "hw/exercises/pooling.py": solution_text("pooling"),
        "hw/exercises/embeddings.py": stub_text("embeddings"),
        "hw/autograder/fixtures/pooling.py": "raise SystemExit('the grader fixture was graded')\n",
        "hw/README.md": "my homework\n"}))


def test_results_validate_and_score_the_submission(graded):
    done, results, seconds = graded
    assert done.returncode == 0, done.stdout + done.stderr
    pooling, embeddings = by_topic(results, "pooling"), by_topic(results, "embeddings")
    assert pooling and all(t["status"] == "passed" for t in pooling)
    assert embeddings and all(t["status"] == "failed" and t["score"] == 0 for t in embeddings)
    assert results["score"] == pytest.approx(sum(t["max_score"] for t in pooling)) == pytest.approx(60)
    assert 0 < results["execution_time"] <= seconds  # the whole run, in seconds
    assert results["stdout_visibility"] == "hidden"
    assert results["extra_data"]["sandbox"]["level"] == sandbox.best_level()  # the strongest here (root: full)


def test_hidden_tests_are_shown_after_the_due_date_only(graded):
    _, results, _ = graded
    hidden = [t for t in results["tests"] if ": hidden/" in t["name"]]
    public = [t for t in results["tests"] if ": public/" in t["name"]]
    assert hidden and public and len(hidden) + len(public) == len(results["tests"])
    assert {t["visibility"] for t in hidden} == {"after_due_date"}
    assert {t["visibility"] for t in public} == {"visible"}
    # what the student reads at once sums the visible tests only, and says how many come later
    shown = sum(t["max_score"] for t in public)
    assert f"Tests shown now: {report.fmt(sum(t['score'] for t in public))}/{report.fmt(shown)}" in results["output"]
    assert f"{len(hidden)} more tests" in results["output"] and "after the due date" in results["output"]
    assert f"/{report.fmt(sum(t['max_score'] for t in results['tests']))}" not in results["output"]  # no grand total


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """pooling.py that does not parse, loose at the top; no embeddings.py at all. (The public suites only: a
    module that does not import costs a worker start per test.)"""
    base = tmp_path_factory.mktemp("gs-broken")
    bundle = str(base / "public.zip")
    assert cli("gradescope", bundle, "--topics", ",".join(TOPICS), "--suite", "public").returncode == 0
    return run_autograder(gradescope_tree(base, bundle, {"pooling.py": "def max_pool2d(x, kernel_size:\n    return x\n",
                                                         "notes.txt": "I ran out of time\n"}))


def test_broken_submission_still_gets_valid_results(broken):
    done, results, _ = broken
    assert done.returncode == 0, done.stdout + done.stderr
    assert results["score"] == 0 and results["tests"]
    assert all(t["status"] == "failed" for t in results["tests"])
    assert any("SyntaxError" in t["output"] for t in by_topic(results, "pooling"))
    assert "embeddings.py: not found in your submission" in results["output"]
    assert by_topic(results, "embeddings")  # every test of the missing module is listed, at zero


def test_grader_fault_still_writes_valid_results(tmp_path, bundle):
    root = gradescope_tree(tmp_path, bundle, {"pooling.py": solution_text("pooling")})
    with open(os.path.join(root, "source", "grading.yml"), "w", encoding="utf-8") as f:
        f.write("version: 2\ntopics: {}\n")
    done, results, _ = run_autograder(root)
    assert results["score"] == 0 and results["tests"] == []
    assert "The autograder failed" in results["output"] and "version" in results["output"]
    assert "ConfigError" in done.stdout  # the traceback, for the course staff (stdout is hidden from students)


def test_results_written_even_when_python_cannot_start(tmp_path, bundle):
    root = gradescope_tree(tmp_path, bundle, {"pooling.py": solution_text("pooling")})
    _, results, _ = run_autograder(root, AUTOGRADER_PYTHON=str(tmp_path / "no-python"))
    assert results["score"] == 0 and "could not start" in results["output"]


# --------------------------------------------------------------------------- finding the modules

def write(folder, files: dict[str, str]) -> str:
    os.makedirs(folder, exist_ok=True)
    for name, text in files.items():
        path = os.path.join(str(folder), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return str(folder)


def test_find_modules_wherever_the_upload_put_them(tmp_path):
    upload = write(tmp_path / "upload", {"deep/er/pooling.py": "# deep", "a/pooling.py": "# shallow",
                                         "autograder/fixtures/embeddings.py": "# the grader's own"})
    with zipfile.ZipFile(os.path.join(upload, "hw.zip"), "w") as z:
        z.writestr("hw/exercises/embeddings.py", "# zipped")
        z.writestr("hw/exercises/pooling.py", "# zipped too")
    os.symlink("/etc/passwd", os.path.join(upload, "attention.py"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    found, notes = gradescope.find_modules(upload, ["pooling", "embeddings", "attention"], str(scratch))
    assert open(found["pooling"]).read() == "# shallow"  # loose files first, then the shallowest
    assert open(found["embeddings"]).read() == "# zipped"  # not the grader's fixture of that name
    assert "attention" not in found  # a link is not a module
    assert any(n.startswith("pooling.py: graded a/pooling.py (also found: deep/er/pooling.py, hw.zip: ") for n in notes)
    assert any(n.startswith("attention.py: not found") for n in notes)


def test_find_modules_refuses_a_zip_that_escapes(tmp_path):
    upload = write(tmp_path / "upload", {})
    with zipfile.ZipFile(os.path.join(upload, "evil.zip"), "w") as z:
        z.writestr("../../pooling.py", "# outside")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    found, notes = gradescope.find_modules(upload, ["pooling"], str(scratch))
    assert found == {} and any(n.startswith("evil.zip: not unpacked (member '../../pooling.py' leaves") for n in notes)
    assert not (tmp_path / "pooling.py").exists()
