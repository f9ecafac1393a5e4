"""Report formats: a readable table (plain or Markdown), JSON (SPEC.md's schema), Gradescope's results.json, JUnit XML."""
from __future__ import annotations

import functools
import io
import json
import os
import xml.etree.ElementTree as ET

from rich import box
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "markdown", "json", "gradescope", "junit")
STATUSES = ["passed", "failed", "error", "timeout", "forbidden"]

_TEST = {
    "type": "object",
    "required": ["name", "score", "max_score", "status", "message"],
    "properties": {
        "name": {"type": "string"},
        "score": {"type": "number", "minimum": 0},
        "max_score": {"type": "number", "minimum": 0},
        "status": {"enum": STATUSES},
        "message": {"type": "string"},
    },
}
SANDBOX_SCHEMA = {
    "type": "object",
    "required": ["level", "layers", "full"],
    "properties": {
        "level": {"enum": ["full", "namespaces", "limits", "none"]},
        "layers": {"type": "array", "items": {"type": "string"}},
        "full": {"type": "boolean"},
    },
}
JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["score", "max_score", "topics", "sandbox"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "max_score": {"type": "number", "minimum": 0},
        "sandbox": SANDBOX_SCHEMA,
        "topics": {"type": "object", "additionalProperties": {
            "type": "object",
            "required": ["score", "max_score", "tests"],
            "properties": {"score": {"type": "number"}, "max_score": {"type": "number"},
                           "tests": {"type": "array", "items": _TEST}},
        }},
    },
}
#: Gradescope's results.json: the fields its specification documents, as a JSON schema (a file, so the
#: Gradescope bundle checks what it writes against the very same schema).
GRADESCOPE_SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "gradescope_results.json")


@functools.lru_cache(maxsize=1)
def gradescope_schema() -> dict:
    with open(GRADESCOPE_SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def fmt(x: float) -> str:
    """A score as every report prints it: at most two decimals, none when whole (26.67, 60)."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _counts(topic: dict) -> dict[str, int]:
    """How many of a topic's tests ended in each status."""
    return {s: sum(1 for t in topic["tests"] if t["status"] == s) for s in STATUSES}


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2) + "\n"


#: What the student is told about tests not shown yet, by their Gradescope visibility.
_NOT_SHOWN = {"after_due_date": "shown after the due date", "after_published": "shown when grades are published",
              "hidden": "not shown to students"}


def to_gradescope(report: dict, visibility: dict[str, str], notes: list[str] | tuple[str, ...] = ()) -> str:
    """Gradescope's results.json: one entry per test, with its suite's visibility (``grading.yml``).

    The top-level ``output`` is shown to the student at once, so it sums only the tests visible now and says how
    many are shown later; ``notes`` (what the grader wants the student to know) come first, grader faults last.
    """
    tests = []
    for number, (topic, data) in enumerate(report["topics"].items(), start=1):
        for i, t in enumerate(data["tests"], start=1):
            output = t["message"] if t["status"] == "passed" else f"[{t['status']}] {t['message']}".strip()
            tests.append({
                "name": f"{topic}: {t['name']}",
                "number": f"{number}.{i}",
                "score": t["score"],
                "max_score": t["max_score"],
                "status": "passed" if t["status"] == "passed" else "failed",
                "output": output,
                "tags": [topic, t.get("exercise", "")],
                "visibility": visibility.get(t.get("suite", "hidden"), "after_due_date"),
            })
    shown = [t for t in tests if t["visibility"] == "visible"]
    summary = ", ".join(f"{topic} {fmt(sum(t['score'] for t in shown if t['tags'][0] == topic))}/"
                        f"{fmt(sum(t['max_score'] for t in shown if t['tags'][0] == topic))}"
                        for topic in report["topics"])
    lines = [*notes, f"Tests shown now: {fmt(sum(t['score'] for t in shown))}/"
                     f"{fmt(sum(t['max_score'] for t in shown))} ({summary})"]
    for vis, words in _NOT_SHOWN.items():
        later = [t for t in tests if t["visibility"] == vis]
        if later:
            lines.append(f"{len(later)} more tests ({fmt(sum(t['max_score'] for t in later))} points): {words}")
    lines += [f"grader fault (not your doing; the course staff can regrade): {fault.splitlines()[0]}"
              for fault in report.get("faults", [])]
    lines.append(_sandbox_line(report))
    return json.dumps({
        "score": report["score"],
        "execution_time": round(sum(d.get("seconds", 0) for d in report["topics"].values()), 2),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"sandbox": report.get("sandbox", {}), "faults": report.get("faults", [])},
        "tests": tests,
    }, indent=2) + "\n"


def _sandbox_line(report: dict) -> str:
    box = report.get("sandbox") or {"level": "unknown", "layers": []}
    return f"sandbox: {box['level']} ({', '.join(box['layers']) or 'no isolation'})"


def to_junit(report: dict) -> str:
    suites = ET.Element("testsuites", name="autograder", tests=str(sum(len(d["tests"]) for d in report["topics"].values())))
    for topic, data in report["topics"].items():
        counts = _counts(data)
        suite = ET.SubElement(suites, "testsuite", name=topic, tests=str(len(data["tests"])),
                              failures=str(counts["failed"] + counts["forbidden"]),
                              errors=str(counts["error"] + counts["timeout"]), skipped="0")
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="score", value=f"{fmt(data['score'])}/{fmt(data['max_score'])}")
        ET.SubElement(properties, "property", name="sandbox", value=(report.get("sandbox") or {}).get("level", ""))
        for t in data["tests"]:
            case = ET.SubElement(suite, "testcase", classname=f"{topic}.{t.get('exercise', '')}", name=t["name"],
                                 time=str(t.get("duration", 0)))
            if t["status"] in ("failed", "forbidden"):
                ET.SubElement(case, "failure", type=t["status"], message=t["message"][:200]).text = t["message"]
            elif t["status"] in ("error", "timeout"):
                ET.SubElement(case, "error", type=t["status"], message=t["message"][:200]).text = t["message"]
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _rows(report: dict) -> tuple[list[str], list[list[str]], list[str]]:
    """The score table as text cells: header, one row per topic (empty cell for a zero count), total row."""
    header = ["topic", "score", *STATUSES, "time"]
    rows = []
    for topic, data in report["topics"].items():
        counts = _counts(data)
        rows.append([topic, f"{fmt(data['score'])} / {fmt(data['max_score'])}",
                     *[str(counts[s]) if counts[s] else "" for s in STATUSES], f"{data.get('seconds', 0):.1f} s"])
    total = ["total", f"{fmt(report['score'])} / {fmt(report['max_score'])}", *[""] * (len(STATUSES) + 1)]
    return header, rows, total


def _first_failures(report: dict):
    """``(topic.exercise, status, first line, [inputs/hint lines])`` for the first failure of each exercise."""
    for topic, data in report["topics"].items():
        seen = set()
        for t in data["tests"]:
            key = t.get("exercise")
            if t["status"] != "passed" and key not in seen:
                seen.add(key)
                lines = t["message"].strip().splitlines()
                # the inputs and the hint or causes: what a student needs to act on it
                details = [line.strip()[:200] for line in lines[1:]
                           if line.strip().startswith(("inputs:", "hint:", "common causes:"))]
                yield f"{topic}.{key}", t["status"], lines[0][:160] if lines else "", details


def to_table(report: dict, color: bool = False, width: int = 100) -> str:
    """Per-topic scores, then the first failure of each exercise that lost points."""
    console = Console(file=io.StringIO(), force_terminal=color, width=width, color_system="auto" if color else None)
    table = Table(title="Grades", box=box.SIMPLE_HEAVY, show_footer=True)
    header, rows, total = _rows(report)
    for i, name in enumerate(header):
        table.add_column(name, footer=total[i], justify="left" if i == 0 else "right")  # time: the topic's wall time
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for name, status, first, details in _first_failures(report):
        console.print(f"  {name}: [{status}] {first}", markup=False, highlight=False)
        for line in details:
            console.print(f"      {line}", markup=False, highlight=False)
    for fault in report.get("faults", []):
        console.print(f"grader fault: {fault.splitlines()[0]}", markup=False)
    console.print(_sandbox_line(report), markup=False, highlight=False)
    return console.file.getvalue()


def to_markdown(report: dict) -> str:
    """The table as GitHub-flavoured Markdown (a CI job summary, a pull request comment)."""
    def text(s: str) -> str:  # a message as Markdown shows it literally: no table breaks, no HTML
        return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    def cells(row: list[str]) -> str:
        return "| " + " | ".join(text(c) for c in row) + " |"

    header, rows, total = _rows(report)
    out = ["## Grades", "", cells(header), "| --- |" + " ---: |" * (len(header) - 1)]
    out += [cells(row) for row in rows]
    out += [cells([f"**{c}**" if c else "" for c in total]), ""]
    failures = list(_first_failures(report))
    if failures:
        out += ["### First failure of each exercise that lost points", ""]
        for name, status, first, details in failures:
            out.append(f"- `{name}` [{status}] {text(first)}")
            out += [f"  - {text(line)}" for line in details]
        out.append("")
    out += [f"**grader fault:** {text(fault.splitlines()[0])}" for fault in report.get("faults", [])]
    out += [_sandbox_line(report), ""]
    return "\n".join(out)


def render(report: dict, fmt: str, visibility: dict[str, str] | None = None, color: bool = False) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "gradescope":
        return to_gradescope(report, visibility or {})
    if fmt == "junit":
        return to_junit(report)
    if fmt == "markdown":
        return to_markdown(report)
    return to_table(report, color=color)
