"""Class-wide grading: `batch` and `merge` (one real run of four students, the rest with a stand-in grader)."""
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from xml.etree import ElementTree

import jsonschema
import pytest

from autograder import batch, config, judge, report
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import (SDPA_WITHOUT_SCALING, make_config, make_submission, processes_mentioning,
                                          solution_text)

ABSOLUTE = f"/tmp/autograder-evil-{uuid.uuid4().hex}.py"  # an archive member that must never be written
SCALING_HINT = "hint: your output equals attention without the 1/sqrt(E) scaling."


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=600)


def read_gradebook(out) -> dict[str, dict]:
    with open(os.path.join(out, "gradebook.csv"), newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def make_zip(path, members: dict[str, bytes | str], links: tuple[str, ...] = ()) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if name.endswith("pipe"):
                info.external_attr = 0o010644 << 16  # a FIFO
            z.writestr(info, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # a symbolic link, as `zip --symlinks` stores it
            z.writestr(info, "/etc/passwd")
    return str(path)


def tree(folder) -> set[str]:
    return {os.path.relpath(os.path.join(d, n), folder) for d, dirs, files in os.walk(folder) for n in dirs + files}


# --------------------------------------------------------------------------- one real batch

@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    """alice and bob as folders (bob forgets the scaling), carol as a zip with a top folder, mallory's zip
    climbing out with '..' — graded for real on the public attention suite, two at a time."""
    base = tmp_path_factory.mktemp("class")
    root, out = base / "root", base / "out"
    make_submission(root / "alice")
    make_submission(root / "bob", SDPA_WITHOUT_SCALING)
    make_zip(root / "carol.zip", {"carol-hw/attention.py": solution_text(), "__MACOSX/carol-hw/._attention.py": ""})
    make_zip(root / "mallory.zip", {"../mallory-was-here.py": "x = 1\n", "attention.py": solution_text()})
    env = {"AUTOGRADER_CONFIG": make_config(base)}
    result = cli("batch", str(root), "--out", str(out), "--topics", "attention", "--suite", "public",
                 "--jobs", "2", env=env)
    return root, out, result, env


def test_batch_gradebook_has_a_row_and_a_status_per_student(class_run):
    root, out, result, _ = class_run
    assert result.returncode == 0, result.stderr
    rows = read_gradebook(out)
    assert list(rows) == ["alice", "bob", "carol", "mallory"]
    assert list(rows["alice"]) == ["student", "attention", "total", "max_score", "status"]
    assert rows["alice"] == {"student": "alice", "attention": "60", "total": "60", "max_score": "60",
                             "status": "graded"}
    assert rows["carol"]["total"] == "60" and rows["carol"]["status"] == "graded"  # nested top folder
    assert rows["bob"]["status"] == "graded" and 0 < float(rows["bob"]["total"]) < 60
    assert rows["mallory"]["status"].startswith("bad archive: member '../mallory-was-here.py' leaves")
    assert rows["mallory"]["total"] == "0" and rows["mallory"]["attention"] == ""
    assert not (root / "mallory-was-here.py").exists() and not (root.parent / "mallory-was-here.py").exists()
    assert "1 not graded:" in result.stdout and "  mallory: bad archive" in result.stdout  # the summary
    assert "[4/4]" in result.stderr and "ETA" in result.stderr and "1 failure" in result.stderr  # plain progress


def test_batch_writes_each_students_report_and_feedback(class_run):
    _, out, _, _ = class_run
    students = out / "students"
    assert sorted(os.listdir(students)) == [f"{s}.{ext}" for s in ("alice", "bob", "carol", "mallory")
                                            for ext in ("json", "txt")]  # no temporary file left behind
    bob = json.loads((students / "bob.json").read_text())
    jsonschema.validate(bob, report.JSON_SCHEMA)
    assert bob["student"] == "bob" and bob["status"] == "graded"
    feedback = (students / "bob.txt").read_text()
    assert "attention.scaled_dot_product_attention: [failed]" in feedback and SCALING_HINT in feedback
    assert "Tests that lost points:" in feedback
    assert "bad archive" in (students / "mallory.txt").read_text()


def test_class_report_counts_the_class_misconceptions(class_run):
    _, out, _, _ = class_run
    md = (out / "class_report.md").read_text()
    assert "| attention | 3 |" in md  # mallory is not in the statistics
    assert "- 1 student: attention without the 1/sqrt(E) scaling (`attention.scaled_dot_product_attention`)" in md
    assert "- 1 student: `attention.scaled_dot_product_attention`" in md
    html = (out / "class_report.html").read_text()
    assert "attention without the 1/sqrt(E) scaling" in html
    assert "<script" not in html and "src=" not in html and "href=" not in html  # self-contained


def test_a_second_run_skips_everyone_already_graded(class_run):
    _, out, _, env = class_run
    before = {n: os.stat(out / "students" / n).st_mtime_ns for n in os.listdir(out / "students")}
    result = cli("batch", str(class_run[0]), "--out", str(out), "--topics", "attention", "--suite", "public",
                 env=env)
    assert result.returncode == 0, result.stderr
    assert "0 students processed" in result.stdout and "4 skipped" in result.stdout
    assert {n: os.stat(out / "students" / n).st_mtime_ns for n in os.listdir(out / "students")} == before


# --------------------------------------------------------------------------- a stand-in grader

def fake_report(correct: bool) -> dict:
    tests = [{"name": "public/test_softmax", "score": 20.0, "max_score": 20.0, "status": "passed", "message": "",
              "exercise": "softmax", "suite": "public"},
             {"name": "public/test_sdpa", "score": 40.0 if correct else 0.0, "max_score": 40.0,
              "status": "passed" if correct else "failed", "exercise": "scaled_dot_product_attention",
              "suite": "public", "message": "" if correct else
              "attention.scaled_dot_product_attention: output differs\n  inputs: q (2, 4, 8)\n  " + SCALING_HINT}]
    score = sum(t["score"] for t in tests)
    return {"score": score, "max_score": 60.0, "sandbox": {"level": "limits", "layers": [], "full": False},
            "topics": {"attention": {"score": score, "max_score": 60.0, "tests": tests, "seconds": 0.1}}}


class FakeGrader:
    """Scores a submission 60 when its attention.py says CORRECT, 20 otherwise; raises on BOOM."""

    def __init__(self):
        self.calls = []
        self.threads = []

    def __call__(self, folder, **kwargs):
        assert kwargs["jobs"] == 1 and kwargs["topics"] == ["attention"]
        self.threads.append(kwargs["threads"])
        with open(os.path.join(folder, "attention.py"), encoding="utf-8") as f:
            text = f.read()
        self.calls.append(text.split()[1])
        if "BOOM" in text:
            raise RuntimeError("the worker could not start")
        return fake_report("CORRECT" in text)


@pytest.fixture
def grading(tmp_path):
    """grading.yml with the attention topic only."""
    return config.load(make_config(tmp_path))


def make_class(root, names: dict[str, str]) -> str:
    """One folder per student; the value goes into the file (CORRECT, WRONG or BOOM)."""
    for name, kind in names.items():
        make_submission(root / name, text=f"# {name} {kind}\n")
    return str(root)


def fake_run(root, out, grading, grader, **kwargs):
    stream = io.StringIO()
    result = batch.run(str(root), str(out), topics=["attention"], suite="public", level="none", grading=grading,
                       grade=grader, stream=stream, **kwargs)
    return result, stream.getvalue()


def test_resume_grades_only_the_missing_and_force_regrades_all(tmp_path, grading):
    root = make_class(tmp_path / "root", {"ann": "CORRECT", "ben": "WRONG", "cat": "CORRECT"})
    out = tmp_path / "out"
    grader = FakeGrader()
    fake_run(root, out, grading, grader)
    assert sorted(grader.calls) == ["ann", "ben", "cat"]
    # a batch killed while writing ben: his JSON never landed, a temporary file did
    os.remove(out / "students" / "ben.json")
    (out / "students" / ".ben.json.x1y2.tmp").write_text("{\"half")
    grader.calls.clear()
    result, log = fake_run(root, out, grading, grader)
    assert grader.calls == ["ben"] and result.skipped == ["ann", "cat"]
    assert "skipping 2 already graded" in log
    assert set(read_gradebook(out)) == {"ann", "ben", "cat"}
    grader.calls.clear()
    fake_run(root, out, grading, grader, force=True)
    assert sorted(grader.calls) == ["ann", "ben", "cat"]


def test_an_interrupted_batch_stops_and_its_resume_equals_a_clean_run(tmp_path, grading):
    root = make_class(tmp_path / "root", {"a": "CORRECT", "b": "WRONG", "c": "CORRECT", "d": "WRONG", "e": "WRONG"})
    fake_run(root, tmp_path / "clean", grading, FakeGrader())

    class Interrupted(FakeGrader):
        def __call__(self, folder, **kwargs):
            result = super().__call__(folder, **kwargs)
            if len(self.calls) == 2:
                raise KeyboardInterrupt  # Ctrl-C while the second student is graded
            return result

    interrupted = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        fake_run(root, tmp_path / "out", grading, interrupted)
    assert len(interrupted.calls) <= 3  # the pending students were not started
    done = {n[:-5] for n in os.listdir(tmp_path / "out" / "students") if n.endswith(".json")}
    assert "a" in done and "b" not in done
    resumed = FakeGrader()
    fake_run(root, tmp_path / "out", grading, resumed)
    assert sorted(resumed.calls) == sorted({"a", "b", "c", "d", "e"} - done)
    assert (tmp_path / "out" / "gradebook.csv").read_text() == (tmp_path / "clean" / "gradebook.csv").read_text()


def test_one_students_grader_fault_does_not_stop_the_batch(tmp_path, grading):
    root = make_class(tmp_path / "root", {"ann": "CORRECT", "bob": "BOOM", "cy": "WRONG"})
    result, log = fake_run(root, tmp_path / "out", grading, FakeGrader(), jobs=2)
    rows = read_gradebook(tmp_path / "out")
    assert rows["bob"]["status"] == "grader fault: RuntimeError: the worker could not start"
    assert rows["bob"]["total"] == "" and rows["bob"]["attention"] == ""  # not the student's zero
    assert (rows["ann"]["total"], rows["cy"]["total"]) == ("60", "20")
    assert "[3/3]" in log and "1 failure ·" in log and "ETA" in log


def test_a_grader_fault_is_graded_again_by_the_next_run_without_force(tmp_path, grading):
    root = make_class(tmp_path / "root", {"ann": "CORRECT", "bob": "BOOM", "cy": "WRONG"})
    out = tmp_path / "out"
    fake_run(root, out, grading, FakeGrader())
    assert read_gradebook(out)["bob"]["status"].startswith("grader fault")
    make_submission(tmp_path / "root" / "bob", text="# bob CORRECT\n")  # the grader works again
    grader = FakeGrader()
    result, log = fake_run(root, out, grading, grader)
    assert grader.calls == ["bob"] and result.skipped == ["ann", "cy"]  # graded results are kept
    assert "grading 1 again whose last grading was a grader fault" in log
    assert read_gradebook(out)["bob"]["status"] == "graded" and read_gradebook(out)["bob"]["total"] == "60"
    grader.calls.clear()
    fake_run(root, out, grading, grader)
    assert grader.calls == []  # nothing left to retry


def test_a_signal_stops_the_batch_and_abandons_the_students_in_progress(tmp_path, grading):
    """SIGTERM while the second student is graded: no student is started after it, the one in progress
    is cancelled (no JSON), the exception names the signal, the handlers are restored, a resume ends it."""
    root = make_class(tmp_path / "root", {"a": "CORRECT", "b": "WRONG", "c": "CORRECT", "d": "WRONG"})
    out = tmp_path / "out"

    class Terminated(FakeGrader):
        def __call__(self, folder, **kwargs):
            result = super().__call__(folder, **kwargs)
            if len(self.calls) == 2:
                os.kill(os.getpid(), signal.SIGTERM)  # as a job scheduler stops a job
                assert kwargs["cancel"].wait(10), "the signal did not cancel the student in progress"
                raise judge.Cancelled("the grading was cancelled")
            return result

    previous = signal.getsignal(signal.SIGTERM)
    grader = Terminated()
    with pytest.raises(batch.Interrupted, match="interrupted by SIGTERM") as info:
        fake_run(root, out, grading, grader)
    assert info.value.signum == signal.SIGTERM and signal.getsignal(signal.SIGTERM) is previous
    assert grader.calls == ["a", "b"]
    assert sorted(os.listdir(out / "students")) == ["a.json", "a.txt"]  # b abandoned, c and d never started
    resumed = FakeGrader()
    fake_run(root, out, grading, resumed)
    assert resumed.calls == ["b", "c", "d"] and set(read_gradebook(out)) == {"a", "b", "c", "d"}


def test_a_cancelled_grade_kills_its_topics_at_once_and_removes_its_folder(tmp_path, monkeypatch):
    """A submission that hangs at import would hold its topic for import_seconds (120 s); cancelling
    ends it within seconds, with no process and no temporary folder left."""
    grading = config.load(make_config(tmp_path))
    folder = make_submission(tmp_path / "hangs", "while True:\n    pass\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    cancel = threading.Event()
    outcome = {}

    def grade():
        try:
            outcome["report"] = judge.grade(folder, topics=["attention"], suite="public", grading=grading,
                                            level="none", cancel=cancel)
        except judge.Cancelled as exc:
            outcome["cancelled"] = (exc, time.monotonic())

    thread = threading.Thread(target=grade, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not processes_mentioning(str(scratch)):  # the topic's judge is running
        assert thread.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.1)
    time.sleep(1.0)
    cancelled_at = time.monotonic()
    cancel.set()
    thread.join(timeout=60)
    assert "cancelled" in outcome, outcome
    assert outcome["cancelled"][1] - cancelled_at < 15
    assert processes_mentioning(str(scratch)) == [] and os.listdir(scratch) == []


def test_shards_partition_the_class_round_robin():
    students = [batch.Student(s, s) for s in ["e", "a", "d", "b", "c"]]
    assert [s.id for s in batch.shard(students, 1, 2)] == ["a", "c", "e"]
    assert [s.id for s in batch.shard(students, 2, 2)] == ["b", "d"]
    thirds = [batch.shard(students, i, 3) for i in (1, 2, 3)]
    assert sorted(s.id for part in thirds for s in part) == ["a", "b", "c", "d", "e"]
    assert batch.parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "2", "a/b", "1/0"):
        with pytest.raises(batch.BatchError, match="--shard"):
            batch.parse_shard(bad)


def test_shards_merged_equal_one_run(tmp_path, grading):
    root = make_class(tmp_path / "root", {f"s{i}": ("CORRECT" if i % 3 else "WRONG") for i in range(7)})
    fake_run(root, tmp_path / "whole", grading, FakeGrader())
    shards = []
    for i in (1, 2, 3):
        fake_run(root, tmp_path / f"shard{i}", grading, FakeGrader(), shard_spec=(i, 3))
        shards.append(str(tmp_path / f"shard{i}"))
    result = batch.merge(shards, str(tmp_path / "merged"), expected=[f"s{i}" for i in range(7)],
                         topic_order=list(grading.topics))
    assert not result.duplicates and not result.missing and not result.unexpected
    for name in ("gradebook.csv", "class_report.md", "class_report.html"):
        assert (tmp_path / "merged" / name).read_text() == (tmp_path / "whole" / name).read_text(), name
    assert sorted(os.listdir(tmp_path / "merged" / "students")) == sorted(os.listdir(tmp_path / "whole" / "students"))


def test_merge_reports_students_graded_twice_or_missing(tmp_path, grading):
    root = make_class(tmp_path / "root", {"ann": "CORRECT", "ben": "WRONG", "cat": "CORRECT"})
    fake_run(root, tmp_path / "a", grading, FakeGrader(), shard_spec=(1, 2))   # ann, cat
    fake_run(root, tmp_path / "b", grading, FakeGrader())                      # all three
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    result = batch.merge([a, b], str(tmp_path / "m"), expected=["ann", "ben", "cat", "dan"])
    assert result.duplicates == {"ann": [a, b], "cat": [a, b]}
    assert result.missing == ["dan"] and result.unexpected == []
    assert set(read_gradebook(tmp_path / "m")) == {"ann", "ben", "cat"}
    assert batch.merge([a], str(tmp_path / "m2")).duplicates == {}  # without a list: only duplicates

    expected = tmp_path / "class.txt"
    expected.write_text("ann\nben\ncat\ndan\n")
    run = cli("merge", a, b, "--out", str(tmp_path / "m3"), "--expected", str(expected), "--strict")
    assert run.returncode == 1, run.stderr
    assert f"graded twice: ann (in {a}, {b}; kept {a})" in run.stdout and "missing: dan" in run.stdout
    assert cli("merge", a, b, "--out", str(tmp_path / "m4")).returncode == 0
    bad = cli("merge", str(tmp_path / "root"), "--out", str(tmp_path / "m5"))
    assert bad.returncode == 2 and "not a batch output (no students/ folder)" in bad.stderr


def test_batch_bad_usage_names_what_is_wrong(tmp_path):
    root = make_class(tmp_path / "root", {"ann": "CORRECT"})
    make_zip(tmp_path / "root" / "ann.zip", {"attention.py": "x = 1\n"})
    cases = [(["batch", str(tmp_path / "nope"), "--out", str(tmp_path / "o")], "submissions folder not found"),
             (["batch", root, "--out", str(tmp_path / "o"), "--shard", "3/2"], "--shard: I must be between 1 and N"),
             (["batch", root, "--out", str(tmp_path / "o")], "two submissions for student 'ann'")]
    for args, message in cases:
        result = cli(*args, "--topics", "attention", "--sandbox", "none")
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert not (tmp_path / "o" / "students" / "ann.json").exists()


# --------------------------------------------------------------------------- archives

@pytest.mark.parametrize("members,links,reason", [
    ({"../evil.py": "x = 1\n", "attention.py": "x = 1\n"}, (), "leaves the archive's folder ('..')"),
    ({"sub/../../evil.py": "x = 1\n"}, (), "leaves the archive's folder ('..')"),
    ({"..\\evil.py": "x = 1\n"}, (), "leaves the archive's folder ('..')"),
    ({ABSOLUTE: "x = 1\n"}, (), f"absolute path {ABSOLUTE!r}"),
    ({"attention.py": "x = 1\n"}, ("hw/attention.py",), "symbolic link 'hw/attention.py'"),
    ({"hw/": "", "hw/attention.py": "x = 1\n", "hw/pipe": ""}, (), "special file 'hw/pipe'"),
    ({f"f{i}.py": "" for i in range(12)}, (), "too many members (12 > 10)"),
    ({"attention.py": b"\0" * 5000}, (), "unpacks to 5000 bytes (limit 4096): an archive bomb?"),
])
def test_unsafe_archives_are_refused_before_anything_is_written(tmp_path, members, links, reason):
    path = make_zip(tmp_path / "student.zip", members, links)
    dest = tmp_path / "dest"
    dest.mkdir()
    before = tree(tmp_path)
    with pytest.raises(batch.ArchiveError) as info:
        batch.extract_zip(path, str(dest), max_members=10, max_bytes=4096)
    assert reason in str(info.value)
    assert tree(tmp_path) == before and os.listdir(dest) == []
    assert not os.path.exists(ABSOLUTE)


def test_a_real_deflate_bomb_is_refused_at_the_default_limit(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("attention.py", b"\0" * (batch.MAX_UNPACKED_BYTES + 1))
    assert os.path.getsize(path) < 200_000
    (tmp_path / "dest").mkdir()
    with pytest.raises(batch.ArchiveError, match="archive bomb"):
        batch.extract_zip(str(path), str(tmp_path / "dest"))
    assert os.listdir(tmp_path / "dest") == []


def test_an_archive_unpacks_to_its_single_top_folder_or_itself(tmp_path):
    nested = make_zip(tmp_path / "a.zip", {"hw1/attention.py": "A\n", "__MACOSX/hw1/._attention.py": ""})
    flat = make_zip(tmp_path / "b.zip", {"attention.py": "B\n", "notes/readme.txt": ""})
    for path, folder, text in ((nested, "hw1", "A\n"), (flat, "", "B\n")):
        dest = tmp_path / f"dest-{folder or 'flat'}"
        dest.mkdir()
        found = batch.extract_zip(path, str(dest))
        assert found == (os.path.join(str(dest), folder) if folder else str(dest))
        assert open(os.path.join(found, "attention.py")).read() == text
    (tmp_path / "c.zip").write_bytes(b"not a zip")
    with pytest.raises(batch.ArchiveError, match="not a readable zip archive"):
        batch.extract_zip(str(tmp_path / "c.zip"), str(tmp_path))


def test_a_batch_records_each_refused_archive_and_grades_the_rest(tmp_path, grading):
    root = make_class(tmp_path / "root", {"ann": "CORRECT"})
    outside = f"/tmp/autograder-evil-{uuid.uuid4().hex}.py"
    make_zip(tmp_path / "root" / "abs.zip", {outside: "x = 1\n"})
    make_zip(tmp_path / "root" / "dots.zip", {"../../escaped.py": "x = 1\n"})
    make_zip(tmp_path / "root" / "link.zip", {}, links=("attention.py",))
    make_zip(tmp_path / "root" / "ok.zip", {"attention.py": "# ok CORRECT\n"})
    grader = FakeGrader()
    fake_run(root, tmp_path / "out", grading, grader)
    rows = read_gradebook(tmp_path / "out")
    assert sorted(grader.calls) == ["ann", "ok"]
    assert {k: v["status"].split(":")[0] for k, v in rows.items()} == {
        "abs": "bad archive", "ann": "graded", "dots": "bad archive", "link": "bad archive", "ok": "graded"}
    assert "absolute path" in rows["abs"]["status"] and "symbolic link" in rows["link"]["status"]
    assert not os.path.exists(outside) and not (tmp_path / "escaped.py").exists()
    assert not (tmp_path.parent / "escaped.py").exists()


# --------------------------------------------------------------------------- class report and gradebook

def record(sid, status="graded", hints=(), score=60.0, passed_hint=False):
    tests = [{"name": f"t{i}", "score": 0.0, "max_score": 10.0, "status": "failed", "exercise": exercise,
              "message": f"attention.{exercise}: output differs\n  {hint}"} for i, (exercise, hint) in enumerate(hints)]
    if passed_hint:  # a hint in a passed test's message is not a mistake
        tests.append({"name": "p", "score": 10.0, "max_score": 10.0, "status": "passed", "exercise": "softmax",
                      "message": "hint: ignore me"})
    topics = {"attention": {"score": score, "max_score": 60.0, "tests": tests}} if status == "graded" else {}
    return {"student": sid, "status": status, "score": score if status == "graded" else 0, "max_score": 60.0,
            "topics": topics}


def test_misconceptions_are_counted_once_per_student():
    sdpa = "scaled_dot_product_attention"
    records = {
        "a": record("a", hints=[(sdpa, SCALING_HINT), (sdpa, SCALING_HINT)], score=40, passed_hint=True),
        "b": record("b", hints=[(sdpa, SCALING_HINT), ("softmax", "hint: subtract the row max before exp.")],
                    score=20),
        "c": record("c", hints=[(sdpa, "hint: your gradient w.r.t. q equals attention without the 1/sqrt(E) "
                                       "scaling.")], score=50),
        "d": record("d", score=60),
        "e": record("e", status="bad archive: too many members"),
    }
    summary = batch.summarize(records)
    assert summary.mistakes == [(f"attention.{sdpa}", "attention without the 1/sqrt(E) scaling", 3),
                                ("attention.softmax", "subtract the row max before exp", 1)]
    assert summary.failed_exercises == [(f"attention.{sdpa}", 3), ("attention.softmax", 1)]
    assert summary.graded == 4 and summary.not_graded == {"e": "bad archive: too many members"}
    assert summary.topics["attention"] == {"n": 4, "mean": 42.5, "median": 45.0, "min": 20, "max": 60,
                                           "max_score": 60.0}
    md = batch.class_report_md(summary)
    assert f"- 3 students: attention without the 1/sqrt(E) scaling (`attention.{sdpa}`)" in md
    assert "| attention | 4 | 42.5 | 45 | 20 | 60 | 60 |" in md
    assert "- `e`: bad archive: too many members" in md


def test_a_histogram_counts_each_tenth_of_the_score_and_full_marks_in_the_last():
    assert batch.histogram([0, 5.9, 6, 30, 59.99, 60, 60], 60) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 3]
    assert batch.histogram([], 60) == [0] * 10
    assert [batch.bin_label(i, 10, 60) for i in (0, 1, 9)] == ["[0, 6)", "[6, 12)", "[54, 60]"]
    assert batch.bin_label(0, 3, 10) == "[0, 3.33)"


def svg_bars(svg: str) -> list[tuple[float, float, str]]:
    """(x, height, tooltip) of each bar of an SVG histogram, parsed as XML."""
    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return [(float(r.get("x")), float(r.get("height")), r.find("svg:title", ns).text)
            for r in root.findall("svg:rect[@class='bar']", ns)]


def class_of(scores: dict[str, float]) -> dict[str, dict]:
    return {sid: record(sid, score=score) for sid, score in scores.items()}


def test_the_html_report_draws_each_topics_scores_as_an_svg_histogram():
    scores = {"a": 60, "b": 60, "c": 60, "d": 0, "e": 31, "f": 33.5}
    records = class_of(scores)
    records["g"] = record("g", status="bad archive: x")  # not graded: not in the picture
    page = batch.class_report_html(batch.summarize(records))
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 1 and "<figure id='histogram-attention'>" in page
    bars = svg_bars(svgs[0])
    assert [x for x, _, _ in bars] == sorted(x for x, _, _ in bars) and len(bars) == 10  # left to right
    counts = [0] * 10
    for score in scores.values():  # the tenth of 60 points each score falls in
        counts[min(9, int(score // 6))] += 1
    heights = [h for _, h, _ in bars]
    assert heights.index(max(heights)) == 9 and max(heights) == batch.PLOT_HEIGHT
    for (_, height, tooltip), n in zip(bars, counts):
        assert height == pytest.approx(batch.PLOT_HEIGHT * n / max(counts), abs=0.01)
        assert tooltip.endswith(": 1 student" if n == 1 else f": {n} students")
    assert bars[5][2] == "[30, 36): 2 students" and bars[9][2] == "[54, 60]: 3 students"
    assert "<script" not in page and "src=" not in page and "href=" not in page  # still self-contained


def test_the_markdown_report_has_a_text_histogram_per_topic():
    records = class_of({"a": 60, "b": 60, "c": 0, "d": 40})
    records["a"]["topics"]["mlp"] = {"score": 5, "max_score": 10.0, "tests": []}
    md = batch.class_report_md(batch.summarize(records))
    blocks = re.findall(r"^(\w+) \(students per tenth of (\d+) points\):\n\n```text\n(.*?)```", md, re.S | re.M)
    assert [(topic, out_of) for topic, out_of, _ in blocks] == [("attention", "60"), ("mlp", "10")]
    lines = blocks[0][2].splitlines()
    assert len(lines) == 10 and lines[0].split() == ["[0,", "6)", "█" * 15, "1"]
    assert lines[6].split() == ["[36,", "42)", "█" * 15, "1"] and lines[9].split() == ["[54,", "60]", "█" * 30, "2"]
    assert lines[3].split() == ["[18,", "24)", "0"]
    assert blocks[1][2].splitlines()[5].split() == ["[5,", "6)", "█" * 30, "1"]


def test_gradebook_lists_topics_in_course_order_and_leaves_faults_empty():
    a = record("a", score=40)
    a["topics"]["mlp"] = {"score": 7.5, "max_score": 10.0, "tests": []}
    a["score"] = 47.5
    fault = {"student": "z", "status": "grader fault: OSError: disk full", "score": None, "max_score": 60.0,
             "topics": {}}
    text = batch.gradebook_csv({"z": fault, "a": a, "b": record("b", status="bad archive: x")},
                               list(config.TOPICS))
    assert text.splitlines() == ["student,mlp,attention,total,max_score,status",
                                 "a,7.5,40,47.5,60,graded",
                                 "b,,,0,60,bad archive: x",
                                 "z,,,,60,grader fault: OSError: disk full"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "gradebook.csv"
    batch.write_atomic(str(path), "old\n")
    with pytest.raises(TypeError):
        batch.write_atomic(str(path), b"new")  # fails mid-way
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["gradebook.csv"]
    batch.write_atomic(str(path), "new\n")
    assert path.read_text() == "new\n" and os.listdir(tmp_path) == ["gradebook.csv"]


def test_a_cancelled_grade_starts_no_judge_not_even_the_direct_retry(tmp_path, monkeypatch):
    cancel = threading.Event()
    cancel.set()
    started = []
    monkeypatch.setattr(judge.zygote, "start_judge", lambda *args, **kwargs: started.append("forked"))
    monkeypatch.setattr(judge.subprocess, "Popen", lambda *args, **kwargs: started.append("direct"))
    for forked in (True, False):
        with pytest.raises(judge.Cancelled):
            judge._run_judge([sys.executable, "-m", "pytest"], {}, str(tmp_path / "judge.log"), 10.0, cancel,
                             forked=forked)
    assert started == []


@pytest.mark.parametrize("jobs, threads", [(1, None), (2, 1)])
def test_students_graded_at_once_share_the_cores_with_one_thread_each(tmp_path, grading, jobs, threads):
    root = make_class(tmp_path / "class", {"ann": "CORRECT", "bob": "WRONG", "cy": "CORRECT"})
    grader = FakeGrader()
    fake_run(root, tmp_path / "out", grading, grader, jobs=jobs)
    assert grader.threads == [threads] * 3
