# attack: imports the instructor's solutions and the hidden tests as modules
# layer: mount namespace: the repository is not in the worker's file system
# imports: solutions, autograder, importlib, sys
# needs: namespaces
import importlib as _importlib
import sys as _sys

_sys.path[:0] = [_sys.prefix + "/..", _sys.prefix + "/../.."]
for _name in ("solutions.attention", "autograder.hidden.test_attention"):
    try:
        _module = _importlib.import_module(_name)
        globals().update({k: v for k, v in vars(_module).items() if not k.startswith("_")})
    except Exception:
        pass
