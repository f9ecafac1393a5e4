"""The course notebooks (``notebooks/<topic>.ipynb``): committed without outputs, executed top to bottom.

A notebook loads the student's module with ``course.load`` and wraps every experiment in
``course.attempt``, so it runs to the end whatever is finished. The test suite checks that here:
:func:`execute` runs notebooks against a chosen implementation (``COURSE_IMPL``: ``solutions`` or
the untouched ``exercises``) and returns each executed notebook with its wall and CPU time and its
error, if any; :func:`stray_outputs` lists what a committed notebook must not hold.

Executing needs the course tooling of ``requirements-optional.txt`` (nbclient, nbformat, ipykernel,
matplotlib); importing this module does not.
"""
from __future__ import annotations

import glob
import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from autograder.config import REPO_ROOT

FOLDER = os.path.join(REPO_ROOT, "notebooks")

#: what ``course.attempt`` prints when an experiment needs an unfinished exercise
NOT_IMPLEMENTED = "not implemented yet"

#: the most CPU seconds one notebook may take on the solutions (its kernel's, torch on one thread);
#: CPU time, unlike wall time, does not depend on what else the machine is running
NOTEBOOK_CPU_SECONDS = 30

#: the most wall-clock seconds one cell may take before it is stopped as hanging (generous: on a
#: busy machine a notebook's wall time is many times its CPU time)
CELL_TIMEOUT = 300

# Run in the kernel before each notebook: the kernel is shared by the notebooks one worker executes
# (starting a kernel and importing torch costs more than most notebooks), so each loads the
# implementation asked for and starts with torch's defaults, no open figure and, last, an empty
# namespace (a notebook that forgets an import fails as it would in a fresh kernel).
_RESET = """\
import os, sys
os.chdir({folder!r})
os.environ["COURSE_IMPL"] = {impl!r}
if "torch" in sys.modules:
    sys.modules["torch"].set_default_dtype(sys.modules["torch"].float32)
    sys.modules["torch"].set_grad_enabled(True)
if "matplotlib.pyplot" in sys.modules:
    sys.modules["matplotlib.pyplot"].close("all")
get_ipython().run_line_magic("reset", "-f")
"""

_ANSI_COLOURS = re.compile(r"\x1b\[[0-9;]*m")   # IPython colours its tracebacks


def paths() -> list[str]:
    """Every committed notebook, sorted by name."""
    return sorted(glob.glob(os.path.join(FOLDER, "*.ipynb")))


def topic(path: str) -> str:
    """``notebooks/attention.ipynb`` -> ``attention``."""
    return os.path.splitext(os.path.basename(path))[0]


def stray_outputs(notebook: Any) -> list[str]:
    """What a notebook shipped without outputs must not hold, one line per finding (empty: clean)."""
    found = []
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {number}: {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {number}: execution_count {cell.execution_count}")
    return found


@dataclass
class Run:
    """One notebook executed against one implementation."""

    path: str
    impl: str           # the COURSE_IMPL it ran with
    seconds: float      # wall time from its first cell to its last, the shared kernel already started
    cpu_seconds: float | None  # CPU time its kernel spent on it (None when it failed)
    error: str | None   # the failing cell and its traceback (or why the kernel stopped); None if none
    notebook: Any       # the executed notebook, outputs included

    def text(self) -> str:
        """Everything the notebook printed or displayed as text, cell after cell."""
        parts = []
        for cell in self.notebook.cells:
            for output in cell.get("outputs", []):
                if output.output_type == "stream":
                    parts.append(output.text)
                elif output.output_type == "error":
                    parts.append(f"{output.ename}: {output.evalue}")
                else:
                    parts.append(output.get("data", {}).get("text/plain", ""))
        return "\n".join(parts)

    def images(self, number: int) -> int:
        """How many PNG images code cell ``number`` displayed."""
        return sum("image/png" in output.get("data", {}) for output in self.notebook.cells[number].get("outputs", []))


def execute(jobs: list[tuple[str, str]], workers: int = 2, timeout: float = CELL_TIMEOUT) -> list[Run]:
    """Executes each ``(notebook path, implementation)`` top to bottom, ``workers`` at a time.

    Each worker thread holds one kernel and takes the next job when it is done with one; a
    notebook that fails is followed by a fresh kernel. The kernel's matplotlib draws inline
    (PNG outputs) and torch uses one thread per kernel. Returns the runs in the order of ``jobs``.
    """
    pending: queue.Queue = queue.Queue()
    for job in jobs:
        pending.put(job)
    runs: dict[tuple[str, str], Run] = {}
    threads = [threading.Thread(target=_worker, args=(pending, runs, timeout), daemon=True)
               for _ in range(min(workers, len(jobs)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    missing = [job for job in jobs if job not in runs]
    if missing:
        raise RuntimeError(f"notebooks not executed (a worker failed): {missing}")
    return [runs[job] for job in jobs]


def _kernel_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures as PNG outputs
    environment["OMP_NUM_THREADS"] = "1"  # one thread per kernel: the workers already fill the cores
    return environment


def _worker(pending: queue.Queue, runs: dict, timeout: float) -> None:
    from jupyter_client.manager import AsyncKernelManager

    kernel = None
    try:
        while True:
            try:
                path, impl = pending.get_nowait()
            except queue.Empty:
                return
            if kernel is None:
                kernel = AsyncKernelManager(kernel_name="python3")
            run = _run_one(kernel, path, impl, timeout)
            runs[(path, impl)] = run
            if run.error is not None:
                _shutdown(kernel)
                kernel = None
    finally:
        if kernel is not None:
            _shutdown(kernel)


def _run_one(kernel, path: str, impl: str, timeout: float) -> Run:
    import nbformat
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    reset = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_RESET.format(folder=FOLDER, impl=impl))])
    start, cpu_seconds, error = time.perf_counter(), None, None
    try:
        _execute_on(kernel, reset, timeout)   # starts the kernel on its first use
        cpu_before = _kernel_cpu_seconds(kernel, timeout)
        start = time.perf_counter()
        _execute_on(kernel, notebook, timeout)
        cpu_seconds = _kernel_cpu_seconds(kernel, timeout) - cpu_before
    except CellExecutionError as exc:
        error = _ANSI_COLOURS.sub("", str(exc))
    except Exception as exc:  # a timeout, a dead kernel, a kernel that never started
        error = f"{type(exc).__name__}: {exc}"
    return Run(path, impl, time.perf_counter() - start, cpu_seconds, error, notebook)


def _kernel_cpu_seconds(kernel, timeout: float) -> float:
    """The CPU time the kernel process has used so far (all its threads)."""
    import nbformat

    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(__import__("time").process_time())')])
    _execute_on(kernel, probe, timeout)
    return float(probe.cells[0].outputs[0].text)


def _execute_on(kernel, notebook, timeout: float) -> None:
    from nbclient import NotebookClient

    client = NotebookClient(notebook, km=kernel, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": FOLDER}})
    try:
        client.execute(env=_kernel_environment())
    finally:
        if client.kc is not None:
            client.kc.stop_channels()


def _shutdown(kernel) -> None:
    from jupyter_core.utils import run_sync

    if kernel.has_kernel:
        run_sync(kernel.shutdown_kernel)(now=True)
