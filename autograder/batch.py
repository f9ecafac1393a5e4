"""Grading a whole class: one submission per student under a folder, results in another.

Steps, each a function:

1. :func:`discover` lists the students under ROOT: every folder (id = its name) and every
   ``.zip`` archive (id = its stem), sorted by id; :func:`shard` keeps a deterministic slice;
2. :func:`grade_student` unpacks an archive safely (:func:`extract_zip`: absolute paths,
   ``..`` members, links, too many members and too many bytes are refused, nothing is
   written outside a temporary folder), calls :func:`autograder.judge.grade` and writes
   ``students/<id>.json`` (the report, plus ``student`` and ``status``) and
   ``students/<id>.txt`` (the feedback) atomically;
3. :func:`run` grades the students whose JSON is not there yet or records a grader fault
   (all of them with ``force``), ``jobs`` at a time; one student's failure is recorded as its
   status and the batch goes on; SIGINT or SIGTERM stops it cleanly (:class:`Interrupted`);
4. :func:`write_outputs` rewrites ``gradebook.csv`` and ``class_report.md``/``.html`` (with a
   histogram of each topic's scores) from every student JSON present; :func:`merge` does the
   same for the union of several output folders (shards), reporting students graded twice or
   missing.

A student's status is ``graded``, ``bad archive: …`` (the student's upload cannot be
graded; scored 0) or ``grader fault: …`` (the grader failed; scores left empty; the next
run grades that student again, since a fault is not a result).
"""
from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
import re
import shutil
import signal
import stat
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable

from autograder import config as config_mod
from autograder import judge, report

GRADED = "graded"
FAULT = "grader fault"
MAX_MEMBERS = 1000              # members an archive may hold
MAX_UNPACKED_BYTES = 50 << 20   # bytes an archive may unpack to, all members together
IGNORED_TOP = ("__MACOSX",)     # folders archivers add next to the submission


class BatchError(Exception):
    """Bad input for the whole batch (an unreadable ROOT, two submissions with one id): exit code 2."""


class ArchiveError(Exception):
    """A student's archive cannot be unpacked safely; the message says why."""


class Interrupted(Exception):
    """A signal (SIGINT, SIGTERM) stopped the batch: no student was started after it, the students in
    progress were abandoned (no JSON, their processes killed, their temporary folders removed), and
    the same command resumes."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


@dataclass(frozen=True)
class Student:
    id: str
    path: str  # a folder, or a .zip archive

    @property
    def is_archive(self) -> bool:
        return self.path.endswith(".zip") and os.path.isfile(self.path)


# --------------------------------------------------------------------------- input

def discover(root: str) -> list[Student]:
    """The students under ``root``: each folder and each ``.zip`` file, sorted by id (hidden entries and
    ``__MACOSX`` skipped); two submissions with one id (``ann/`` and ``ann.zip``) are a :class:`BatchError`."""
    if not os.path.isdir(root):
        raise BatchError(f"submissions folder not found: {root}")
    found: dict[str, Student] = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.startswith(".") or name in IGNORED_TOP:
            continue
        if os.path.isdir(path):
            sid = name
        elif name.lower().endswith(".zip") and os.path.isfile(path):
            sid = name[:-4]
        else:
            continue  # e.g. an export's metadata file
        if sid in found:
            raise BatchError(f"two submissions for student {sid!r}: {found[sid].path} and {path}")
        found[sid] = Student(sid, path)
    return [found[k] for k in sorted(found)]


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with 1 <= I <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match:
        raise BatchError(f"--shard: expected I/N such as 2/5, got {text!r}")
    i, n = int(match[1]), int(match[2])
    if not 1 <= i <= n:
        raise BatchError(f"--shard: I must be between 1 and N, got {i}/{n}")
    return i, n


def shard(students: list[Student], i: int, n: int) -> list[Student]:
    """Shard ``i`` of ``n`` (1-based): the students at positions ``i-1, i-1+n, i-1+2n, …`` of the sorted ids
    (round robin, so each shard gets a spread of the alphabet and sizes differ by at most one)."""
    ordered = sorted(students, key=lambda s: s.id)
    return [s for index, s in enumerate(ordered) if index % n == i - 1]


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = re.split(r"[/\\]", name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return f"absolute path {name!r}"
    if ".." in parts:
        return f"member {name!r} leaves the archive's folder ('..')"
    if "\x00" in name:
        return f"member name with a NUL byte {name!r}"
    kind = stat.S_IFMT(info.external_attr >> 16)  # Unix file type; 0 when the archiver did not record one
    if kind == stat.S_IFLNK:
        return f"symbolic link {name!r}"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return f"special file {name!r}"
    return None


def extract_zip(path: str, dest: str, max_members: int = MAX_MEMBERS,
                max_bytes: int = MAX_UNPACKED_BYTES) -> str:
    """Unpack ``path`` into the empty folder ``dest`` and return the submission folder inside it.

    Every member is checked before anything is written; an absolute path, a ``..`` part, a link
    or special file, more than ``max_members`` members or more than ``max_bytes`` unpacked (as
    declared, and as actually read) raise :class:`ArchiveError`. A single top folder (``alice/``,
    ignoring ``__MACOSX/``) is the submission; otherwise ``dest`` itself.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"not a readable zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise ArchiveError(f"too many members ({len(infos)} > {max_members})")
        for info in infos:
            problem = _member_problem(info)
            if problem:
                raise ArchiveError(problem)
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            raise ArchiveError(f"unpacks to {declared} bytes (limit {max_bytes}): an archive bomb?")
        root = os.path.realpath(dest)
        written = 0
        for info in infos:
            parts = [p for p in re.split(r"[/\\]", info.filename) if p not in ("", ".")]
            if not parts:
                continue
            target = os.path.realpath(os.path.join(root, *parts))
            if os.path.commonpath([root, target]) != root:  # belt and braces after the checks above
                raise ArchiveError(f"member {info.filename!r} leaves the archive's folder")
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "xb") as out:
                    while chunk := src.read(1 << 16):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ArchiveError(f"unpacks to more than {max_bytes} bytes: an archive bomb?")
                        out.write(chunk)
            except FileExistsError:
                raise ArchiveError(f"member {info.filename!r} appears twice") from None
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                raise ArchiveError(f"cannot unpack {info.filename!r} ({exc})") from None
    entries = [e for e in os.listdir(dest) if e not in IGNORED_TOP]
    if len(entries) == 1 and os.path.isdir(os.path.join(dest, entries[0])):
        return os.path.join(dest, entries[0])
    return dest


# --------------------------------------------------------------------------- one student

def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a killed batch) sees the old file or the new, never half."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for the course staff to read
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def feedback(record: dict) -> str:
    """The readable feedback of one student: status, the score table, then every test that lost points."""
    lines = [f"student: {record['student']}", f"status: {record['status']}", ""]
    if not record.get("topics"):
        return "\n".join(lines) + "\n"
    text = report.to_table(record, width=200)
    failures = [f"{topic}: {t['name']} [{t['status']}] {_first_line(t['message'])}"
                for topic, data in record["topics"].items() for t in data["tests"] if t["status"] != "passed"]
    if failures:
        text += "\nTests that lost points:\n" + "".join(f"  {line}\n" for line in failures)
    return "\n".join(lines) + text


def _first_line(message: str) -> str:
    lines = message.strip().splitlines()
    return lines[0][:200] if lines else ""


def grade_student(student: Student, out: str, *, topics: list[str], suite: str, device: str,
                  grading: config_mod.Grading, level: str,
                  grade: Callable[..., dict] | None = None, cancel: threading.Event | None = None,
                  threads: int | None = None) -> dict:
    """Grade one student and write its JSON and feedback; never raises for the student's sake (only
    :class:`autograder.judge.Cancelled` once ``cancel`` is set, and then writes nothing). ``threads``: torch's
    threads in each of its judges and workers (default: torch's own number)."""
    grade = grade or judge.grade
    max_score = sum(grading.topics[t].max_score for t in topics)
    record: dict
    scratch = tempfile.mkdtemp(prefix="autograder-batch-")
    try:
        folder = student.path
        if student.is_archive:
            unpacked = os.path.join(scratch, "unpacked")
            os.makedirs(unpacked)
            folder = extract_zip(student.path, unpacked)
        result = grade(folder, topics=topics, suite=suite, device=device, grading=grading, jobs=1, level=level,
                       cancel=cancel, threads=threads)
        status = GRADED if not result.get("faults") else f"{FAULT}: {_first_line(result['faults'][0])}"
        record = {"student": student.id, "status": status, **result}
    except ArchiveError as exc:
        record = {"student": student.id, "status": f"bad archive: {exc}", "score": 0, "max_score": max_score,
                  "topics": {}}
    except judge.Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - one student's disaster never stops the batch
        record = {"student": student.id, "status": f"{FAULT}: {type(exc).__name__}: {exc}", "score": None,
                  "max_score": max_score, "topics": {}}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    students_dir = os.path.join(out, "students")
    write_atomic(os.path.join(students_dir, f"{student.id}.txt"), feedback(record))
    write_atomic(os.path.join(students_dir, f"{student.id}.json"), json.dumps(record, indent=2) + "\n")
    return record


# --------------------------------------------------------------------------- the class

def load_records(out: str) -> dict[str, dict]:
    """Every readable ``students/<id>.json`` under ``out``, by id (a file that does not parse is left out)."""
    folder = os.path.join(out, "students")
    records = {}
    if not os.path.isdir(folder):
        return records
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json") or name.startswith("."):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and "status" in record:
            records[name[:-5]] = record
    return records


def gradebook_csv(records: dict[str, dict], topic_order: list[str]) -> str:
    """One row per student (sorted): ``student``, one column per topic, ``total``, ``max_score``, ``status``."""
    seen = {t for r in records.values() for t in r.get("topics", {})}
    topics = [t for t in topic_order if t in seen] + sorted(seen - set(topic_order))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *topics, "total", "max_score", "status"])
    for sid in sorted(records):
        r = records[sid]
        cells = [report.fmt(r["topics"][t]["score"]) if t in r.get("topics", {}) else "" for t in topics]
        total = "" if r.get("score") is None else report.fmt(r["score"])
        max_score = "" if r.get("max_score") is None else report.fmt(r["max_score"])
        writer.writerow([sid, *cells, total, max_score, r["status"]])
    return buffer.getvalue()


_EQUALS = re.compile(r"^your .+? equals (.+?)\.?$")


def misconceptions(record: dict) -> set[tuple[str, str]]:
    """``(topic.exercise, mistake)`` for each hint in the student's failure messages (once per student)."""
    found = set()
    for topic, data in record.get("topics", {}).items():
        for t in data.get("tests", []):
            if t.get("status") == "passed":
                continue
            for line in t.get("message", "").splitlines():
                line = line.strip()
                if not line.startswith("hint:"):
                    continue
                text = line[len("hint:"):].strip()
                match = _EQUALS.match(text)
                found.add((f"{topic}.{t.get('exercise', '?')}", match[1] if match else text.rstrip(".")))
    return found


HISTOGRAM_BINS = 10


def histogram(values: list[float], max_score: float, bins: int = HISTOGRAM_BINS) -> list[int]:
    """How many ``values`` fall in each of ``bins`` equal parts of ``[0, max_score]``: part ``i`` holds
    ``i/bins <= value/max_score < (i+1)/bins``, the last one full marks too."""
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int(bins * value / max_score))) if max_score > 0 else 0] += 1
    return counts


def bin_label(i: int, bins: int, max_score: float) -> str:
    """Part ``i`` of a histogram as an interval of scores: ``[6, 12)``, the last one closed: ``[54, 60]``."""
    low, high = report.fmt(round(max_score * i / bins, 2)), report.fmt(round(max_score * (i + 1) / bins, 2))
    return f"[{low}, {high}]" if i == bins - 1 else f"[{low}, {high})"


@dataclass
class ClassSummary:
    graded: int
    not_graded: dict[str, str]                                           # id -> status
    topics: dict[str, dict] = field(default_factory=dict)                # topic -> mean/median/min/max/max_score/n
    histograms: dict[str, list[int]] = field(default_factory=dict)       # topic -> students per tenth of the score
    failed_exercises: list[tuple[str, int]] = field(default_factory=list)  # (topic.exercise, students)
    mistakes: list[tuple[str, str, int]] = field(default_factory=list)     # (topic.exercise, mistake, students)


def summarize(records: dict[str, dict]) -> ClassSummary:
    graded = {sid: r for sid, r in records.items() if r["status"] == GRADED}
    summary = ClassSummary(len(graded), {sid: r["status"] for sid, r in records.items() if r["status"] != GRADED})
    scores: dict[str, list[float]] = {}
    maxima: dict[str, float] = {}
    failed: dict[str, int] = {}
    mistakes: dict[tuple[str, str], int] = {}
    for r in graded.values():
        for topic, data in r["topics"].items():
            scores.setdefault(topic, []).append(data["score"])
            maxima[topic] = data["max_score"]
            lost = {t.get("exercise", "?") for t in data["tests"] if t["status"] != "passed"}
            for exercise in lost:
                failed[f"{topic}.{exercise}"] = failed.get(f"{topic}.{exercise}", 0) + 1
        for key in misconceptions(r):
            mistakes[key] = mistakes.get(key, 0) + 1
    for topic, values in scores.items():
        summary.topics[topic] = {"n": len(values), "mean": statistics.fmean(values),
                                 "median": statistics.median(values), "min": min(values), "max": max(values),
                                 "max_score": maxima[topic]}
        summary.histograms[topic] = histogram(values, maxima[topic])
    summary.failed_exercises = sorted(failed.items(), key=lambda kv: (-kv[1], kv[0]))
    summary.mistakes = sorted(((e, m, n) for (e, m), n in mistakes.items()), key=lambda x: (-x[2], x[0], x[1]))
    return summary


def _students(n: int) -> str:
    return f"{n} student" + ("" if n == 1 else "s")


def class_report_md(summary: ClassSummary, top: int = 15) -> str:
    out = ["# Class report", "",
           f"{_students(summary.graded)} graded, {len(summary.not_graded)} not graded.", ""]
    if summary.topics:
        out += ["## Scores per topic", "", "| topic | students | mean | median | min | max | out of |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for topic, s in summary.topics.items():
            out.append(f"| {topic} | {s['n']} | {report.fmt(round(s['mean'], 2))} | {report.fmt(s['median'])} | "
                       f"{report.fmt(s['min'])} | {report.fmt(s['max'])} | {report.fmt(s['max_score'])} |")
        out.append("")
        out += ["## Score distributions", ""]
        for topic, counts in summary.histograms.items():
            out += [f"{topic} (students per tenth of {report.fmt(summary.topics[topic]['max_score'])} points):",
                    "", "```text", *text_histogram(counts, summary.topics[topic]["max_score"]), "```", ""]
    if summary.failed_exercises:
        out += ["## Exercises most often failed", ""]
        out += [f"- {_students(n)}: `{e}`" for e, n in summary.failed_exercises[:top]]
        out.append("")
    if summary.mistakes:
        out += ["## Misconceptions (from the hints the tests matched)", ""]
        out += [f"- {_students(n)}: {m} (`{e}`)" for e, m, n in summary.mistakes[:top]]
        out.append("")
    if summary.not_graded:
        out += ["## Not graded", ""]
        out += [f"- `{sid}`: {status}" for sid, status in sorted(summary.not_graded.items())]
        out.append("")
    return "\n".join(out)


def text_histogram(counts: list[int], max_score: float, width: int = 30) -> list[str]:
    """One line per part of a histogram: its interval of scores, a bar of up to ``width`` blocks (one at
    least for a part that is not empty) and the count."""
    labels = [bin_label(i, len(counts), max_score) for i in range(len(counts))]
    pad = max(len(label) for label in labels)
    tallest = max(counts) or 1
    return [f"{label:>{pad}} {'█' * (max(1, round(width * n / tallest)) if n else 0):<{width}} {n}".rstrip()
            for label, n in zip(labels, counts)]


SVG_WIDTH, SVG_HEIGHT = 360, 150  # the whole picture
PLOT_LEFT, PLOT_TOP, PLOT_HEIGHT, PLOT_WIDTH = 36, 12, 100, 310  # the bars' area inside it


def svg_histogram(counts: list[int], max_score: float, title: str) -> str:
    """An inline SVG bar chart of ``counts`` (no script, no external reference): bar ``i`` is a
    ``<rect class="bar">`` whose height is ``PLOT_HEIGHT * counts[i] / max(counts)`` and whose tooltip
    names its interval of scores and its count; the axes are labelled with the counts and scores."""
    e = html.escape
    tallest = max(counts) or 1
    width = PLOT_WIDTH / len(counts)
    bottom = PLOT_TOP + PLOT_HEIGHT
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" width="{SVG_WIDTH}" '
             f'height="{SVG_HEIGHT}" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" role="img">',
             f"<title>{e(title)}</title>"]
    for i, n in enumerate(counts):
        height = PLOT_HEIGHT * n / tallest
        parts.append(f'<rect class="bar" x="{PLOT_LEFT + i * width + 1:.2f}" y="{bottom - height:.2f}" '
                     f'width="{width - 2:.2f}" height="{height:.2f}" fill="#4a7">'
                     f"<title>{e(bin_label(i, len(counts), max_score))}: {_students(n)}</title></rect>")
    parts += [f'<line x1="{PLOT_LEFT}" y1="{bottom}" x2="{PLOT_LEFT + PLOT_WIDTH}" y2="{bottom}" stroke="#333"/>',
              f'<line x1="{PLOT_LEFT}" y1="{PLOT_TOP}" x2="{PLOT_LEFT}" y2="{bottom}" stroke="#333"/>',
              f'<text x="{PLOT_LEFT - 4}" y="{PLOT_TOP + 8}" font-size="11" text-anchor="end">{tallest}</text>',
              f'<text x="{PLOT_LEFT - 4}" y="{bottom}" font-size="11" text-anchor="end">0</text>',
              f'<text x="{PLOT_LEFT}" y="{bottom + 14}" font-size="11">0</text>',
              f'<text x="{PLOT_LEFT + PLOT_WIDTH}" y="{bottom + 14}" font-size="11" text-anchor="end">'
              f"{report.fmt(max_score)}</text>",
              f'<text x="{PLOT_LEFT + PLOT_WIDTH / 2}" y="{bottom + 30}" font-size="11" text-anchor="middle">'
              "score</text>", "</svg>"]
    return "".join(parts)


def class_report_html(summary: ClassSummary, top: int = 15) -> str:
    """The same as :func:`class_report_md`, self-contained (no script, no external file), each topic's
    score distribution drawn as an inline SVG histogram (:func:`svg_histogram`)."""
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Class report</title><style>",
             "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}",
             "td,th{padding:.2em .6em;border-bottom:1px solid #ccc;text-align:right}td:first-child{text-align:left}",
             "figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>",
             "<h1>Class report</h1>",
             f"<p>{_students(summary.graded)} graded, {len(summary.not_graded)} not graded.</p>"]
    if summary.topics:
        parts.append("<h2>Scores per topic</h2><table><tr><th>topic</th><th>students</th><th>mean</th>"
                     "<th>median</th><th>min</th><th>max</th><th>out of</th></tr>")
        for topic, s in summary.topics.items():
            parts.append(f"<tr><td>{e(topic)}</td><td>{s['n']}</td><td>{report.fmt(round(s['mean'], 2))}</td>"
                         f"<td>{report.fmt(s['median'])}</td><td>{report.fmt(s['min'])}</td>"
                         f"<td>{report.fmt(s['max'])}</td><td>{report.fmt(s['max_score'])}</td></tr>")
        parts.append("</table><h2>Score distributions</h2>")
        for topic, counts in summary.histograms.items():
            title = f"{topic}: students per tenth of {report.fmt(summary.topics[topic]['max_score'])} points"
            parts.append(f"<figure id='histogram-{e(topic)}'>"
                         f"{svg_histogram(counts, summary.topics[topic]['max_score'], title)}"
                         f"<figcaption>{e(title)}</figcaption></figure>")
    if summary.failed_exercises:
        parts.append("<h2>Exercises most often failed</h2><ul>")
        parts += [f"<li>{_students(n)}: <code>{e(x)}</code></li>" for x, n in summary.failed_exercises[:top]]
        parts.append("</ul>")
    if summary.mistakes:
        parts.append("<h2>Misconceptions (from the hints the tests matched)</h2><ul>")
        parts += [f"<li>{_students(n)}: {e(m)} (<code>{e(x)}</code>)</li>" for x, m, n in summary.mistakes[:top]]
        parts.append("</ul>")
    if summary.not_graded:
        parts.append("<h2>Not graded</h2><ul>")
        parts += [f"<li><code>{e(sid)}</code>: {e(st)}</li>" for sid, st in sorted(summary.not_graded.items())]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_outputs(out: str, records: dict[str, dict], topic_order: list[str]) -> ClassSummary:
    """``gradebook.csv``, ``class_report.md`` and ``class_report.html`` from ``records``, each atomically."""
    os.makedirs(out, exist_ok=True)
    summary = summarize(records)
    write_atomic(os.path.join(out, "gradebook.csv"), gradebook_csv(records, topic_order))
    write_atomic(os.path.join(out, "class_report.md"), class_report_md(summary))
    write_atomic(os.path.join(out, "class_report.html"), class_report_html(summary))
    return summary


# --------------------------------------------------------------------------- driving it

class Progress:
    """A progress bar with ETA and failure count on a terminal; one plain line per student otherwise."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.failures = total, 0, 0
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.bar = None
        if self.stream.isatty() and total:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self.bar = RichProgress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                    TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
                                    console=Console(file=self.stream), transient=True)

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
            self.task = self.bar.add_task("0 failures", total=self.total)
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.__exit__(*exc)
        return False

    def eta(self) -> str:
        if not self.done:
            return "?"
        seconds = (time.monotonic() - self.start) / self.done * (self.total - self.done)
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"

    def step(self, record: dict) -> None:
        self.done += 1
        self.failures += record["status"] != GRADED
        failures = f"{self.failures} failure" + ("" if self.failures == 1 else "s")
        if self.bar:
            self.bar.update(self.task, advance=1, description=f"{failures} · {record['student']}")
            return
        score = ""
        if record.get("score") is not None:
            score = f" {report.fmt(record['score'])}/{report.fmt(record['max_score'])}"
        print(f"  [{self.done}/{self.total}] {record['student']}: {record['status']}{score} · {failures} · "
              f"ETA {self.eta()}", file=self.stream, flush=True)


@dataclass
class BatchResult:
    graded_now: list[str]
    skipped: list[str]
    records: dict[str, dict]
    summary: ClassSummary


def run(root: str, out: str, *, topics: list[str] | None = None, suite: str = "all", device: str = "auto",
        jobs: int = 1, force: bool = False, shard_spec: tuple[int, int] | None = None, level: str = "auto",
        grading: config_mod.Grading | None = None, grade: Callable[..., dict] | None = None,
        stream=None) -> BatchResult:
    """Grade the students under ``root`` into ``out`` (see the module docstring); ``grade`` replaces
    :func:`autograder.judge.grade` (for tests). SIGINT and SIGTERM raise :class:`Interrupted`."""
    grading = grading or config_mod.load()
    topics = topics or list(grading.topics)
    students = discover(root)
    if shard_spec:
        students = shard(students, *shard_spec)
    os.makedirs(os.path.join(out, "students"), exist_ok=True)
    present = load_records(out)
    faulted = [s.id for s in students if s.id in present and present[s.id]["status"].startswith(FAULT)]
    todo = [s for s in students if force or s.id not in present or s.id in faulted]
    skipped = [s.id for s in students if s not in todo]
    stream = stream or sys.stderr
    if skipped:
        print(f"skipping {len(skipped)} already graded (--force regrades them)", file=stream)
    if faulted and not force:
        print(f"grading {len(faulted)} again whose last grading was a grader fault", file=stream)
    graded_now = []
    stop = threading.Event()  # set on interruption: the students in progress are abandoned
    with interrupted_by_signals(stop):
        with Progress(len(todo), stream) as progress, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            # students graded at once share the cores: one thread each, as topics graded at once have
            threads = 1 if jobs > 1 else None
            futures = [pool.submit(grade_student, s, out, topics=topics, suite=suite, device=device,
                                   grading=grading, level=level, grade=grade, cancel=stop, threads=threads)
                       for s in todo]
            try:
                for future in as_completed(futures):
                    record = future.result()
                    graded_now.append(record["student"])
                    progress.step(record)
            except BaseException:  # interrupted: start no other student, abandon those in progress
                stop.set()
                for future in futures:
                    future.cancel()
                raise
        records = load_records(out)
        summary = write_outputs(out, records, list(grading.topics))
    return BatchResult(sorted(graded_now), skipped, records, summary)


@contextlib.contextmanager
def interrupted_by_signals(stop: threading.Event):
    """Inside, the first SIGINT or SIGTERM sets ``stop`` and raises :class:`Interrupted` in the main thread
    (a later one only sets ``stop``); the previous handlers come back on leaving. Off the main thread,
    where Python delivers no signal, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if not stop.is_set():
            stop.set()
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class MergeResult:
    records: dict[str, dict]
    duplicates: dict[str, list[str]]   # id -> the folders holding it (the first one's result is kept)
    missing: list[str]                 # expected ids graded nowhere
    unexpected: list[str]              # graded ids not in the expected list


def merge(folders: list[str], out: str, expected: list[str] | None = None,
          topic_order: list[str] | None = None) -> MergeResult:
    """Combine the ``students/`` of several batch outputs into ``out`` and rewrite its gradebook and report."""
    found: dict[str, list[str]] = {}
    records: dict[str, dict] = {}
    for folder in folders:
        if not os.path.isdir(os.path.join(folder, "students")):
            raise BatchError(f"not a batch output (no students/ folder): {folder}")
        for sid, record in load_records(folder).items():
            found.setdefault(sid, []).append(folder)
            records.setdefault(sid, record)
    target = os.path.join(out, "students")
    os.makedirs(target, exist_ok=True)
    for sid, record in records.items():
        source = os.path.join(found[sid][0], "students")
        if os.path.realpath(source) == os.path.realpath(target):
            continue
        text = feedback(record)
        if os.path.exists(os.path.join(source, f"{sid}.txt")):
            with open(os.path.join(source, f"{sid}.txt"), encoding="utf-8") as f:
                text = f.read()
        write_atomic(os.path.join(target, f"{sid}.txt"), text)
        write_atomic(os.path.join(target, f"{sid}.json"), json.dumps(record, indent=2) + "\n")
    all_records = load_records(out)
    write_outputs(out, all_records, topic_order or list(config_mod.TOPICS))
    duplicates = {sid: where for sid, where in found.items() if len(where) > 1}
    missing = sorted(set(expected) - set(found)) if expected is not None else []
    unexpected = sorted(set(found) - set(expected)) if expected is not None else []
    return MergeResult(all_records, duplicates, missing, unexpected)
