"""Report formats: a readable table, JSON (SPEC.md's schema), Gradescope's results.json, JUnit XML."""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

from rich import box
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "gradescope", "junit")
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
# Gradescope's autograder results.json (fields as its specification names them).
GRADESCOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["tests"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
                "extra_data": {"type": "object"},
            },
        }},
        "leaderboard": {"type": "array"},
    },
}


def fmt(x: float) -> str:
    """A score as every report prints it: at most two decimals, none when whole (26.67, 60)."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _counts(topic: dict) -> dict[str, int]:
    """How many of a topic's tests ended in each status."""
    return {s: sum(1 for t in topic["tests"] if t["status"] == s) for s in STATUSES}


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2) + "\n"


def to_gradescope(report: dict, visibility: dict[str, str]) -> str:
    tests = []
    for topic, data in report["topics"].items():
        for i, t in enumerate(data["tests"], start=1):
            output = t["message"] if t["status"] == "passed" else f"[{t['status']}] {t['message']}".strip()
            tests.append({
                "name": f"{topic}: {t['name']}",
                "number": f"{list(report['topics']).index(topic) + 1}.{i}",
                "score": t["score"],
                "max_score": t["max_score"],
                "status": "passed" if t["status"] == "passed" else "failed",
                "output": output,
                "tags": [topic, t.get("exercise", "")],
                "visibility": visibility.get(t.get("suite", "hidden"), "after_due_date"),
            })
    summary = ", ".join(f"{topic} {fmt(d['score'])}/{fmt(d['max_score'])}" for topic, d in report["topics"].items())
    return json.dumps({
        "score": report["score"],
        "execution_time": round(sum(d.get("seconds", 0) for d in report["topics"].values()), 2),
        "output": f"Total {fmt(report['score'])}/{fmt(report['max_score'])}: {summary}\n{_sandbox_line(report)}",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"sandbox": report.get("sandbox", {})},
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


def to_table(report: dict, color: bool = False, width: int = 100) -> str:
    """Per-topic scores, then the first failure of each exercise that lost points."""
    console = Console(file=io.StringIO(), force_terminal=color, width=width, color_system="auto" if color else None)
    table = Table(title="Grades", box=box.SIMPLE_HEAVY, show_footer=True)
    table.add_column("topic", footer="total")
    table.add_column("score", justify="right", footer=f"{fmt(report['score'])} / {fmt(report['max_score'])}")
    for status in STATUSES:
        table.add_column(status, justify="right")
    table.add_column("time", justify="right")  # wall time of the topic
    for topic, data in report["topics"].items():
        counts = _counts(data)
        table.add_row(topic, f"{fmt(data['score'])} / {fmt(data['max_score'])}",
                      *[str(counts[s]) if counts[s] else "" for s in STATUSES], f"{data.get('seconds', 0):.1f} s")
    console.print(table)
    for topic, data in report["topics"].items():
        seen = set()
        for t in data["tests"]:
            key = t.get("exercise")
            if t["status"] != "passed" and key not in seen:
                seen.add(key)
                lines = t["message"].strip().splitlines()
                first = lines[0][:160] if lines else ""
                console.print(f"  {topic}.{key}: [{t['status']}] {first}", markup=False, highlight=False)
                for line in lines[1:]:  # the inputs and the hint: what a student needs to act on it
                    if line.strip().startswith(("inputs:", "hint:")):
                        console.print(f"      {line.strip()[:200]}", markup=False, highlight=False)
    for fault in report.get("faults", []):
        console.print(f"grader fault: {fault.splitlines()[0]}", markup=False)
    console.print(_sandbox_line(report), markup=False, highlight=False)
    return console.file.getvalue()


def render(report: dict, fmt: str, visibility: dict[str, str] | None = None, color: bool = False) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "gradescope":
        return to_gradescope(report, visibility or {})
    if fmt == "junit":
        return to_junit(report)
    return to_table(report, color=color)
