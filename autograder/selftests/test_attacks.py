"""The attack catalogue (``autograder/attacks/``): every hostile submission is contained.

Each attack is appended to its topic's stub and graded through the command line, beside the
solution of another topic, with short limits from a private grading.yml. The whole catalogue
runs once (two grades at a time); each test then checks one attack's outcome:

* the attacked topic scores no more than the untouched stub, exercise by exercise;
* the other topic keeps its full marks;
* the report is complete (every exercise of both topics) and written, and ``grade`` exits 0;
* no process of the submission survives ``grade``;
* nothing outside the sandbox changed (the repository with its venv, markers in the shared /tmp and $HOME);
* no line of a hidden test, a solution or grading.yml appears in the report;
* what the attack's ``# expect:`` line says of its exercises' statuses.

An attack whose containment needs a sandbox level this machine lacks (``# needs:``) is not run
here (it could harm the machine); its test checks instead that a grade here reports the sandbox
as not full, which is what the grader promises on such a machine.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import jsonschema
import pytest

from autograder import config, report, sandbox, source
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import attack_text, by_exercise, make_config, solution_text, stub_text

ATTACKS_DIR = os.path.join(REPO_ROOT, "autograder", "attacks")
OTHER = {"attention": "regularization"}  # the topic graded beside the attacked one (its solution)
LEVEL_ORDER = ["none", "limits", "namespaces", "full"]
MARKER = "autograder-attack-marker"
LIMITS = {"test_timeout": 3, "topic_timeout": 150, "limits": {"import_seconds": 15, "reply_mb": 64}}


@dataclass
class Attack:
    name: str
    text: str
    attack: str
    layer: str
    topic: str = "attention"
    imports: list[str] = field(default_factory=list)
    needs: str = "limits"
    expect: dict[str, str] = field(default_factory=dict)


def read_attack(path: str) -> Attack:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    headers: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("#   ") and key:
            headers[key] += " " + line[1:].strip()
            continue
        key, _, value = line[1:].strip().partition(":")
        headers[key] = value.strip()
    return Attack(name=os.path.basename(path)[:-3], text=text, attack=headers["attack"], layer=headers["layer"],
                  topic=headers.get("topic", "attention"),
                  imports=[n.strip() for n in headers.get("imports", "").split(",") if n.strip()],
                  needs=headers.get("needs", "limits"),
                  expect=dict(pair.split("=") for pair in headers.get("expect", "").split()))


ATTACKS = [read_attack(p) for p in sorted(glob.glob(os.path.join(ATTACKS_DIR, "*.py")))]


# --------------------------------------------------------------------------- what the machine looks like

def repository_state() -> dict[str, tuple[int, int]]:
    """Every file of the repository (its venv included) with size and modification time."""
    state = {}
    for root, dirs, files in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in (".git", "__pycache__", ".pytest_cache")]
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            state[path] = (st.st_size, st.st_mtime_ns)
    return state


def markers() -> list[str]:
    places = ["/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), REPO_ROOT]
    return [p for place in places for p in glob.glob(os.path.join(place, MARKER + "*"))]


def _proc(pid: str, what: str) -> str:
    try:
        with open(f"/proc/{pid}/{what}", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def orphans(settle: float = 5.0) -> list[str]:
    """Worker-side processes (workers, jails, fork servers and what they forked, anything of a worker's
    private user) no judge or grade in progress is waiting for, once the kernel has had ``settle`` seconds
    to finish tearing down the namespaces of a finished grade."""
    deadline = time.monotonic() + settle
    while True:
        found = _orphans_now()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _orphans_now() -> list[str]:
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        cmdline = _proc(pid, "cmdline").replace("\0", " ")
        uid = next((int(line.split()[1]) for line in _proc(pid, "status").splitlines()
                    if line.startswith("Uid:")), 0)
        if not any(name in cmdline for name in ("autograder.worker", "autograder/jail.py", "autograder.zygote")) \
                and uid < 2_000_000_000:
            continue
        parent, judged = pid, False
        for _ in range(100):  # the processes of a fork bomb sit deep below their worker
            parent = next((line.split()[1] for line in _proc(parent, "status").splitlines()
                           if line.startswith("PPid:")), "0")
            if parent in ("0", "1"):
                break
            command = _proc(parent, "cmdline").replace("\0", " ")
            if "--worker" in command or " -m autograder " in command:  # a judge, or a running grade (or batch…)
                judged = True
                break
        if not judged and _proc(pid, "status"):
            found.append(f"{pid} uid={uid}: {cmdline[:120]}")
    return found


def secret_lines(topic: str) -> list[str]:
    """Lines of the hidden suite, the solution and grading.yml that nothing public contains."""
    public = ""
    for path in (os.path.join(source.EXERCISES, f"{topic}.py"), os.path.join(REPO_ROOT, "tests", f"test_{topic}.py")):
        with open(path, encoding="utf-8") as f:
            public += f.read()
    lines = []
    for path in (os.path.join(REPO_ROOT, "autograder", "hidden", f"test_{topic}.py"),
                 os.path.join(source.SOLUTIONS, f"{topic}.py"), os.path.join(REPO_ROOT, "grading.yml")):
        with open(path, encoding="utf-8") as f:
            lines += [line.strip() for line in f if len(line.strip()) >= 30 and line.strip() not in public]
    return lines


# --------------------------------------------------------------------------- running the catalogue

@dataclass
class Outcome:
    attack: Attack
    ran: bool
    code: int | None = None
    stderr: str = ""
    report: dict | None = None
    leftovers: list[str] = field(default_factory=list)


def write_config(folder: str, attack: Attack) -> str:
    """Short limits; the attack's ``imports`` let through (harmless for the other topic, a solution)."""
    return make_config(folder, (attack.topic, OTHER[attack.topic]), **LIMITS,
                       **({"imports": attack.imports} if attack.imports else {}))


def grade(folder: str, topics: list[str], config_path: str, out: str, level: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", folder, "--topics", ",".join(topics),
                           "--suite", "public", "--format", "json", "--out", out, "--sandbox", level, "--jobs", "1"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "AUTOGRADER_CONFIG": config_path})


def run_attack(attack: Attack, level: str, workdir: str) -> Outcome:
    if LEVEL_ORDER.index(level) < LEVEL_ORDER.index(attack.needs):
        return Outcome(attack, ran=False)
    folder = os.path.join(workdir, attack.name)
    os.makedirs(folder)
    with open(os.path.join(folder, f"{attack.topic}.py"), "w", encoding="utf-8") as f:
        f.write(attack_text(attack.text, attack.topic))
    other = OTHER[attack.topic]
    with open(os.path.join(folder, f"{other}.py"), "w", encoding="utf-8") as f:
        f.write(solution_text(other))
    out = os.path.join(workdir, f"{attack.name}.json")
    config_dir = os.path.join(workdir, f"{attack.name}-config")
    os.makedirs(config_dir)
    done = grade(folder, [attack.topic, other], write_config(config_dir, attack), out, level)
    data = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
    return Outcome(attack, True, done.returncode, done.stderr, data, orphans())


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    level = sandbox.best_level()
    workdir = str(tmp_path_factory.mktemp("attacks"))
    before, markers_before = repository_state(), markers()
    stub_dir = os.path.join(workdir, "stub")
    os.makedirs(stub_dir)
    stubs = {}
    for topic in sorted({a.topic for a in ATTACKS}):
        with open(os.path.join(stub_dir, f"{topic}.py"), "w", encoding="utf-8") as f:
            f.write(stub_text(topic))
        out = os.path.join(workdir, f"stub-{topic}.json")
        grade(stub_dir, [topic], write_config(stub_dir, Attack("stub", "", "", "", topic)), out, level)
        with open(out, encoding="utf-8") as f:
            stubs[topic] = json.load(f)["topics"][topic]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = {o.attack.name: o for o in pool.map(lambda a: run_attack(a, level, workdir), ATTACKS)}
    return {"level": level, "outcomes": outcomes, "stubs": stubs, "changed": _diff(before, repository_state()),
            "markers": sorted(set(markers()) - set(markers_before))}


def _diff(before: dict, after: dict) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def test_the_catalogue_covers_every_class_of_attack():
    assert len(ATTACKS) >= 25
    for a in ATTACKS:
        assert a.attack and a.layer and a.topic in OTHER and a.needs in LEVEL_ORDER, a.name


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_contained(catalogue, attack):
    outcome = catalogue["outcomes"][attack.name]
    if not outcome.ran:
        # Not run on this machine: the grader's promise here is to say that the sandbox is not full.
        assert catalogue["level"] != "full" and not sandbox.describe(catalogue["level"])["full"]
        return
    grading = config.load(os.path.join(REPO_ROOT, "grading.yml"))
    assert outcome.code == 0, f"grade exited {outcome.code}: {outcome.stderr[-2000:]}"
    assert outcome.report is not None, "no report was written"
    jsonschema.validate(outcome.report, report.JSON_SCHEMA)
    assert outcome.report["sandbox"]["level"] == catalogue["level"]
    other = OTHER[attack.topic]
    for topic in (attack.topic, other):
        assert set(by_exercise(outcome.report["topics"][topic])) == set(grading.topics[topic].exercises), topic

    attacked = by_exercise(outcome.report["topics"][attack.topic])
    stub = by_exercise(catalogue["stubs"][attack.topic])
    for exercise, tests in attacked.items():
        earned = sum(t["score"] for t in tests)
        assert earned <= sum(t["score"] for t in stub[exercise]) + 1e-9, (exercise, tests)
    kept = outcome.report["topics"][other]
    assert kept["score"] == kept["max_score"] > 0, [t for t in kept["tests"] if t["status"] != "passed"][:3]

    assert outcome.leftovers == [], outcome.leftovers
    assert catalogue["changed"] == [], catalogue["changed"][:10]
    assert catalogue["markers"] == [], catalogue["markers"]

    messages = [t["message"] for topic in outcome.report["topics"].values() for t in topic["tests"]]
    for line in secret_lines(attack.topic):
        assert not any(line in m for m in messages), f"report quotes: {line}"

    for exercise, status in attack.expect.items():
        assert {t["status"] for t in attacked[exercise]} == {status}, attacked[exercise][:2]
