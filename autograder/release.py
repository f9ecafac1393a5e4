"""``python -m autograder release OUT``: the student repository, and a check that nothing secret is in it.

What a student gets is an explicit list: :data:`COPIED` (files copied as they are), the grader of the
public suite (:data:`GRADER_SETUP` and :func:`grader_files`), the student repository's own files in
:data:`RELEASE_FILES` (its README, Makefile and CI workflow, copied to the top of OUT) and :func:`written`
(files made for the release); nothing else of this repository leaves it. The same grader is the core of the
Gradescope bundle, which adds what only it needs (:data:`autograder.gradescope.BUNDLE_ONLY`). Every entry of
``autograder/`` is named once: in :data:`GRADER` (released and bundled), in ``BUNDLE_ONLY`` or in
:data:`INSTRUCTOR_ONLY` (neither); :func:`classification_problems` lists the others, and a self-test fails on one.

Steps, each a function:

1. :func:`copied_files` and :func:`written` list what is released (the hidden tests' names are taken out
   of ``grading.yml``, and ``timings.json`` keeps the public tests only: :func:`public_timings`);
2. :func:`write` writes it into OUT (refused when OUT is not empty, unless ``force``, and when ``exercises/``
   is not what ``generate`` makes of ``solutions/``);
3. :func:`check` searches every file in OUT for every secret line (:func:`secret_lines`): each line of a
   solution region of ``solutions/*.py`` and each line of the hidden tests and of the known-wrong
   catalogue, less the lines students see anyway (:func:`public_lines`), compared as token sequences so
   that spacing, a comment sign or a notebook's JSON quoting change nothing. Lines naming fewer than
   :data:`MIN_NAMES` different things (``return out``, ``for _ in range(steps):``,
   ``torch.manual_seed(seed)``) are too common to mean anything and are not searched for.

A leak names the released file and line and the secret it repeats; ``release`` then exits 1 and
leaves OUT as it is, for the instructor to look at.

The grader's correct stand-ins for the exercises other exercises use (``grading.yml``'s ``uses``,
``autograder/fixtures/references.py``) are the answers: they are withheld (:data:`WITHHELD`), and the
release gets a version that serves nothing, so a student's local tests call the student's own versions.
The rest of the grader, the public tests' fixtures included, is public: lines they share with a solution
are not searched for.
"""
from __future__ import annotations

import ast
import builtins
import glob
import json
import keyword
import os
import re
import shutil
from dataclasses import dataclass
from typing import Iterable

import yaml

from autograder import source, timings
from autograder.config import REPO_ROOT

#: The grader of the public suite: what ``python -m autograder grade --suite public`` and the plugin import, as
#: entries of ``autograder/`` (a folder with all it holds). Released, and the core of the Gradescope bundle.
GRADER = ("__init__.py", "__main__.py", "compare.py", "config.py", "forbidden.py", "guard.py", "jail.py",
          "judge.py", "plugin.py", "protocol.py", "remote.py", "report.py", "sandbox.py", "timings.py",
          "worker.py", "zygote.py", "fixtures", "schemas")
#: The repository's own files the grader runs with (pytest's plugin and settings, the pinned requirements):
#: released and bundled.
GRADER_SETUP = ("conftest.py", "pyproject.toml", "requirements.txt")
#: What is neither released nor bundled as it is (``timings.json`` is written into each, holding the times of its
#: own tests; ``release_files`` is the top of OUT).
INSTRUCTOR_ONLY = ("nbgrader_cells.py", "nbgrader_course.py", "notebooks.py", "release.py", "release_accepted.txt",
                   "source.py", "validate.py", "timings.json", "mutants", "attacks", "selftests", "release_files")
#: Copied as they are, beside the grader: glob patterns relative to the repository (``**`` reaches into sub-folders).
COPIED = ("exercises/*.py", "tests/*.py", "notebooks/**/*", *GRADER_SETUP)
#: Grader files that are answers (correct versions of exercises): replaced in the release by :data:`SERVES_NOTHING`.
WITHHELD = (os.path.join("autograder", "fixtures", "references.py"),)
SERVES_NOTHING = '''"""The grader's correct versions of the exercises are not part of the student release: they are the answers.

While a test of an exercise that uses another one (``uses:`` in ``grading.yml``) runs here, your own
version of that other exercise is called; the course's grader calls its correct one instead, so there a
mistake costs only the exercise that holds it.
"""
from typing import Callable, Iterable

REFERENCES: dict = {}


class StaleStandIn(RuntimeError):
    """A stand-in used after its test (never raised here: nothing is served)."""


def serve(namespace: dict, topic: str, names: Iterable[str]) -> Callable[[], None]:
    """Serve nothing: the exercises ``names`` stay the submission's own."""
    return lambda: None
'''
#: Never released nor bundled, wherever they match: caches and editor state.
CACHES = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".DS_Store")
#: The student repository's own files (README, Makefile, .gitignore, CI workflow): copied to the top of OUT.
RELEASE_FILES = os.path.join("autograder", "release_files")
#: Leaks the instructor has looked at and accepted, one ``<released file>: <secret line>`` per line: listed by
#: the check, not failing it.
ACCEPTED = os.path.join("autograder", "release_accepted.txt")
#: Packages of ``requirements-optional.txt`` the notebooks need (with their pins from there).
NOTEBOOK_PACKAGES = ("ipykernel", "matplotlib", "jupyterlab")
#: Lines with fewer different identifiers (keywords, builtins and ``_`` not counted) are not searched for.
#: A hidden test's lines are mostly the set-up any test of the same API has: they need one more.
MIN_NAMES = {"solution line": 4, "known-wrong line": 4, "hidden test line": 5}
TOKEN = re.compile(r"\w+|[^\w\s]")
COMMON = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"_"}


class ReleaseError(ValueError):
    """The release cannot be written (bad OUT, malformed source); the message names what is wrong."""


# ----------------------------------------------------------------------------- what is released


def copied_files(root: str = REPO_ROOT) -> dict[str, str]:
    """The repository's files that are released as they are: path in OUT -> path in ``root`` (relative)."""
    found = {rel: rel for rel in grader_files(GRADER, root)}
    for pattern in COPIED:
        for path in glob.glob(os.path.join(root, pattern), recursive=True):
            found[os.path.relpath(path, root)] = os.path.relpath(path, root)
    for folder, _, names in os.walk(os.path.join(root, RELEASE_FILES)):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), root)
            found[os.path.relpath(rel, RELEASE_FILES)] = rel
    return {target: rel for target, rel in sorted(found.items()) if os.path.isfile(os.path.join(root, rel))
            and rel not in WITHHELD and not is_cache(rel)}


def grader_files(entries: Iterable[str] = GRADER, root: str = REPO_ROOT) -> list[str]:
    """The files of the ``entries`` of ``autograder/`` (a folder: every file under it), caches left out:
    paths relative to ``root``, sorted."""
    found = []
    for entry in entries:
        path = os.path.join(root, "autograder", entry)
        if os.path.isfile(path):
            found.append(os.path.relpath(path, root))
        for folder, _, names in os.walk(path):
            found += [os.path.relpath(os.path.join(folder, name), root) for name in names]
    return sorted(rel for rel in found if not is_cache(rel))


def is_cache(rel: str) -> bool:
    """Whether the path ``rel`` is, or is in, a cache or editor state (:data:`CACHES`, compiled Python)."""
    return any(part in CACHES or part.endswith((".pyc", ".pyo")) for part in rel.split(os.sep))


def classification_problems(root: str = REPO_ROOT) -> list[str]:
    """Each entry of ``autograder/`` named nowhere or more than once among :data:`GRADER`,
    :data:`autograder.gradescope.BUNDLE_ONLY` and :data:`INSTRUCTOR_ONLY`, and each name there that is no entry."""
    from autograder import gradescope

    named = [*GRADER, *gradescope.BUNDLE_ONLY, *INSTRUCTOR_ONLY]
    entries = {name for name in os.listdir(os.path.join(root, "autograder")) if not is_cache(name)}
    lists = "release.GRADER (released and bundled), gradescope.BUNDLE_ONLY or release.INSTRUCTOR_ONLY (neither)"
    return ([f"autograder/{name}: named nowhere: add it to {lists}" for name in sorted(entries - set(named))]
            + [f"autograder/{name}: named more than once in {lists}"
               for name in sorted({name for name in named if named.count(name) > 1})]
            + [f"autograder/{name}: named in {lists}, but not there" for name in sorted(set(named) - entries)])


def written(root: str = REPO_ROOT) -> dict[str, str]:
    """The files made for the release (path in OUT -> text), except ``timings.json`` (see :func:`public_timings`)."""
    with open(os.path.join(root, "grading.yml"), encoding="utf-8") as f:
        grading = public_grading(f.read(), public_test_names(root))
    return {"grading.yml": grading, "requirements-notebooks.txt": notebook_requirements(root),
            **{path: SERVES_NOTHING for path in WITHHELD}}


def public_test_names(root: str = REPO_ROOT) -> set[str]:
    """The test functions of the public suite (``tests/test_*.py``)."""
    names = set()
    for path in glob.glob(os.path.join(root, "tests", "test_*.py")):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        names.update(node.name for node in tree.body if isinstance(node, ast.FunctionDef))
    return names


def public_grading(text: str, public_tests: set[str]) -> str:
    """``grading.yml`` without the points of hidden tests (``tests: {test_…: n}`` naming a test that is not
    public): the names of hidden tests are not for students. Comments and layout are kept; the result is
    checked to mean exactly the original minus those entries."""
    data = yaml.safe_load(text)
    hidden = sorted({name for topic in data["topics"].values() for exercise in topic["exercises"].values()
                     for name in exercise.get("tests", {}) if name not in public_tests})
    for name in map(re.escape, hidden):
        # in a flow mapping: ", name: 3" or "name: 3, " or "name: 3" (a block mapping fails the check below)
        text = re.sub(rf"(,\s*{name}:\s*[\d.]+\b|\b{name}:\s*[\d.]+\s*,\s*|\b{name}:\s*[\d.]+\b)", "", text)
    text = re.sub(r",\s*tests:\s*\{\s*\}", "", text)  # an exercise left with no per-test points
    expected = data
    for topic in expected["topics"].values():
        for exercise in topic["exercises"].values():
            tests = {k: v for k, v in exercise.pop("tests", {}).items() if k in public_tests}
            if tests:
                exercise["tests"] = tests
    if yaml.safe_load(text) != expected:
        raise ReleaseError("grading.yml: could not remove the hidden tests' points from it "
                           f"({', '.join(hidden)}); write their entries as `tests: {{name: points, …}}`")
    return text


def notebook_requirements(root: str = REPO_ROOT) -> str:
    """``requirements-notebooks.txt``: the grading requirements and the notebook packages, pinned as in
    ``requirements-optional.txt`` (the course tooling, nbgrader and the schema checks, stays behind)."""
    with open(os.path.join(root, "requirements-optional.txt"), encoding="utf-8") as f:
        pins = {re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower(): line.strip()
                for line in f if line.strip() and not line.lstrip().startswith(("#", "-"))}
    missing = [name for name in NOTEBOOK_PACKAGES if name not in pins]
    if missing:
        raise ReleaseError(f"requirements-optional.txt: no pin for {', '.join(missing)} (the notebooks need them)")
    return ("# The notebooks: `pip install -r requirements-notebooks.txt`, then `jupyter lab notebooks/`.\n"
            "-r requirements.txt\n" + "".join(pins[name] + "\n" for name in NOTEBOOK_PACKAGES))


def public_timings(out: str, root: str = REPO_ROOT) -> str:
    """``autograder/timings.json`` for the release: the public tests' times only, fingerprinted as the
    released grader will compute it (over the public test files; a stale topic is left out, so its tests
    get ``test_timeout`` as they would here)."""
    try:
        with open(os.path.join(root, "autograder", "timings.json"), encoding="utf-8") as f:
            recorded = json.load(f)["topics"]
    except (OSError, ValueError, KeyError):
        recorded = {}
    topics = {}
    for name, record in sorted(recorded.items()):
        if record.get("fingerprint") != timings.digest(timings.sources(name, root)):
            continue
        topics[name] = {"fingerprint": timings.digest(timings.sources(name, out)),
                        "tests": {k: v for k, v in record.get("tests", {}).items() if k.startswith("tests/")}}
    return json.dumps({"about": "seconds each public test took on the reference solutions", "topics": topics},
                      indent=1) + "\n"


# ----------------------------------------------------------------------------- writing


@dataclass
class Written:
    files: list[str]          # paths relative to OUT, sorted

    def counts(self) -> dict[str, int]:
        """Files per top-level part (``exercises``, ``tests``, ``notebooks``, ``autograder``, ``.``)."""
        counts: dict[str, int] = {}
        for path in self.files:
            part = path.split(os.sep)[0] if os.sep in path else "."
            counts[part] = counts.get(part, 0) + 1
        return counts


def check_out(out: str, force: bool, root: str = REPO_ROOT) -> None:
    """OUT must be a new or empty folder (any folder with ``force``), and never the repository or above it."""
    out_real, root_real = os.path.realpath(out), os.path.realpath(root)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ReleaseError(f"OUT is not a folder: {out}")
    if root_real == out_real or root_real.startswith(out_real.rstrip(os.sep) + os.sep):
        raise ReleaseError(f"OUT must not be the repository or a folder holding it: {out}")
    if os.path.isdir(out) and os.listdir(out) and not force:
        raise ReleaseError(f"OUT is not empty: {out} (choose a new folder, or pass --force to replace its contents)")


def write(out: str, force: bool = False, root: str = REPO_ROOT) -> Written:
    """Write the student repository into ``out``; with ``force`` whatever ``out`` held is removed first."""
    check_out(out, force, root)
    stale = source.drift(os.path.join(root, "solutions"), os.path.join(root, "exercises"))
    if stale:  # the stubs students would get are not the ones the tests and grading.yml were checked with
        raise ReleaseError("; ".join(problem.splitlines()[0] for problem in stale))
    files = written(root)  # made (and checked) before anything is written
    if os.path.isdir(out):
        for entry in os.listdir(out):
            path = os.path.join(out, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    copied = copied_files(root)
    for target, rel in copied.items():
        os.makedirs(os.path.dirname(os.path.join(out, target)), exist_ok=True)
        shutil.copy2(os.path.join(root, rel), os.path.join(out, target))
    files[os.path.join("autograder", "timings.json")] = public_timings(out, root)
    for target, text in files.items():
        with open(os.path.join(out, target), "w", encoding="utf-8") as f:
            f.write(text)
    return Written(sorted([*copied, *files]))


# ----------------------------------------------------------------------------- the leak check


@dataclass(frozen=True)
class Leak:
    file: str       # released file, relative to OUT
    line: int
    secret: str     # e.g. "solution line from solutions/attention.py:34"
    key: tuple[str, ...] = ()   # the secret line's tokens

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.secret}"


def tokens(text: str) -> tuple[str, ...]:
    return tuple(TOKEN.findall(text))


def public_lines(root: str = REPO_ROOT) -> set[tuple[str, ...]]:
    """Lines students see anyway: the public tests, the grader's own files, and what the solution files hold
    outside their regions (signatures, docstrings, argument checks: the stubs are made of them)."""
    public = set()
    grader = [os.path.join(root, rel) for rel in grader_files(GRADER, root) if rel.endswith(".py")]
    for path in glob.glob(os.path.join(root, "tests", "*.py")) + grader:
        if os.path.relpath(path, root) in WITHHELD:
            continue
        with open(path, encoding="utf-8") as f:
            public.update(tokens(line) for line in f)
    for path in glob.glob(os.path.join(root, "solutions", "*.py")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        inside = {number for number, _ in source.region_lines(text)}
        public.update(tokens(line) for number, line in enumerate(text.splitlines(), start=1) if number not in inside)
    return public


def secret_lines(root: str = REPO_ROOT) -> dict[tuple[str, ...], str]:
    """Token sequence -> what it is and where it comes from, for every line a release must not contain: the
    solution regions, the hidden tests and the known-wrong catalogue, less the :func:`public_lines`."""
    public = public_lines(root)
    secrets: dict[tuple[str, ...], str] = {}

    def add(line: str, what: str, path: str, number: int) -> None:
        key = tokens(line)
        names = {t for t in key if t.isidentifier() and t not in COMMON}
        if len(names) >= MIN_NAMES[what] and key not in secrets and key not in public:
            secrets[key] = f"{what} from {os.path.relpath(path, root)}:{number}"

    for path in sorted(glob.glob(os.path.join(root, "solutions", "*.py"))):
        with open(path, encoding="utf-8") as f:
            for number, line in source.region_lines(f.read()):
                add(line, "solution line", path, number)
    for pattern, what in (("autograder/hidden/*.py", "hidden test line"),
                          ("autograder/mutants/**/*.py", "known-wrong line")):
        for path in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, start=1):
                    add(line, what, path, number)
    return secrets


def _readings(line: str) -> list[str]:
    """A line as written and, when it is a JSON string (a notebook's source line), as decoded; each also
    without a comment sign in front."""
    texts = [line]
    stripped = line.strip().rstrip(",")
    if stripped.startswith('"') and stripped.endswith('"'):
        try:
            decoded = json.loads(stripped)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, str):
            texts += decoded.splitlines()
    return texts + [text.lstrip().lstrip("#") for text in texts]


@dataclass
class Check:
    leaks: list[Leak]       # fail the release
    accepted: list[Leak]    # found, but accepted by the instructor (:data:`ACCEPTED`)
    searched: int           # text files searched
    binary: list[str]       # files that are not text (relative to OUT), not searched
    secrets: int            # secret lines searched for


def check(out: str, root: str = REPO_ROOT) -> Check:
    """Search every file under ``out`` for the secret lines of the repository at ``root``; the leaks the
    instructor has accepted (:data:`ACCEPTED`) are kept apart."""
    secrets = secret_lines(root)
    found, searched, binary = find_leaks(out, secrets)
    accepted = accepted_leaks(os.path.join(root, ACCEPTED))
    return Check([leak for leak in found if (leak.file, leak.key) not in accepted],
                 [leak for leak in found if (leak.file, leak.key) in accepted], searched, binary, len(secrets))


def accepted_leaks(path: str) -> set[tuple[str, tuple[str, ...]]]:
    """(released file, secret line's tokens) for each ``<file>: <secret line>`` of the accepted-leaks file."""
    accepted = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if line.strip() and not line.startswith("#"):
                    if ": " not in line:
                        raise ReleaseError(f"{os.path.basename(path)}:{number}: expected `<file>: <line>`")
                    file, text = line.split(": ", 1)
                    accepted.add((file.strip(), tokens(text)))
    return accepted


def find_leaks(out: str, secrets: dict[tuple[str, ...], str]) -> tuple[list[Leak], int, list[str]]:
    """Every line under ``out`` that repeats a secret line (compared as token sequences), the number of text
    files searched, and the files that are not text (relative to ``out``)."""
    leaks, binary, searched = [], [], 0
    for folder, dirs, names in os.walk(out):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, out)
            with open(path, "rb") as f:
                data = f.read()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is None or "\0" in text:
                binary.append(rel)
                continue
            searched += 1
            for number, line in enumerate(text.splitlines(), start=1):
                if source.BEGIN in line or source.END in line:
                    leaks.append(Leak(rel, number, "a solution region marker"))
                    continue
                found = [key for key in map(tokens, _readings(line)) if key in secrets]
                if found:
                    leaks.append(Leak(rel, number, secrets[found[0]], found[0]))
    return leaks, searched, binary


def report(written: Written, out: str, result: Check) -> str:
    """What ``release`` prints: the files written, then the leak check's findings and verdict."""
    lines = [f"wrote {len(written.files)} files to {out}: "
             + ", ".join(f"{n} in {part if part != '.' else 'the top folder'}"
                         for part, n in sorted(written.counts().items()))]
    lines += [f"accepted in {ACCEPTED}: {leak}" for leak in result.accepted]
    lines += [str(leak) for leak in result.leaks]
    verdict = (f"{len(result.leaks)} LEAKS: do not publish {out} (it is left as written, for you to look at)"
               if result.leaks else "no leak")
    lines.append(f"leak check: {verdict}; {result.searched} text files searched for {result.secrets} secret lines"
                 + (f"; not text, not searched: {', '.join(result.binary)}" if result.binary else ""))
    return "\n".join(lines) + "\n"
