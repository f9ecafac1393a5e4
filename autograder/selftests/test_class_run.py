"""A whole class, proven: 40 generated submissions (``synthetic_class``) graded by ``batch`` for real.

One module-scoped fixture grades the class three times, as a course would, all at once through
the command line (``--suite public``, the topics of ``synthetic_class.TOPICS``):

* a clean run: ``batch ROOT --out clean --jobs 2``;
* an interrupted run: the same command into ``resumed``, stopped by SIGTERM to its process group
  once half the students have their JSON, then the same command again (the resume);
* three shards, ``--shard 1/3`` … ``3/3`` (concurrently, one student at a time each), combined by
  ``merge --expected CLASS_LIST --strict``.

Each run has a temporary folder of its own (``TMPDIR``). Each test then checks one promise: the
resumed and the merged gradebooks equal the clean one; the stop left no temporary file, folder or
process; every student has a JSON and a feedback file; the class graded as its kinds say; the
class report draws a histogram per topic from the same scores.

The cost is about 120 gradings of one topic, nearly all of it the start of each topic's judge and
worker (some 4 CPU seconds each): about four minutes on two idle cores. Each topic added to
``TOPICS`` adds as much again.
"""
from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from xml.etree import ElementTree

import pytest

from autograder import config as config_mod
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import processes_mentioning
from autograder.selftests.synthetic_class import SIZE, TOPICS, make_class, make_class_config

SVG = "{http://www.w3.org/2000/svg}"


def start_batch(root, out, env: dict, *extra: str) -> subprocess.Popen:
    """``python -m autograder batch`` in a process group of its own (so a signal reaches the whole run)."""
    args = [sys.executable, "-m", "autograder", "batch", str(root), "--out", str(out), "--suite", "public",
            "--topics", ",".join(TOPICS), *extra]
    return subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 1200) -> tuple[int, str, str]:
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stdout, stderr


def student_files(out) -> list[str]:
    folder = os.path.join(out, "students")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def leftovers(tmp: str, settle: float = 10.0) -> tuple[list[str], list[str]]:
    """What a run left in its temporary folder, and its processes still alive (after ``settle`` seconds
    for the kernel to finish killing them)."""
    deadline = time.monotonic() + settle
    while True:
        found = (sorted(os.listdir(tmp)), processes_mentioning(tmp))
        if found == ([], []) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("classrun")
    root = base / "root"
    kinds = make_class(str(root))
    config = make_class_config(str(base))
    tmps = {name: base / "tmp" / name for name in ("clean", "resumed", "shard1", "shard2", "shard3")}
    envs = {}
    for name, tmp in tmps.items():
        tmp.mkdir(parents=True)
        envs[name] = {**os.environ, "AUTOGRADER_CONFIG": config, "TMPDIR": str(tmp)}
    started = time.monotonic()
    procs: list[subprocess.Popen] = []
    try:
        procs.append(clean := start_batch(root, base / "clean", envs["clean"], "--jobs", "2"))
        shards = [start_batch(root, base / f"shard{i}", envs[f"shard{i}"], "--jobs", "1", "--shard", f"{i}/3")
                  for i in (1, 2, 3)]
        procs += shards

        # the interrupted run: SIGTERM to its process group once half the class has its JSON
        procs.append(interrupted := start_batch(root, base / "resumed", envs["resumed"], "--jobs", "2"))
        while len([n for n in student_files(base / "resumed") if n.endswith(".json")]) < SIZE // 2:
            assert interrupted.poll() is None, finish(interrupted)
            time.sleep(0.2)
        at_signal = [n for n in student_files(base / "resumed") if n.endswith(".json")]
        os.killpg(interrupted.pid, signal.SIGTERM)
        stopped = finish(interrupted, timeout=120)
        after_stop = {"files": student_files(base / "resumed"), "left": leftovers(str(tmps["resumed"]))}
        procs.append(resume := start_batch(root, base / "resumed", envs["resumed"], "--jobs", "2"))
        resumed = finish(resume)
        results = {"clean": finish(clean), "shards": [finish(p) for p in shards]}
    finally:  # a failure above stops the runs still going, as a scheduler would
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.communicate(timeout=120)
    expected = base / "class.txt"
    expected.write_text("".join(f"{sid}\n" for sid in kinds))
    merged = subprocess.run([sys.executable, "-m", "autograder", "merge",
                             *(str(base / f"shard{i}") for i in (1, 2, 3)), "--out", str(base / "merged"),
                             "--expected", str(expected), "--strict"],
                            cwd=REPO_ROOT, env=envs["clean"], capture_output=True, text=True, timeout=300)
    print(f"class of {SIZE} graded three times in {time.monotonic() - started:.0f} s")
    return {"base": base, "kinds": kinds, "grading": config_mod.load(config), "tmps": tmps,
            "at_signal": at_signal, "stopped": stopped, "after_stop": after_stop, "resumed": resumed,
            "merged": merged, **results}


def gradebook(out) -> dict[str, dict]:
    with open(os.path.join(out, "gradebook.csv"), newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_every_run_grades_the_whole_class(runs):
    code, stdout, stderr = runs["clean"]
    assert code == 0, stderr[-3000:]
    assert f"{SIZE} students processed ({SIZE - 1} graded, 1 not)" in stdout  # the bad archive
    for code, stdout, stderr in runs["shards"]:
        assert code == 0 and "students processed" in stdout, stderr[-3000:]
    assert runs["merged"].returncode == 0, runs["merged"].stdout + runs["merged"].stderr
    assert f"merged {SIZE} students from 3 folders" in runs["merged"].stdout
    assert "missing:" not in runs["merged"].stdout and "graded twice" not in runs["merged"].stdout


def test_sigterm_stops_the_batch_half_way_and_leaves_nothing_behind(runs):
    code, _, stderr = runs["stopped"]
    assert code == 128 + signal.SIGTERM, stderr[-3000:]
    assert "batch interrupted by SIGTERM" in stderr and "the same command resumes" in stderr
    files = runs["after_stop"]["files"]
    graded = [n for n in files if n.endswith(".json")]
    assert SIZE // 2 <= len(graded) < SIZE  # stopped half-way
    assert len(graded) <= len(runs["at_signal"]) + 2  # at most the two in progress finished meanwhile
    assert files == sorted(n for sid in (g[:-5] for g in graded) for n in (f"{sid}.json", f"{sid}.txt"))
    tmp_left, processes = runs["after_stop"]["left"]
    assert tmp_left == [], f"temporary files left in {runs['tmps']['resumed']}: {tmp_left}"
    assert processes == [], processes


def test_the_resumed_run_grades_only_the_rest_and_equals_the_clean_run(runs):
    code, stdout, stderr = runs["resumed"]
    assert code == 0, stderr[-3000:]
    before = len([n for n in runs["after_stop"]["files"] if n.endswith(".json")])
    assert f"skipping {before} already graded" in stderr
    assert f"{SIZE - before} students processed" in stdout
    base = runs["base"]
    assert (base / "resumed" / "gradebook.csv").read_text() == (base / "clean" / "gradebook.csv").read_text()
    assert (base / "resumed" / "class_report.md").read_text() == (base / "clean" / "class_report.md").read_text()


def test_the_merged_shards_equal_the_clean_run(runs):
    base = runs["base"]
    shard_ids = [set(gradebook(base / f"shard{i}")) for i in (1, 2, 3)]
    assert max(map(len, shard_ids)) - min(map(len, shard_ids)) <= 1  # round robin
    assert set.union(*shard_ids) == set(runs["kinds"]) and sum(map(len, shard_ids)) == SIZE  # a partition
    for name in ("gradebook.csv", "class_report.md", "class_report.html"):
        assert (base / "merged" / name).read_text() == (base / "clean" / name).read_text(), name


@pytest.mark.parametrize("out", ["clean", "resumed", "merged"])
def test_every_student_has_a_json_and_a_feedback_file_and_no_temporary_is_left(runs, out):
    expected = sorted(f"{sid}.{ext}" for sid in runs["kinds"] for ext in ("json", "txt"))
    assert student_files(runs["base"] / out) == expected  # no .tmp file of an interrupted write either
    if out != "merged":
        assert leftovers(str(runs["tmps"][out]), settle=0) == ([], [])


def test_the_class_graded_as_its_kinds_say(runs):
    rows = gradebook(runs["base"] / "clean")
    full = {t: runs["grading"].topics[t].max_score for t in TOPICS}
    first = TOPICS[0]
    for sid, kind in runs["kinds"].items():
        row = rows[sid]
        scores = {t: float(row[t]) for t in TOPICS if row[t] != ""}
        if kind == "bad-archive":
            assert row["status"].startswith("bad archive: member '../escaped.py' leaves") and row["total"] == "0"
            continue
        assert row["status"] == "graded", (sid, row["status"])
        family = kind.split("-")[0]
        if family == "correct":
            assert scores == full, sid
        elif family == "stub" or kind == "broken-empty":
            assert scores == {t: 0.0 for t in TOPICS}, sid
        elif family in ("partly", "mutant"):  # one exercise unfinished or wrong: its topic loses some points
            wrong = [t for t in TOPICS if scores[t] < full[t]]
            assert len(wrong) == 1 and scores[wrong[0]] > 0, (sid, scores)
        else:  # broken and hostile: the first topic scores nothing, the others keep full marks
            assert scores == {**full, first: 0.0}, (sid, scores)
    assert not [r for r in rows.values() if r["status"].startswith("grader fault")]


def test_the_class_report_draws_each_topics_scores_from_the_gradebook(runs):
    out = runs["base"] / "clean"
    rows = [r for r in gradebook(out).values() if r["status"] == "graded"]
    page = (out / "class_report.html").read_text()
    md = (out / "class_report.md").read_text()
    for topic in TOPICS:
        figure = re.search(rf"<figure id='histogram-{topic}'>(<svg .*?</svg>)", page, re.S)
        assert figure, f"no histogram for {topic}"
        bars = ElementTree.fromstring(figure[1]).findall(f"{SVG}rect[@class='bar']")
        counts = [int(re.search(r": (\d+) students?$", bar.find(f"{SVG}title").text)[1]) for bar in bars]
        heights = [float(bar.get("height")) for bar in bars]
        assert len(bars) == 10 and sum(counts) == len(rows)
        assert all(h == pytest.approx(max(heights) * n / max(counts), abs=0.01) for h, n in zip(heights, counts))
        scores = [float(r[topic]) for r in rows]
        top = runs["grading"].topics[topic].max_score
        assert counts[0] == sum(s < top / 10 for s in scores) and counts[-1] == sum(s >= top * 0.9 for s in scores)
        block = re.search(rf"^{topic} \(students per tenth of .*?```text\n(.*?)```", md, re.S | re.M)
        assert block and [int(line.split()[-1]) for line in block[1].splitlines()] == counts
