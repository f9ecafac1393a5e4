"""Building blocks for the grader's own tests: small submissions and small configurations."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import yaml

from autograder import source
from autograder.config import REPO_ROOT


# scaled dot-product attention without the 1/sqrt(E) scaling: a classic mistake with a known hint
SDPA_WITHOUT_SCALING = """
    def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
        if mask is not None and is_causal:
            raise ValueError("mask and is_causal cannot both be set")
        L, S = q.shape[-2], k.shape[-2]
        scores = q @ k.transpose(-2, -1)
        if is_causal:
            scores = scores.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(), float("-inf"))
        weights = softmax(scores, dim=-1)
        return weights @ v, weights
"""


def solution_text(topic: str = "attention") -> str:
    with open(os.path.join(source.SOLUTIONS, f"{topic}.py"), encoding="utf-8") as f:
        return source.strip_markers(f.read())


def stub_text(topic: str = "attention") -> str:
    """The untouched exercise module a student starts from."""
    with open(os.path.join(source.EXERCISES, f"{topic}.py"), encoding="utf-8") as f:
        return f.read()


def with_definition(text: str, donor: str, name: str, note: str) -> str:
    """``text`` with the top-level function or class ``name`` of the module ``donor`` appended after a
    ``# ---- note ----`` line, so it replaces ``text``'s own."""
    node = next(n for n in ast.parse(donor).body
                if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name)
    return f"{text}\n\n# ---- {note} ----\n{ast.get_source_segment(donor, node)}\n"


def attack_text(attack: str, topic: str = "attention") -> str:
    """A hostile submission: the attack file's text (``autograder/attacks/``) appended to the topic's stub,
    so its definitions replace the stub's."""
    return stub_text(topic) + "\n\n# ---- attack ----\n" + attack


def make_submission(folder, append: str = "", topic: str = "attention", text: str | None = None) -> str:
    """A submission folder holding ``<topic>.py`` = the solution + ``append`` (later definitions win)."""
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    body = text if text is not None else solution_text(topic) + "\n\n" + textwrap.dedent(append)
    with open(os.path.join(folder, f"{topic}.py"), "w", encoding="utf-8") as f:
        f.write(body)
    return folder


def make_config(folder, topics: tuple[str, ...] = ("attention",), **topic_overrides) -> str:
    """A grading.yml with only ``topics``, optionally overriding keys of each (e.g. test_timeout)."""
    with open(os.path.join(REPO_ROOT, "grading.yml"), encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["topics"] = {t: {**data["topics"][t], **topic_overrides} for t in topics}
    path = os.path.join(str(folder), "grading.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f)
    return path


def by_exercise(topic_report: dict) -> dict[str, list[dict]]:
    result: dict[str, list[dict]] = {}
    for t in topic_report["tests"]:
        result.setdefault(t["exercise"], []).append(t)
    return result


def local_pytest(folder, *args, timeout=300, stdin=None) -> subprocess.CompletedProcess:
    """The student's command: plain pytest on the public tests, the module imported in-process."""
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", "--impl", str(folder)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, input=stdin,
                          env={k: v for k, v in os.environ.items() if k != "AUTOGRADER_CONFIG"})


def processes_mentioning(text: str) -> list[str]:
    """Command lines of the live processes that contain ``text`` (a grade's temporary folder: its judges'
    do), for checking that nothing of a stopped grade runs on."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{pid}: {cmdline[:200]}")
    return found
