"""Where the untrusted worker runs: the sandbox levels, what each one contains, how to start a worker.

Levels, strongest first (:func:`best_level` finds the strongest this machine allows):

========== ===================================================================================
full       root: the worker runs as a user of its own, in new mount, PID, network, IPC and UTS
           namespaces, on a read-only file system holding only the interpreter and venv, the
           worker-side grader files (:data:`WORKER_FILES`), the submission and a private /tmp
namespaces not root: the same jail inside an unprivileged user namespace; the worker keeps
           the caller's uid outside it
limits     no namespaces: resource limits, its own session, death with its judge; the worker
           can read what the caller can
none       a plain subprocess (for measuring the sandbox's cost; never chosen by ``auto``)
========== ===================================================================================

Every level applies the ``limits:`` of ``grading.yml``. The launcher is
:mod:`autograder.jail`, a standard-library script run with ``python -I -S``, or the same steps
in a child of the worker fork server (:mod:`autograder.zygote`) when one runs.
"""
from __future__ import annotations

import functools
import glob
import itertools
import json
import os
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import NamedTuple

from autograder.config import REPO_ROOT, Limits

PACKAGE = os.path.join(REPO_ROOT, "autograder")
JAIL = os.path.join(PACKAGE, "jail.py")
LEVELS = ("full", "namespaces", "limits", "none")
#: The worker side of the grader: everything the worker may import, and nothing else of the repository.
WORKER_FILES = ("__init__.py", "protocol.py", "forbidden.py", "guard.py", "worker.py", "fixtures")
GRADER_INSIDE = "/grader"          # where the worker files appear in a jail (as /grader/autograder/...)
SUBMISSION_INSIDE = "/submission"  # where the submitted module appears in a jail
SYSTEM_LIBRARIES = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache",
                    "/sys/devices/system/cpu")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
CUDA_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps/*", "/dev/dri/*")
CUDA_SYSTEM = ("/sys", "/proc/driver/nvidia")

LAYERS = {
    "full": ["separate user", "mount namespace (read-only, only what the worker needs)", "PID namespace",
             "network namespace (no network)", "IPC namespace", "resource limits"],
    "namespaces": ["user namespace (your own uid)", "mount namespace (read-only, only what the worker needs)",
                   "PID namespace", "network namespace (no network)", "IPC namespace", "resource limits"],
    "limits": ["resource limits", "own session"],
    "none": [],
}


class SandboxError(Exception):
    """The requested sandbox cannot be had on this machine."""


def describe(level: str) -> dict:
    """The report's record of the sandbox: its level and the layers that were active."""
    return {"level": level, "layers": LAYERS[level], "full": level == "full"}


def summary(level: str) -> str:
    if level == "full":
        return "sandbox: full (" + ", ".join(LAYERS[level]) + ")"
    missing = {"namespaces": "the worker runs under your own user id",
               "limits": "no namespaces: the worker can read your files and use the network",
               "none": "no isolation at all"}[level]
    return f"sandbox: {level} ({', '.join(LAYERS[level]) or 'nothing'}); not full: {missing}"


@functools.lru_cache(maxsize=None)
def works(level: str) -> bool:
    """Whether a jail of this level starts here (a trial run of the interpreter inside it)."""
    if level == "none":
        return True
    if level == "full" and os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as root:
        spec = _spec(level, Limits(), binds=_interpreter_binds(), devices=list(DEVICES), cwd="/tmp",
                     argv=[sys.executable, "-S", "-c", "pass"], env={}, root=root)
        try:
            done = subprocess.run([sys.executable, "-I", "-S", JAIL, json.dumps(spec)], capture_output=True,
                                  timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return done.returncode == 0


def best_level() -> str:
    for level in ("full", "namespaces", "limits"):
        if works(level):
            return level
    return "none"


def resolve(requested: str) -> str:
    """``auto`` -> the strongest level available; a named level -> itself, if it works here."""
    if requested == "auto":
        return best_level()
    if requested not in LEVELS:
        raise SandboxError(f"unknown sandbox level {requested!r} (levels: auto, {', '.join(LEVELS)})")
    if not works(requested):
        raise SandboxError(f"the '{requested}' sandbox is not available here (the strongest available is "
                           f"'{best_level()}')")
    return requested


@functools.lru_cache(maxsize=1)
def _interpreter_binds() -> list[list[str]]:
    """The interpreter, its standard library, the venv and system libraries: read-only, same paths."""
    paths = [sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]
    paths += [p for p in site.getsitepackages() if os.path.isdir(p)]
    paths += SYSTEM_LIBRARIES
    binds, seen = [], set()
    for path in paths:
        path = os.path.abspath(path)
        if path in seen or _inside_any(path, seen):
            continue
        if REPO_ROOT == path or REPO_ROOT.startswith(path.rstrip("/") + "/"):
            raise SandboxError(f"{path} holds the repository: the worker cannot be given it")
        seen.add(path)
        binds.append([path, path])
    return binds


def _inside_any(path: str, parents: set[str]) -> bool:
    return any(path.startswith(p.rstrip("/") + "/") for p in parents)


def _spec(level: str, limits: Limits, *, binds, devices, cwd, argv, env, root, uid=None) -> dict:
    mib = 1024 * 1024
    rlimits = {"memory": limits.memory_mb * mib, "file_size": limits.file_size_mb * mib,
               "open_files": limits.open_files, "cpu_seconds": limits.cpu_seconds, "core": 0}
    if level == "full":  # counted per user: only meaningful for a user of the worker's own
        rlimits["processes"] = limits.processes
    return {"level": level, "binds": binds, "devices": devices, "tmp_mb": limits.tmp_mb, "limits": rlimits,
            "cwd": cwd, "argv": argv, "env": env, "root": root, "uid": uid, "judge": os.getpid()}


class Launch(NamedTuple):
    argv: list[str]
    env: dict[str, str]
    cwd: str | None


@dataclass
class Sandbox:
    """Starts workers at one level, for one judge (``workdir`` is the judge's own folder)."""

    level: str
    limits: Limits
    workdir: str
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise SandboxError(f"unknown sandbox level {self.level!r}")
        self.root = os.path.join(self.workdir, "jail-root")
        os.makedirs(self.root, exist_ok=True)

    @property
    def jailed(self) -> bool:
        return self.level in ("full", "namespaces")

    def module_path(self, staged: str) -> str:
        """Where the worker finds the submitted module."""
        return f"{SUBMISSION_INSIDE}/{os.path.basename(staged)}" if self.jailed else staged

    def spec(self, staged: str, fd: int) -> dict:
        """What starting a worker for the staged module, talking on ``fd``, takes: the jail's spec
        (:mod:`autograder.jail`); at level ``none`` only ``argv``, ``env`` and ``cwd``."""
        env = {**worker_environment(), "PYTHONPATH": GRADER_INSIDE if self.jailed else self._grader_view()}
        argv = [sys.executable, "-s", "-m", "autograder.worker", str(fd)]
        if self.level == "none":
            return {"level": "none", "argv": argv, "env": env, "cwd": os.path.dirname(staged)}
        binds = [*_interpreter_binds(), [os.path.abspath(staged), self.module_path(staged)]]
        binds += [[os.path.join(PACKAGE, name), f"{GRADER_INSIDE}/autograder/{name}"] for name in WORKER_FILES]
        devices = list(DEVICES)
        if self.device == "cuda":
            devices += [d for pattern in CUDA_DEVICES for d in sorted(glob.glob(pattern))]
            binds += [[p, p] for p in CUDA_SYSTEM if os.path.exists(p)]
        return _spec(self.level, self.limits, binds=binds, devices=devices,
                     cwd="/tmp" if self.jailed else os.path.dirname(staged), argv=argv, env=env, root=self.root,
                     uid=_private_uid() if self.level == "full" else None)

    def command(self, spec: dict) -> Launch:
        """How to start the worker of ``spec`` (:meth:`spec`) as a new process."""
        if self.level == "none":
            return Launch(spec["argv"], spec["env"], spec["cwd"])
        return Launch([sys.executable, "-I", "-S", JAIL, json.dumps(spec)], {}, None)  # the jail sets env and cwd

    def _grader_view(self) -> str:
        """Without a jail: a folder holding links to the worker files only, as the worker's import path."""
        view = os.path.join(self.workdir, "grader")
        package = os.path.join(view, "autograder")
        if not os.path.isdir(package):
            os.makedirs(package, exist_ok=True)
            for name in WORKER_FILES:
                os.symlink(os.path.join(PACKAGE, name), os.path.join(package, name))
        return view


def worker_environment() -> dict[str, str]:
    """A worker's whole environment, but for its import path: nothing of the grader's own."""
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "HOME": "/tmp", "LANG": "C.UTF-8"}
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


_started = itertools.count()


def _private_uid() -> int:
    """A uid no other process uses: per-user limits (processes) and signals then reach only this worker.
    Unique per judge process and per worker it starts (workers of one judge run one at a time)."""
    return 2_000_000_000 + (os.getpid() % 1_000_000) * 100 + next(_started) % 100
