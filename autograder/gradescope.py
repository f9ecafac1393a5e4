"""Gradescope: the autograder bundle (``python -m autograder gradescope OUT.zip``) and what it runs there.

Gradescope unpacks the bundle into ``/autograder/source``, runs ``setup.sh`` once when it builds the
image (as root: a venv in ``/autograder/venv`` from the pinned ``requirements.txt``) and
``run_autograder`` for every submission, which calls :func:`main` here. Both scripts live in
``autograder/gradescope_files/``. The root is ``$AUTOGRADER_ROOT`` (default ``/autograder``), so a
test can run the bundle in a temporary tree.

Building (:func:`build`, on the instructor's machine):

1. :func:`bundle_files` lists what the grader needs there: the grader of the public suite, the one the student
   release has (:data:`autograder.release.GRADER`: modules, fixtures, results schema; here with the grader's
   correct versions of the exercises, which the release withholds), ``grading.yml``, what only the bundle
   needs (:data:`BUNDLE_ONLY`: this module, the upload unpacker) and the chosen topics' public and hidden test
   files. Never ``solutions/``, the known-wrong catalogue, the attacks or the grader's own tests (:data:`NEVER`
   is checked);
2. ``gradescope.json`` records the topics and suite; ``timings.json`` is re-keyed to the bundle's
   test files (:func:`bundle_timings`), so the fitted per-test time limits hold there too.

Grading (:func:`run`, at Gradescope, once per submission):

1. :func:`find_modules` finds each ``<topic>.py`` wherever the upload put it (loose files, a folder,
   nested ``exercises/``, a ``.zip`` unpacked safely); a missing module scores zero and the output says so;
2. :func:`autograder.judge.grade` grades them at the strongest sandbox this machine allows;
3. ``results/results.json`` is written in Gradescope's format and checked against its schema. Whatever
   goes wrong, a valid results.json is written: score 0 and an output that says what happened.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import zipfile

from autograder import config as config_mod
from autograder import timings
from autograder.config import REPO_ROOT

FILES = os.path.join(REPO_ROOT, "autograder", "gradescope_files")
SCRIPTS = ("setup.sh", "run_autograder")   # at the bundle's root, as Gradescope requires
SETTINGS = "gradescope.json"               # the bundle's topics and suite
#: Paths of the repository that never go into a bundle (prefixes of paths inside it).
NEVER = ("solutions/", "exercises/", "autograder/mutants/", "autograder/attacks/", "autograder/selftests/")
#: Grader modules only the bundle needs, copied as they are: this one (``run_autograder`` calls :func:`main`) and
#: :mod:`autograder.batch`, whose checks unpack an uploaded archive.
BUNDLE_MODULES = ("gradescope.py", "batch.py")
#: The entries of ``autograder/`` only the bundle needs: :data:`BUNDLE_MODULES`, the hidden suites (the chosen
#: topics' files) and the scripts of :data:`FILES` (put at the bundle's root). The rest of the bundle's grader is
#: the release's (:data:`autograder.release.GRADER`); ``release.INSTRUCTOR_ONLY`` names what goes in neither.
BUNDLE_ONLY = (*BUNDLE_MODULES, "hidden", "gradescope_files")
#: Folders of an upload that never hold the student's own modules: the grader's copy in the student repository,
#: archivers' and tools' leftovers.
SKIPPED_FOLDERS = ("autograder", "tests", "__MACOSX", "__pycache__", "node_modules")
ZIP_DATE = (2020, 1, 1, 0, 0, 0)           # every member's date: the same sources give the same bundle


class BundleError(Exception):
    """The bundle cannot be built as asked (exit code 2); the message says why."""


# --------------------------------------------------------------------------- building the bundle

def bundle_files(topics: list[str], suites: list[str]) -> dict[str, str]:
    """``{path in the bundle: path in the repository}`` of everything the grader needs at Gradescope."""
    from autograder import judge, release

    files = {name: os.path.join(REPO_ROOT, name) for name in ("grading.yml", *release.GRADER_SETUP)}
    files["autograder/timings.json"] = timings.PATH  # re-keyed by build (bundle_timings)
    for rel in release.grader_files((*release.GRADER, *BUNDLE_MODULES)):
        files[rel.replace(os.sep, "/")] = os.path.join(REPO_ROOT, rel)
    for topic in topics:
        for path in judge.test_files(topic, suites):
            files[os.path.relpath(path, REPO_ROOT).replace(os.sep, "/")] = path
    leaked = sorted(name for name in files if name.startswith(NEVER))
    if leaked:
        raise BundleError(f"refusing to bundle {', '.join(leaked)}: solutions, mutants, attacks and the "
                          "grader's own tests never leave the repository")
    return files


def bundle_timings(topics: list[str], files: dict[str, str]) -> tuple[str, list[str]]:
    """``timings.json`` for the bundle and the topics whose recorded times are stale (they get ``test_timeout``).

    A topic's record is keyed by a fingerprint of its test files and solution; the bundle has no solution, so a
    record still valid here is re-keyed to the fingerprint :mod:`autograder.timings` computes in the bundle."""
    stale = timings.stale(topics)
    recorded = timings.load()["topics"]
    kept = {}
    for topic in topics:
        if topic not in stale:
            shipped = [p for p in timings.sources(topic) if os.path.relpath(p, REPO_ROOT).replace(os.sep, "/") in files]
            kept[topic] = {**recorded[topic], "fingerprint": timings.digest(shipped)}
    return json.dumps({"about": "per-test times of the solutions, for the time limits", "topics": kept},
                      indent=1) + "\n", stale


def build(out: str, topics: list[str], suite: str = "all") -> list[str]:
    """Write the bundle to ``out`` (a zip archive); returns the stale topics (their tests get ``test_timeout``)."""
    from autograder import judge

    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise BundleError(f"cannot write {out}: folder {folder} does not exist")
    if os.path.isdir(out):
        raise BundleError(f"cannot write {out}: it is a folder (give the name of the .zip to write)")
    files = bundle_files(topics, judge.suites_for(suite))
    timings_json, stale = bundle_timings(topics, files)
    settings = json.dumps({"topics": topics, "suite": suite}, indent=2) + "\n"
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in SCRIPTS:
            _add(z, name, _read(os.path.join(FILES, name)), executable=True)
        _add(z, SETTINGS, settings.encode())
        for name, path in sorted(files.items()):
            _add(z, name, timings_json.encode() if path == timings.PATH else _read(path))
    os.replace(tmp, out)
    return stale


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _add(z: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


# --------------------------------------------------------------------------- grading at Gradescope

def find_modules(submission: str, topics: list[str], scratch: str) -> tuple[dict[str, str], list[str]]:
    """``({topic: path of its module}, notes for the student)``.

    Each ``<topic>.py`` is looked for in every folder of the upload and of the ``.zip`` archives in it (unpacked
    into ``scratch`` with :func:`autograder.batch.extract_zip`'s checks), skipping :data:`SKIPPED_FOLDERS`,
    hidden folders and links. Loose files win over archived ones, then the shallowest, then the first by name.
    """
    from autograder.batch import ArchiveError, extract_zip

    notes: list[str] = []
    roots = [(submission, "")]
    for number, archive in enumerate(_walk(submission, lambda name: name.lower().endswith(".zip"))):
        shown = os.path.relpath(archive, submission)
        target = os.path.join(scratch, f"archive-{number}")
        os.makedirs(target)
        try:
            roots.append((extract_zip(archive, target), f"{shown}: "))
        except ArchiveError as exc:
            notes.append(f"{shown}: not unpacked ({exc}); upload the .py files themselves")
    found: dict[str, str] = {}
    for topic in topics:
        wanted = f"{topic}.py"
        candidates = []
        for rank, (root, label) in enumerate(roots):
            for path in _walk(root, lambda name: name == wanted):
                relative = os.path.relpath(path, root)
                candidates.append((rank, relative.count(os.sep), relative, label + relative, path))
        if not candidates:
            notes.append(f"{wanted}: not found in your submission (looked in every folder and .zip of it): "
                         f"the {topic} tests score 0")
            continue
        candidates.sort()
        found[topic] = candidates[0][4]
        if len(candidates) > 1:
            others = ", ".join(c[3] for c in candidates[1:4])
            notes.append(f"{wanted}: graded {candidates[0][3]} (also found: {others})")
    return found, notes


def _walk(root: str, wanted):
    """Regular files (not links) under ``root`` whose name ``wanted`` accepts, skipping folders no module is in."""
    for parent, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS
                         and not os.path.islink(os.path.join(parent, d)))
        for name in sorted(names):
            path = os.path.join(parent, name)
            if wanted(name) and os.path.isfile(path) and not os.path.islink(path):
                yield path


def run(root: str) -> dict:
    """Grade ``root/submission`` with the bundle's settings; returns Gradescope's results (not yet written)."""
    from autograder import judge, report, sandbox

    # the bundle's own grading.yml, for this process and the pytest processes it starts
    os.environ["AUTOGRADER_CONFIG"] = config_mod.DEFAULT_PATH
    grading = config_mod.load()
    with open(os.path.join(REPO_ROOT, SETTINGS), encoding="utf-8") as f:
        settings = json.load(f)
    topics = settings["topics"]
    submission = os.path.join(root, "submission")
    if not os.path.isdir(submission):
        raise FileNotFoundError(f"no submission folder at {submission}")
    scratch = tempfile.mkdtemp(prefix="autograder-gradescope-")
    try:
        found, notes = find_modules(submission, topics, scratch)
        staged = os.path.join(scratch, "modules")
        os.makedirs(staged)
        for topic, path in found.items():
            shutil.copyfile(path, os.path.join(staged, f"{topic}.py"))
        level = sandbox.resolve("auto")  # the strongest here: full, as Gradescope runs this as root
        print(sandbox.summary(level), flush=True)
        result = judge.grade(staged, topics=topics, suite=settings["suite"], device="cpu", grading=grading,
                             jobs=min(2, os.cpu_count() or 1), level=level)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return json.loads(report.to_gradescope(result, grading.visibility, notes))


def failed_results(reason: str, seconds: float) -> dict:
    """What the student sees when the grader itself failed: score 0, and that it was not their doing."""
    return {"score": 0, "execution_time": round(seconds, 2), "visibility": "visible", "stdout_visibility": "hidden",
            "output": f"The autograder failed before it could grade your submission ({reason}). This is not a "
                      "problem with your code: please tell the course staff, who can rerun it.",
            "tests": []}


def write_results(root: str, results: dict) -> str:
    import jsonschema

    from autograder import report

    jsonschema.validate(results, report.gradescope_schema())
    folder = os.path.join(root, "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "results.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope [ROOT]``: what ``run_autograder`` calls; always writes a results.json."""
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else os.environ.get("AUTOGRADER_ROOT", "/autograder")
    start = time.monotonic()
    try:
        results = run(root)
        results["execution_time"] = round(time.monotonic() - start, 2)
        path = write_results(root, results)
    except Exception as exc:  # noqa: BLE001 - the student must get a results.json whatever failed
        traceback.print_exc(file=sys.stdout)  # stdout is for the course staff (stdout_visibility: hidden)
        reason = f"{type(exc).__name__}: {(str(exc) or '-').splitlines()[0]}"
        path = write_results(root, failed_results(reason, time.monotonic() - start))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
