"""How fast the grader grades: prints figures and writes BENCHMARKS.md. A measurement, not a test.

``python bench/bench.py [--repeats N] [--batch N] [--validate] [--topics a,b] [--out FILE]`` (``make bench``) measures,
each a median over N repeats (wall and CPU time, the CPU of every process the step started):

1. ``grade`` of ``solutions/`` on the hidden suite (``--jobs 1``), per topic and in total, and the whole
   grade as run by default (``--jobs 2``);
2. the same hidden tests in one plain in-process pytest (``pytest autograder/hidden --impl solutions``),
   and the ratio of the two, per topic and in total (the cost of isolation);
3. nbgrader's ``autograde`` of the course ``python -m autograder nbgrader COURSE`` writes, one student who
   submits the solutions, against ``grade`` of the same modules (every suite): nbgrader's cells call the same
   grader, so the ratio is what nbgrader adds around it;
4. ``batch`` of ``--batch`` copies of the solutions (default 20; 0 skips it) at ``--jobs 1`` and ``--jobs 2``,
   on the hidden suite of ``--batch-topics`` (default: attention, so that the step takes minutes, not an hour);
5. with ``--validate``, the whole ``validate`` (long; it rewrites ``autograder/timings.json``, which is
   put back afterwards);

and the peak memory (max RSS) of a judge and of a worker, sampled while the grades run. Figures are
compared with the targets below. Measure on a quiet machine: the file records the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from autograder import config as config_mod  # noqa: E402
from autograder import sandbox  # noqa: E402

PYTHON = sys.executable
SOLUTIONS = os.path.join(REPO_ROOT, "solutions")
TARGETS = {"hidden grade of the solutions, --jobs 2 (s, wall)": 30.0, "validate (s, wall)": 360.0,
           "batch throughput (--jobs 2 / --jobs 1)": 1.8, "nbgrader autograde / grade of the same course (wall)": 10.0,
           "isolation overhead (grade / in-process pytest, wall)": 1.3,
           "isolation overhead (grade / in-process pytest, CPU)": 1.3}
FLOORS = {"batch throughput (--jobs 2 / --jobs 1)", "nbgrader autograde / grade of the same course (wall)"}  # targets a figure must reach, not stay under


# --------------------------------------------------------------------------- measuring

class Measured:
    """Wall and CPU seconds of one command (CPU: user + system of every process it started)."""

    def __init__(self, argv: list[str], cwd: str = REPO_ROOT, env: dict | None = None):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        self.done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
        self.wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if self.done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv[:6])} … exited {self.done.returncode}:\n{self.done.stderr[-2000:]}")


class PeakMemory:
    """Samples the peak RSS (VmHWM) of judges and workers while a step runs: the processes the fork servers
    forked (or, without them, ``pytest … --worker`` judges and ``autograder.worker`` workers)."""

    def __init__(self):
        self.peak = {"judge": 0, "worker": 0}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            for pid in (p for p in os.listdir("/proc") if p.isdigit()):
                kind = _kind(pid)
                if kind:
                    self.peak[kind] = max(self.peak[kind], _hwm_kib(pid))


def _read(pid: str, what: str) -> str:
    try:
        with open(f"/proc/{pid}/{what}", "rb") as f:
            return f.read().decode(errors="replace").replace("\0", " ")
    except OSError:
        return ""


def _kind(pid: str) -> str | None:
    command = _read(pid, "cmdline")
    parent = re.search(r"PPid:\s+(\d+)", _read(pid, "status"))
    forked = parent is not None and "autograder.zygote" in _read(parent.group(1), "cmdline")
    if "--worker" in command or ("autograder.zygote judge" in command and forked):
        return "judge"
    if "autograder.worker" in command or ("autograder.zygote worker" in command and forked):
        return "worker"
    return None


def _hwm_kib(pid: str) -> int:
    found = re.search(r"VmHWM:\s+(\d+)", _read(pid, "status"))
    return int(found.group(1)) if found else 0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- the steps

def grade_solutions(repeats: int, workdir: str, topics_arg: list[str], jobs: int = 1) -> dict:
    walls, cpus, topics = [], [], {}
    for i in range(repeats):
        out = os.path.join(workdir, f"grade-{jobs}-{i}.json")
        m = Measured([PYTHON, "-m", "autograder", "grade", SOLUTIONS, "--suite", "hidden", "--jobs", str(jobs),
                      "--format", "json", "--out", out, *topics_arg])
        with open(out, encoding="utf-8") as f:
            report = json.load(f)
        if report["score"] != report["max_score"]:
            print(f"  note: the solutions scored {report['score']}/{report['max_score']} (a loaded machine?)")
        walls.append(m.wall)
        cpus.append(m.cpu)
        for topic, data in report["topics"].items():
            topics.setdefault(topic, []).append(data["seconds"])
    return {"wall": median(walls), "cpu": median(cpus), "topics": {t: median(v) for t, v in topics.items()},
            "level": report["sandbox"]["level"]}


def plain_pytest(repeats: int, workdir: str, files: list[str]) -> dict:
    walls, cpus, topics = [], [], {}
    for i in range(repeats):
        xml = os.path.join(workdir, f"pytest-{i}.xml")
        m = Measured([PYTHON, "-m", "pytest", *files, "--impl", SOLUTIONS, "-q", "-p",
                      "no:cacheprovider", "--junitxml", xml])
        walls.append(m.wall)
        cpus.append(m.cpu)
        per_topic: dict[str, float] = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            topic = case.get("classname", "").rsplit(".", 1)[-1].removeprefix("test_")
            per_topic[topic] = per_topic.get(topic, 0.0) + float(case.get("time", 0))
        for topic, seconds in per_topic.items():
            topics.setdefault(topic, []).append(seconds)
    return {"wall": median(walls), "cpu": median(cpus), "topics": {t: median(v) for t, v in topics.items()}}


def nbgrader_autograde(workdir: str, topics: list[str]) -> dict | str:
    """nbgrader's ``autograde`` of the course ``python -m autograder nbgrader COURSE`` writes (README: "An nbgrader
    course"), one student who submits the solutions in the released notebooks, against ``grade`` of the same
    modules on the same suites. Returns the figures, or why this step is skipped."""
    course = os.path.join(workdir, "course")
    env = {**os.environ, "PATH": os.pathsep.join((os.path.dirname(PYTHON), os.environ.get("PATH", "")))}
    made = subprocess.run([PYTHON, "-m", "autograder", "nbgrader", course], cwd=REPO_ROOT, capture_output=True,
                          text=True)
    if made.returncode != 0:
        last = (made.stderr.strip().splitlines() or ["no message"])[-1]
        return f"skipped: `python -m autograder nbgrader` is not available here ({last[-200:]})"
    released = subprocess.run([PYTHON, "-m", "nbgrader", "generate_assignment", "--log-level=WARN"], cwd=course,
                              capture_output=True, text=True, env=env)
    if released.returncode != 0:
        return f"skipped: nbgrader generate_assignment failed ({released.stderr.strip()[-200:]})"
    from autograder import nbgrader_course, source
    modules = os.path.join(workdir, "nbgrader-modules")
    submitted = os.path.join(course, "submitted", "solutions", nbgrader_course.ASSIGNMENT)
    os.makedirs(modules)
    os.makedirs(submitted)
    for topic in topics:
        with open(os.path.join(course, "release", nbgrader_course.ASSIGNMENT, f"{topic}.ipynb"), encoding="utf-8") as f:
            notebook = json.load(f)
        with open(os.path.join(SOLUTIONS, f"{topic}.py"), encoding="utf-8") as f:
            module = source.strip_markers(f.read())
        answer = next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "answer")
        answer["source"] = f"%%topic {topic}\n{module}"
        with open(os.path.join(submitted, f"{topic}.ipynb"), "w", encoding="utf-8") as f:
            json.dump(notebook, f)
        with open(os.path.join(modules, f"{topic}.py"), "w", encoding="utf-8") as f:
            f.write(module)
    graded = Measured([PYTHON, "-m", "nbgrader", "autograde", "--log-level=WARN"], cwd=course, env=env)
    ours = Measured([PYTHON, "-m", "autograder", "grade", modules, "--suite", "all", "--topics", ",".join(topics),
                     "--device", "cpu"])
    return {"wall": graded.wall, "cpu": graded.cpu, "grade_wall": ours.wall, "grade_cpu": ours.cpu}


def batch(copies: int, jobs: int, workdir: str, topics_arg: list[str]) -> dict:
    root = os.path.join(workdir, f"class-{jobs}")
    for n in range(copies):
        student = os.path.join(root, f"student{n:02d}")
        os.makedirs(student)
        for name in os.listdir(SOLUTIONS):
            if name.endswith(".py"):
                shutil.copyfile(os.path.join(SOLUTIONS, name), os.path.join(student, name))
    m = Measured([PYTHON, "-m", "autograder", "batch", root, "--out", os.path.join(workdir, f"batch-{jobs}"),
                  "--jobs", str(jobs), "--suite", "hidden", *topics_arg])
    return {"wall": m.wall, "cpu": m.cpu, "per_student_wall": m.wall / copies}


def validate_all() -> dict:
    timings = os.path.join(REPO_ROOT, "autograder", "timings.json")
    with open(timings, encoding="utf-8") as f:
        kept = f.read()
    try:
        m = Measured([PYTHON, "-m", "autograder", "validate"])
    finally:
        with open(timings, "w", encoding="utf-8") as f:
            f.write(kept)
    return {"wall": m.wall, "cpu": m.cpu, "ok": m.done.returncode == 0}


# --------------------------------------------------------------------------- the report

def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        found = re.search(r"model name\s*:\s*(.+)", f.read())
        model = found.group(1).strip() if found else platform.processor()
    torch_version = subprocess.run([PYTHON, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                                   text=True).stdout.strip()
    return {"cores": os.cpu_count(), "cpu": model, "torch": torch_version, "python": platform.python_version(),
            "sandbox": sandbox.best_level(), "load average at the start (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def render(figures: dict) -> str:
    lines = ["# Benchmarks", "", "Written by `python bench/bench.py` (`make bench`); medians over "
             f"{figures['repeats']} repeats. CPU: user + system time of every process a step started. "
             f"Topics: {', '.join(figures['topics'])}.", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in figures["machine"].items()]
    grade, plain = figures["grade"], figures["pytest"]
    lines += ["", f"## Hidden suite of the solutions: `grade --jobs 1` (sandbox {grade['level']}) and one "
              "in-process pytest", "", "| topic | grade (s) | pytest (s) | ratio |", "| --- | --- | --- | --- |"]
    for topic, seconds in grade["topics"].items():
        inside = plain["topics"].get(topic, float("nan"))
        lines.append(f"| {topic} | {seconds:.2f} | {inside:.2f} | {seconds / inside:.2f} |")
    lines += ["", "| whole suite | wall (s) | CPU (s) |", "| --- | --- | --- |",
              f"| grade | {grade['wall']:.1f} | {grade['cpu']:.1f} |",
              f"| in-process pytest | {plain['wall']:.1f} | {plain['cpu']:.1f} |",
              f"| ratio | {grade['wall'] / plain['wall']:.2f} | {grade['cpu'] / plain['cpu']:.2f} |"]
    lines += ["", "## Other steps", ""]
    nb = figures["nbgrader"]
    lines.append("- nbgrader autograde of the course (one student submitting the solutions): " + (
        nb if isinstance(nb, str) else f"{nb['wall']:.1f} s wall, {nb['cpu']:.1f} s CPU; `grade --suite all` of the "
        f"same modules: {nb['grade_wall']:.1f} s wall, {nb['grade_cpu']:.1f} s CPU"))
    grade2 = figures["grade2"]
    lines.append(f"- the whole hidden grade as run by default (`--jobs 2`): {grade2['wall']:.1f} s wall, "
                 f"{grade2['cpu']:.1f} s CPU")
    for jobs, data in figures.get("batch", {}).items():
        lines.append(f"- batch of {figures['copies']} copies of the solutions ({figures['batch_topics']}, hidden suite), "
                     f"--jobs {jobs}: {data['wall']:.1f} s wall "
                     f"({data['per_student_wall']:.1f} s a student), {data['cpu']:.1f} s CPU")
    if "validate" in figures:
        v = figures["validate"]
        lines.append(f"- validate: {v['wall']:.1f} s wall, {v['cpu']:.1f} s CPU ({'all checks hold' if v['ok'] else 'FAILED'})")
    else:
        lines.append("- validate: not measured (`--validate`)")
    memory = figures["memory"]
    lines.append(f"- peak memory (max RSS): judge {memory['judge'] / 1024:.0f} MiB, worker {memory['worker'] / 1024:.0f} MiB")
    lines += ["", "## Against the targets", ""]
    lines += [_against(name, value) for name, value in figures["against"].items()]
    return "\n".join(lines) + "\n"


def _against(name: str, value: float) -> str:
    floor = name in FLOORS
    met = value >= TARGETS[name] if floor else value <= TARGETS[name]
    return f"- {name}: {value:.2f} (target {'≥' if floor else '≤'} {TARGETS[name]:g}): {'met' if met else 'NOT met'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="repeats of the grade and pytest steps (median)")
    parser.add_argument("--batch", type=int, default=20, help="copies of the solutions in the batch step (0: skip)")
    parser.add_argument("--batch-topics", default="attention", help="comma-separated topics the batch step grades")
    parser.add_argument("--validate", action="store_true", help="also time the whole validate (long)")
    parser.add_argument("--topics", default=None, help="comma-separated topics (default: all)")
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "BENCHMARKS.md"), help="where the report goes")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.batch < 0:
        print("bench: --repeats must be at least 1 and --batch at least 0", file=sys.stderr)
        return 2
    grading = config_mod.load()  # a broken grading.yml stops here, with its message
    topics = args.topics.split(",") if args.topics else list(grading.topics)
    unknown = [t for t in topics if t not in grading.topics]
    if unknown:
        print(f"bench: unknown topics {', '.join(unknown)} (topics: {', '.join(grading.topics)})", file=sys.stderr)
        return 2
    topics_arg = ["--topics", ",".join(topics)]
    files = [os.path.join("autograder", "hidden", f"test_{t}.py") for t in topics]
    figures: dict = {"repeats": args.repeats, "copies": args.batch, "batch_topics": args.batch_topics,
                     "machine": machine(), "topics": topics}
    print("machine:", figures["machine"], flush=True)
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as workdir:
        with PeakMemory() as memory:
            figures["grade"] = grade_solutions(args.repeats, workdir, topics_arg)
            figures["grade2"] = grade_solutions(args.repeats, workdir, topics_arg, jobs=2)
        print(f"grade, hidden suite: {figures['grade']['wall']:.1f} s wall, {figures['grade']['cpu']:.1f} s CPU; "
              f"--jobs 2: {figures['grade2']['wall']:.1f} s wall", flush=True)
        figures["pytest"] = plain_pytest(args.repeats, workdir, files)
        print(f"in-process pytest: {figures['pytest']['wall']:.1f} s wall, {figures['pytest']['cpu']:.1f} s CPU",
              flush=True)
        figures["nbgrader"] = nbgrader_autograde(workdir, topics)
        print("nbgrader autograde:", figures["nbgrader"], flush=True)
        if args.batch:
            figures["batch"] = {}
            for jobs in (1, 2):
                figures["batch"][jobs] = batch(args.batch, jobs, workdir, ["--topics", args.batch_topics])
                print(f"batch --jobs {jobs}:", figures["batch"][jobs], flush=True)
        if args.validate:
            figures["validate"] = validate_all()
            print("validate:", figures["validate"], flush=True)
        figures["memory"] = memory.peak
    figures["machine"]["load average at the end (1, 5, 15 min)"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    figures["against"] = {
        "hidden grade of the solutions, --jobs 2 (s, wall)": figures["grade2"]["wall"],
        "isolation overhead (grade / in-process pytest, wall)": figures["grade"]["wall"] / figures["pytest"]["wall"],
        "isolation overhead (grade / in-process pytest, CPU)": figures["grade"]["cpu"] / figures["pytest"]["cpu"],
    }
    if "validate" in figures:
        figures["against"]["validate (s, wall)"] = figures["validate"]["wall"]
    if isinstance(figures["nbgrader"], dict):
        nb = figures["nbgrader"]
        figures["against"]["nbgrader autograde / grade of the same course (wall)"] = nb["wall"] / nb["grade_wall"]
    if "batch" in figures:  # a throughput ratio: higher is better, so its target is a floor
        figures["against"]["batch throughput (--jobs 2 / --jobs 1)"] = figures["batch"][1]["wall"] / figures["batch"][2]["wall"]
    text = render(figures)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
