"""Starts one untrusted worker inside a jail. Standard library only; run as a script.

``python -I -S jail.py SPEC_JSON`` (built by :mod:`autograder.sandbox`, never by hand).
What it does depends on the spec's ``level``:

``full`` (the grader runs as root)
    new mount, PID, network, IPC and UTS namespaces; a root file system made of a small
    tmpfs holding only the read-only bind mounts the spec lists (interpreter, venv,
    worker-side grader files, the submission), a fresh ``/proc``, a few device nodes and
    a private, size-limited ``/tmp``; resource limits; then the worker runs as an
    unprivileged user of its own (no other process has that uid) with no capabilities
    and ``no_new_privs``.
``namespaces`` (not root, but unprivileged user namespaces are allowed)
    the same jail inside a user namespace that maps only the caller's own uid: the
    worker keeps the caller's uid outside, and has no capabilities inside.
``limits``
    no namespaces: resource limits, its own session, and death with its parent.

Process tree for the two jailed levels::

    jail.py (outside, waits)  ->  init, PID 1 of the new namespace (builds the jail, reaps)
                                    ->  worker (unprivileged, execs python -m autograder.worker)

The outer process dies with the judge and ``init`` with the outer process (parent-death
signals), and when ``init`` exits the kernel kills everything left in the PID namespace:
nothing the submission starts outlives its topic.

The steps are functions: :func:`launch` is the whole jail around a last step ``run``. This
script's last step execs the worker's interpreter; the worker fork server
(:mod:`autograder.zygote`) calls :func:`launch` in a forked child, with ``spec["judge"]`` its
own pid, and a last step that calls the already imported worker's main.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import sys
from typing import Callable

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
# statvfs flags of a source mount that a bind remount must keep (the kernel refuses to drop locked ones)
_KEEP = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC))
RLIMITS = {
    "memory": resource.RLIMIT_DATA,        # private writable memory (heap, anonymous maps, stacks)
    "processes": resource.RLIMIT_NPROC,    # processes and threads of the worker's uid
    "file_size": resource.RLIMIT_FSIZE,    # bytes one file may grow to (its log included)
    "open_files": resource.RLIMIT_NOFILE,
    "cpu_seconds": resource.RLIMIT_CPU,
    "core": resource.RLIMIT_CORE,
}

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source} on {target}")


def unshare(flags: int) -> None:
    _check(libc.unshare(flags), "unshare")


def prctl(option: int, value: int) -> None:
    _check(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------- the file system

def _ensure(path: str, is_dir: bool) -> None:
    parent = os.path.dirname(path)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    if is_dir:
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif not os.path.exists(path):
        with open(path, "w"):
            pass


def bind(root: str, source: str, target: str, device: bool = False) -> None:
    """Bind ``source`` at ``root + target``: read-only, or as it is for a device node."""
    where = root + target
    if os.path.islink(source) and not device:
        # /lib -> usr/lib on merged-/usr systems: the link itself; its target is bound on its own
        _ensure(os.path.dirname(where), True)
        if not os.path.lexists(where):
            os.symlink(os.readlink(source), where)
        return
    _ensure(where, os.path.isdir(source))
    mount(source, where, None, MS_BIND | MS_REC)
    if device:
        return
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    kept = os.statvfs(source).f_flag
    for st_flag, ms_flag in _KEEP:
        if kept & st_flag:
            flags |= ms_flag
    mount(None, where, None, flags)


def pivot_root(new_root: str) -> None:
    old = os.path.join(new_root, ".old-root")
    os.makedirs(old, exist_ok=True)
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(f"pivot_root: unknown architecture {os.uname().machine}")
    _check(libc.syscall(number, new_root.encode(), old.encode()), "pivot_root")
    os.chdir("/")
    _check(libc.umount2(b"/.old-root", MNT_DETACH), "umount old root")
    os.rmdir("/.old-root")


def build_root(spec: dict) -> None:
    """Inside the new mount namespace: the jail's root file system, then pivot into it."""
    root = spec["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m")
    # The private /tmp first: a bind under /tmp (a checkout or venv there) then lands inside it, not beneath it.
    os.makedirs(root + "/tmp", exist_ok=True)
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={int(spec['tmp_mb'])}m")
    for source, target in spec["binds"]:
        if os.path.lexists(source):
            bind(root, source, target)
    for device in spec["devices"]:
        if os.path.exists(device):
            bind(root, device, device, device=True)
    os.makedirs(root + "/proc", exist_ok=True)
    try:
        mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        pass  # a container that masks parts of /proc forbids a fresh one: go without
    pivot_root(root)
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


# --------------------------------------------------------------------------- the worker process

def set_limits(limits: dict) -> None:
    for name, value in limits.items():
        value = int(value)
        resource.setrlimit(RLIMITS[name], (value, value))


def drop_capabilities() -> None:
    """Empty the bounding set: exec then grants no capability, even to uid 0 of a user namespace."""
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise OSError(ctypes.get_errno(), f"dropping capability {cap}: {os.strerror(ctypes.get_errno())}")


def exec_argv(spec: dict) -> None:
    """The last step of a worker started by this script: exec the worker's interpreter."""
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


def start_worker(spec: dict, drop_to: int | None, run: Callable[[dict], None] = exec_argv) -> None:
    """In the forked worker: limits, an unprivileged identity, then ``run(spec)``, which never returns
    (exec the worker's argv here; a fork server calls the worker's main and leaves with its exit code)."""
    try:
        parent = os.getppid()
        if os.getpid() != os.getsid(0):
            os.setsid()
        set_limits(spec["limits"])
        if drop_to is not None:
            os.setgroups([])
            os.setresgid(drop_to, drop_to, drop_to)
            os.setresuid(drop_to, drop_to, drop_to)
        elif spec["level"] == "namespaces":
            drop_capabilities()
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(125)
        os.chdir(spec["cwd"])
        run(spec)
    except BaseException as exc:  # noqa: BLE001 - report why and leave; the judge sees the exit code
        print(f"jail: could not start the worker: {exc}", file=sys.stderr, flush=True)
    os._exit(126)


def wait_for(pid: int) -> int:
    """Wait for ``pid`` (reaping any other child on the way); its exit code, shell-style."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 125
        if done == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def init(spec: dict, run: Callable[[dict], None]) -> None:
    """PID 1 of the jail: build the file system, start the worker, reap, leave with its exit code."""
    code = 126
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        build_root(spec)
        pid = os.fork()
        if pid == 0:
            start_worker(spec, spec.get("uid"), run)
        code = wait_for(pid)
    except BaseException as exc:  # noqa: BLE001
        print(f"jail: could not build the sandbox: {exc}", file=sys.stderr, flush=True)
    os._exit(code if code >= 0 else 128 - code)


def enter_user_namespace() -> int:
    """Namespaces without root: a user namespace mapping only our own uid and gid."""
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    return uid


def launch(spec: dict, run: Callable[[dict], None] = exec_argv) -> None:
    """The jail of ``spec``'s level around ``run`` (never returns). ``spec["judge"]`` is the process that
    started this one: its death ends the jail."""
    level = spec["level"]
    if level == "limits":
        start_worker(spec, None, run)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the judge's death (a topic's time limit) ends the jail
    if os.getppid() != spec["judge"]:  # it died before the signal was armed
        os._exit(125)
    prctl(PR_SET_DUMPABLE, 0)
    try:
        if level == "namespaces":
            enter_user_namespace()
        unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    except OSError as exc:
        print(f"jail: could not create namespaces: {exc}", file=sys.stderr, flush=True)
        os._exit(126)
    pid = os.fork()
    if pid == 0:
        init(spec, run)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
    os._exit(wait_for(pid))


def main() -> None:
    launch(json.loads(sys.argv[1]))


if __name__ == "__main__":
    main()
