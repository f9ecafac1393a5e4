"""Command line: ``python -m autograder {grade,batch,merge,validate,generate,gradescope,nbgrader,release} …``
(see README.md).

Exit codes: 0 done (whatever the score), 1 ``validate`` (``merge --strict``, ``release``) found a problem, 2 bad usage
or bad input (message names it), 3 the grader itself failed.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from autograder import config as config_mod
from autograder.config import REPO_ROOT

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade PyTorch exercises.")
    sub = parser.add_subparsers(dest="verb", required=True)

    g = sub.add_parser("grade", help="grade a folder holding the topic modules")
    g.add_argument("submission", nargs="?", default=os.path.join(REPO_ROOT, "exercises"),
                   help="folder with <topic>.py files (default: exercises/)")
    g.add_argument("--suite", choices=("public", "hidden", "all"), default="all")
    g.add_argument("--topics", default=None, help="comma-separated topics (default: all in grading.yml)")
    g.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    g.add_argument("--format", choices=("table", "markdown", "json", "gradescope", "junit"), default="table")
    g.add_argument("--out", default=None, help="write the report here instead of standard output")
    g.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="topics graded in parallel")
    _sandbox_options(g)

    b = sub.add_parser("batch", help="grade every submission (folder or .zip) under ROOT into DIR")
    b.add_argument("root", metavar="ROOT", help="one folder or .zip archive per student (id = its name)")
    b.add_argument("--out", required=True, metavar="DIR",
                   help="writes DIR/students/<id>.json and .txt, DIR/gradebook.csv, DIR/class_report.md/.html")
    b.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="students graded at once")
    b.add_argument("--suite", choices=("public", "hidden", "all"), default="all")
    b.add_argument("--topics", default=None, help="comma-separated topics (default: all in grading.yml)")
    b.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    b.add_argument("--force", action="store_true", help="regrade students whose JSON is already in DIR")
    b.add_argument("--shard", default=None, metavar="I/N",
                   help="grade only shard I of N: the students at sorted positions I-1, I-1+N, I-1+2N, …")
    _sandbox_options(b)

    m = sub.add_parser("merge", help="combine the outputs of several batch runs (shards) into one gradebook")
    m.add_argument("folders", nargs="+", metavar="DIR", help="batch output folders")
    m.add_argument("--out", required=True, metavar="DIR", help="where the merged students/ and gradebook go")
    m.add_argument("--expected", default=None, metavar="FILE",
                   help="the class list, one student id per line: ids graded nowhere are reported missing")
    m.add_argument("--strict", action="store_true", help="exit 1 when a student is duplicated or missing")

    v = sub.add_parser("validate", help="solutions full marks, stubs zero, known-wrong variants caught")
    v.add_argument("--topics", default=None)
    v.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    v.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    _sandbox_options(v)

    sub.add_parser("generate", help="rewrite exercises/ from the marked regions of solutions/")

    gs = sub.add_parser("gradescope", help="write a Gradescope autograder bundle (setup.sh, run_autograder, grader)")
    gs.add_argument("out", metavar="OUT.zip", help="the bundle to write (upload it as the assignment's autograder)")
    gs.add_argument("--topics", default=None, help="comma-separated topics graded there (default: all in grading.yml)")
    gs.add_argument("--suite", choices=("public", "hidden", "all"), default="all")
    n = sub.add_parser("nbgrader", help="write an nbgrader course (config + source notebooks) from the same source")
    n.add_argument("course", metavar="COURSE", help="the course folder (nbgrader_config.py, source/pytorch/)")
    n.add_argument("--force", action="store_true",
                   help="rewrite nbgrader_config.py and the source notebooks of an existing course")

    r = sub.add_parser("release", help="write the student repository into OUT and check it for leaks")
    r.add_argument("out", metavar="OUT", help="a new or empty folder")
    r.add_argument("--force", action="store_true", help="replace whatever OUT holds")
    return parser


#: The verbs of the student release (``release`` leaves the others' modules behind, itself included).
STUDENT_VERBS = ("grade",)


def _check_release(args: argparse.Namespace) -> None:
    """In the student release, say plainly what it does not hold, instead of failing on a missing file."""
    if importlib.util.find_spec("autograder.release") is not None:
        return  # the instructor's repository
    if args.verb not in STUDENT_VERBS:
        raise UsageError(f"`{args.verb}` is not part of the student release (it is the instructor's)")
    if getattr(args, "suite", None) == "hidden":
        raise UsageError("--suite hidden: the hidden tests are not part of the student release (use --suite public)")


def _sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sandbox", choices=("auto", "full", "namespaces", "limits", "none"), default="auto",
                        help="where the submission runs (default: the strongest level this machine allows)")
    parser.add_argument("--require-sandbox", action="store_true",
                        help="refuse to grade unless the full sandbox (own user, namespaces, limits) is available")


def _sandbox_level(args: argparse.Namespace) -> str:
    """The level to grade at, said on stderr; bad usage when the full sandbox is required and missing."""
    from autograder import sandbox

    try:
        level = sandbox.resolve(args.sandbox)
    except sandbox.SandboxError as exc:
        raise UsageError(f"--sandbox {args.sandbox}: {exc}") from None
    if args.require_sandbox and level != "full":
        raise UsageError(f"--require-sandbox: the full sandbox is not available here ({sandbox.summary(level)}); "
                         "it needs root and Linux namespaces (run the grader as root, e.g. in a container)")
    print(sandbox.summary(level), file=sys.stderr)
    return level


def _topics(arg: str | None, grading: config_mod.Grading) -> list[str] | None:
    if not arg:
        return None
    topics = [t.strip() for t in arg.split(",") if t.strip()]
    unknown = [t for t in topics if t not in grading.topics]
    if unknown:
        raise UsageError(f"--topics: unknown topic(s) {', '.join(unknown)} (known: {', '.join(grading.topics)})")
    return topics


def _progress(total: int, label: str):
    """A progress bar on stderr when it is a terminal; otherwise one line per step."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not sys.stderr.isatty():
        class Lines:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def step(self, text: str) -> None:
                print(f"  {text}", file=sys.stderr, flush=True)
        return Lines()

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}"), transient=True)

    class Bar:
        def __enter__(self):
            progress.__enter__()
            self.task = progress.add_task("", total=total)
            return self

        def __exit__(self, *exc):
            return progress.__exit__(*exc)

        def step(self, text: str) -> None:
            progress.update(self.task, advance=1, description=text)
    return Bar()


def cmd_grade(args: argparse.Namespace) -> int:
    from autograder import judge, report, zygote

    grading = config_mod.load()
    if not os.path.isdir(args.submission):
        raise UsageError(f"submission folder not found: {args.submission}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available here (use cpu or auto)")
    topics = _topics(args.topics, grading) or list(grading.topics)
    with zygote.running():  # the servers import torch while the sandbox is probed here
        level = _sandbox_level(args)
        with _progress(len(topics), "grading") as bar:
            result = judge.grade(args.submission, topics=topics, suite=args.suite, device=args.device,
                                 grading=grading, jobs=args.jobs, level=level,
                                 on_topic_done=lambda t, r: bar.step(f"{t} {report.fmt(r['score'])}/"
                                                                     f"{report.fmt(r['max_score'])}"))
    text = report.render(result, args.format, grading.visibility, color=args.out is None and sys.stdout.isatty())
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        if args.format != "table":
            sys.stdout.write(report.to_table(result))
    else:
        sys.stdout.write(text)
    return EXIT_FAULT if result.get("faults") else EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from autograder import batch, zygote

    grading = config_mod.load()
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if not os.path.isdir(args.root):
        raise UsageError(f"submissions folder not found: {args.root}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out: not a folder: {args.out}")
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available here (use cpu or auto)")
    topics = _topics(args.topics, grading) or list(grading.topics)
    try:
        shard = batch.parse_shard(args.shard) if args.shard else None
    except batch.BatchError as exc:
        raise UsageError(str(exc)) from None
    try:
        with zygote.running():  # the servers import torch while the sandbox is probed here
            level = _sandbox_level(args)
            result = batch.run(args.root, args.out, topics=topics, suite=args.suite, device=args.device,
                               jobs=args.jobs, force=args.force, shard_spec=shard, level=level, grading=grading)
    except batch.BatchError as exc:
        raise UsageError(str(exc)) from None
    except batch.Interrupted as exc:
        print(f"batch {exc}: the students in progress were abandoned; the same command resumes",
              file=sys.stderr)
        return 128 + exc.signum
    failed = {sid: r["status"] for sid, r in result.records.items()
              if sid in result.graded_now and r["status"] != batch.GRADED}
    print(f"{len(result.graded_now)} students processed ({len(result.graded_now) - len(failed)} graded, "
          f"{len(failed)} not), {len(result.skipped)} skipped as already graded; "
          f"gradebook: {os.path.join(args.out, 'gradebook.csv')}")
    if failed:
        print(f"{len(failed)} not graded:")
        for sid, status in sorted(failed.items()):
            print(f"  {sid}: {status}")
    return EXIT_FAULT if any(s.startswith("grader fault") for s in failed.values()) else EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from autograder import batch

    expected = None
    if args.expected:
        try:
            with open(args.expected, encoding="utf-8") as f:
                expected = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        except OSError as exc:
            raise UsageError(f"--expected: cannot read {args.expected} ({exc.strerror})") from None
    try:
        result = batch.merge(args.folders, args.out, expected, list(config_mod.load().topics))
    except batch.BatchError as exc:
        raise UsageError(str(exc)) from None
    print(f"merged {len(result.records)} students from {len(args.folders)} folders into "
          f"{os.path.join(args.out, 'gradebook.csv')}")
    for sid, where in sorted(result.duplicates.items()):
        print(f"graded twice: {sid} (in {', '.join(where)}; kept {where[0]})")
    for sid in result.missing:
        print(f"missing: {sid}")
    for sid in result.unexpected:
        print(f"not on the expected list: {sid}")
    problems = result.duplicates or result.missing
    return EXIT_INVALID if args.strict and problems else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from autograder import validate, zygote

    grading = config_mod.load()
    topics = _topics(args.topics, grading) or list(grading.topics)
    total = sum(2 + len(validate.mutants_of(t)) for t in topics)
    with zygote.running():  # the servers import torch while the sandbox is probed here
        level = _sandbox_level(args)
        with _progress(total, "validating") as bar:
            ok, results, problems = validate.validate(topics, args.device, args.jobs, progress=bar.step,
                                                      level=level, record_timings=True)
    console = Console(highlight=False)
    table = Table(title="validate", box=box.SIMPLE_HEAVY)
    for column in ("topic", "solution", "stub", "known-wrong caught", "status"):
        table.add_column(column)
    for r in results:
        caught = sum(m.caught for m in r.mutants)
        table.add_row(r.topic, r.solution, r.stub, f"{caught}/{len(r.mutants)}", "ok" if not r.problems else "FAIL")
    console.print(table)
    for r in results:
        for m in r.mutants:
            hint = "" if m.hint_shown is None else (" · hint shown" if m.hint_shown else " · HINT MISSING")
            mark = "caught" if m.caught else "NOT CAUGHT"
            by = f" by {m.caught_by}" if m.caught else ""
            console.print(f"  {r.topic}/{m.mutant.name}: {mark}{by}{hint} — {m.mutant.wrong}",
                          markup=False)
    for p in problems:
        console.print(f"problem: {p}", markup=False)
    for r in results:
        for p in r.problems:
            console.print(f"problem in {r.topic}: {p}", markup=False)
    console.print("validate: all checks hold" if ok else "validate: FAILED", markup=False)
    return EXIT_OK if ok else EXIT_INVALID


def cmd_generate(args: argparse.Namespace) -> int:
    from autograder import source

    for path in source.generate():
        print(f"wrote {os.path.relpath(path, REPO_ROOT)}")
    return EXIT_OK


def cmd_gradescope(args: argparse.Namespace) -> int:
    from autograder import gradescope

    grading = config_mod.load()
    topics = _topics(args.topics, grading) or list(grading.topics)
    try:
        stale = gradescope.build(args.out, topics, args.suite)
    except gradescope.BundleError as exc:
        raise UsageError(str(exc)) from None
    for topic in stale:
        print(f"warning: the recorded test times of {topic} are stale (run validate): its tests get test_timeout",
              file=sys.stderr)
    print(f"wrote {args.out}: topics {', '.join(topics)}, suite {args.suite}; upload it as the autograder "
          "(Ubuntu base image)")
    return EXIT_OK


def cmd_nbgrader(args: argparse.Namespace) -> int:
    from autograder import nbgrader_course

    try:
        written = nbgrader_course.build(args.course, force=args.force)
    except nbgrader_course.CourseError as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    print(f"next: cd {args.course} && nbgrader generate_assignment  (the assignment is {nbgrader_course.ASSIGNMENT})")
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    from autograder import release

    try:
        written = release.write(args.out, force=args.force)
    except release.ReleaseError as exc:
        raise UsageError(str(exc)) from None
    result = release.check(args.out)
    sys.stdout.write(release.report(written, args.out, result))
    return EXIT_INVALID if result.leaks else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _check_release(args)
        verbs = {"grade": cmd_grade, "batch": cmd_batch, "merge": cmd_merge, "validate": cmd_validate,
                 "generate": cmd_generate, "gradescope": cmd_gradescope, "nbgrader": cmd_nbgrader,
                 "release": cmd_release}
        return verbs[args.verb](args)
    except (UsageError, config_mod.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - anything else is the grader's own fault
        source = sys.modules.get("autograder.source")  # absent from the student release
        if source is not None and isinstance(exc, source.MarkerError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        import traceback
        traceback.print_exc()
        print(f"grader fault: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAULT


if __name__ == "__main__":
    sys.exit(main())
