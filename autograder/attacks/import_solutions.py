# attack: loads the instructor's solutions and the hidden tests as modules, from the paths next to the venv
# layer: mount namespace: the repository is not in the worker's file system
# imports: importlib, sys
# needs: namespaces
import importlib.util as _util
import sys as _sys

_found = {}
for _root in (_sys.prefix + "/..", _sys.prefix + "/../..", "/work/main"):
    for _name, _path in (("solution", "/solutions/attention.py"), ("hidden", "/autograder/hidden/test_attention.py")):
        try:
            _spec = _util.spec_from_file_location(f"_stolen_{_name}", _root + _path)
            _module = _util.module_from_spec(_spec)
            _spec.loader.exec_module(_module)
            _found[_name] = _module
        except Exception:
            pass

if "solution" in _found:  # names computed, so that the static scan has nothing to match
    softmax = getattr(_found["solution"], "soft" + "max")
    causal_mask = getattr(_found["solution"], "causal_" + "mask")
    scaled_dot_product_attention = getattr(_found["solution"], "scaled_dot_product_" + "attention")
    MultiHeadAttention = getattr(_found["solution"], "MultiHead" + "Attention")
