"""Per-test time limits that fit the work: measured on the solutions, committed, checked for staleness.

``python -m autograder validate`` grades the solutions and records how long each test took
(``autograder/timings.json``, committed). A test's limit is then

    min(test_timeout, timeout_factor * solution's time + timeout_slack)

(all three from ``grading.yml``), so honest code — even several times slower than the
solution — passes, while a hung exercise costs seconds instead of ``test_timeout``. A test
with no recorded time gets ``test_timeout``. Each topic's record carries a fingerprint of its
test files and solution; :func:`stale` names the topics whose record no longer matches.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os

from autograder.config import REPO_ROOT, Topic

PATH = os.path.join(REPO_ROOT, "autograder", "timings.json")


def sources(topic: str, root: str = REPO_ROOT) -> list[str]:
    """The files whose change makes a topic's recorded times stale (those of them that exist count: the
    student release has the public tests only)."""
    return [os.path.join(root, "tests", f"test_{topic}.py"),
            os.path.join(root, "autograder", "hidden", f"test_{topic}.py"),
            os.path.join(root, "solutions", f"{topic}.py")]


def digest(paths: list[str]) -> str:
    """A fingerprint of the files (those that exist), in order."""
    hashed = hashlib.sha256()
    for path in paths:
        if os.path.exists(path):
            with open(path, "rb") as f:
                hashed.update(f.read())
    return hashed.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def fingerprint(topic: str) -> str:
    return digest(sources(topic))


@functools.lru_cache(maxsize=1)
def load() -> dict:
    try:
        with open(PATH, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return {"topics": {}}


def limit(topic: Topic, name: str, nodeid: str) -> float:
    """The time limit of one test of topic ``name``."""
    recorded = load()["topics"].get(name, {})
    seconds = recorded.get("tests", {}).get(nodeid) if recorded.get("fingerprint") == fingerprint(name) else None
    if seconds is None:
        return topic.test_timeout
    return min(topic.test_timeout, topic.timeout_factor * seconds + topic.timeout_slack)


def durations(name: str, topic_report: dict) -> dict[str, float]:
    """A graded topic's test times, by pytest node id (what :func:`limit` is asked with)."""
    files = {"public": f"tests/test_{name}.py", "hidden": f"autograder/hidden/test_{name}.py"}
    return {f"{files[t['suite']]}::{t['name'].split('/', 1)[1]}": t["duration"]
            for t in topic_report["tests"] if t.get("duration") is not None and t.get("suite") in files}


def record(name: str, durations: dict[str, float]) -> None:
    """Store the solution's times for one topic (the ``validate`` verb calls this)."""
    data = load()
    data = {"about": "seconds each test took on the solutions, measured by `python -m autograder validate`",
            "topics": {**data.get("topics", {}),
                       name: {"fingerprint": fingerprint(name),
                              "tests": {k: round(v, 3) for k, v in sorted(durations.items())}}}}
    data["topics"] = dict(sorted(data["topics"].items()))
    with open(PATH + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(PATH + ".tmp", PATH)
    load.cache_clear()
    fingerprint.cache_clear()


def stale(names: list[str]) -> list[str]:
    """Topics whose recorded times no longer match their tests and solution (or are missing)."""
    topics = load()["topics"]
    return [n for n in names if topics.get(n, {}).get("fingerprint") != fingerprint(n)]
