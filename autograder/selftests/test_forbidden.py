"""The static scan: every route to a forbidden call is found and charged to the right exercise."""
import pytest

from autograder import forbidden
from autograder.config import load

ATTENTION = load().topics["attention"]
EXERCISES = list(ATTENTION.exercises)


def scan(code):
    return forbidden.scan(code, "attention.py", forbidden.ForbiddenSet(ATTENTION.forbidden, ATTENTION.forbidden_aten),
                          EXERCISES)


@pytest.mark.parametrize("code,call", [
    ("import torch\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim)\n", "torch.softmax"),
    ("import torch.nn.functional as F\ndef softmax(x, dim=-1):\n    return F.softmax(x, dim)\n",
     "torch.nn.functional.softmax"),
    ("from torch import softmax as sm\ndef softmax(x, dim=-1):\n    return sm(x, dim)\n", "torch.softmax"),
    ("import torch\ndef softmax(x, dim=-1):\n    return getattr(torch, 'softmax')(x, dim)\n", "torch.softmax"),
    ("def softmax(x, dim=-1):\n    return x.softmax(dim)\n", "torch.Tensor.softmax"),
    ("import torch\ndef softmax(x, dim=-1):\n    return torch._softmax(x, dim, False)\n", "torch.ops.aten._softmax"),
    ("import torch\ndef softmax(x, dim=-1):\n    return torch.ops.aten._softmax(x, dim, False)\n",
     "torch.ops.aten._softmax"),
    ("import torch\ndef softmax(x, dim=-1):\n    return torch.nn.modules.activation.Softmax(dim)(x)\n",
     "torch.nn.Softmax"),
    ("import torch\n_sm = torch.special.softmax\ndef _helper(x):\n    return _sm(x, -1)\n"
     "def softmax(x, dim=-1):\n    return _helper(x)\n", "torch.special.softmax"),
])
def test_routes_are_found(code, call):
    hits = scan(code)
    assert [h.call for h in hits["softmax"]] == [call]


def test_hits_name_their_line():
    hits = scan("import torch\n\n\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim)\n")
    assert hits["softmax"][0].line == 5
    assert hits["softmax"][0].describe("attention.py") == (
        "in `softmax` (attention.py:5): forbidden call torch.softmax (the module's docstring lists every "
        "forbidden call)")


def test_clean_code_and_docstrings_are_not_hits():
    code = ('import torch\ndef softmax(x, dim=-1):\n    """Compared against torch.softmax."""\n'
            '    e = (x - x.amax(dim, keepdim=True)).exp()\n    return e / e.sum(dim, keepdim=True)\n'
            'def causal_mask(n, device=None):\n    return torch.ones(n, n, dtype=torch.bool).tril()\n')
    assert scan(code) == {}


def test_an_exercise_pays_for_the_helpers_it_calls_only():
    code = ("import torch\ndef _bad(x):\n    return torch.softmax(x, -1)\n"
            "def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):\n    return _bad(q)\n"
            "def causal_mask(n, device=None):\n    return None\n")
    hits = scan(code)
    assert set(hits) == {"scaled_dot_product_attention"}


def test_a_forbidden_call_is_charged_to_the_exercise_that_holds_it_not_to_its_callers():
    """Another exercise calling softmax is graded with the grader's softmax; the guard sees the rest."""
    code = ("import torch\ndef _bad(x):\n    return torch.softmax(x, -1)\n"
            "def softmax(x, dim=-1):\n    return _bad(x)\n"
            "def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):\n    return softmax(q)\n"
            "def causal_mask(n, device=None):\n    return None\n")
    hits = scan(code)
    assert set(hits) == {"softmax"} and hits["softmax"][0].function == "_bad"


def test_reaching_into_the_interpreter_is_charged_to_every_caller():
    """What the runtime guard cannot stop must not run during another exercise's tests either."""
    code = ("def softmax(x, dim=-1):\n    return x.f_back\n"
            "def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):\n    return softmax(q)\n")
    assert set(scan(code)) == {"softmax", "scaled_dot_product_attention"}


def test_a_whole_module_can_be_forbidden():
    fs = forbidden.ForbiddenSet(["torch.nn.init.*"], [])
    code = "from torch.nn import init\ndef f(t):\n    return init.xavier_uniform_(t)\ndef g(t):\n    return t.uniform_()\n"
    hits = forbidden.scan(code, "x.py", fs, ["f", "g"])
    assert set(hits) == {"f"} and hits["f"][0].call == "torch.nn.init.xavier_uniform_"


# --------------------------------------------------------------------------- what reaches beneath the names

def scan_with_imports(code):
    return forbidden.scan(code, "attention.py", forbidden.ForbiddenSet(ATTENTION.forbidden, ATTENTION.forbidden_aten),
                          EXERCISES, ATTENTION.imports)


@pytest.mark.parametrize("code,says", [
    ("import os\n", "`import os` is not allowed: a submission may import only"),
    ("import subprocess as sp\n", "`import subprocess` is not allowed"),
    ("from ctypes import CDLL\n", "`from ctypes import …` is not allowed"),
    ("from torch import os\n", "`from torch import os` is not allowed"),
    ("from .helpers import x\n", "a relative import"),
    ("from torch.nn.functional import *\n", "hides which names are used"),
    ("x = eval('1')\n", "`eval` is not available"),
    ("exec('x = 1')\n", "`exec` is not available"),
    ("c = compile('1', 'f', 'eval')\n", "`compile` is not available"),
    ("m = __import__('os')\n", "`__import__` is not available"),
    ("t = open('/etc/passwd').read()\n", "`open` is not available"),
    ("g = vars(torch)\n", "`vars` is not available"),
    ("g = globals()\n", "`globals` is not available"),
    ("f = torch.softmax.__wrapped__\n", "`.__wrapped__` reaches into Python's internals"),
    ("f = (lambda: 0).__globals__\n", "`.__globals__`"),
    ("s = object.__subclasses__()\n", "`.__subclasses__`"),
    ("b = __builtins__\n", "`__builtins__`"),
    ("import math\nf = math.sin.__self__.__dict__\n", "`.__dict__`"),
    ("def softmax(x, dim=-1):\n    return x.f_back.f_globals\n", "inspects the running program"),
    ("s = torch.sys\n", "`.sys` reaches the module sys"),
    ("t = torch\nm = t.os.system\n", "`.os` reaches the module os"),
    ("torch.testing.assert_close = print\n", "changes torch.testing itself"),
    ("import torch.nn as nn\nnn.Module.forward = print\n", "changes torch.nn.Module itself"),
    ("setattr(torch, 'allclose', print)\n", "`setattr(torch, …)` changes torch itself"),
    ("def softmax(x, dim=-1):\n    type(x).add = print\n", "changes a class itself"),
    ("def softmax(x, dim=-1):\n    return torch.jit.script(x)\n", "forbidden call torch.jit.script"),
    ("def softmax(x, dim=-1):\n    return torch._refs.softmax(x, -1)\n", "forbidden call torch._refs.softmax"),
])
def test_what_reaches_beneath_the_names_is_rejected_with_its_line(code, says):
    hits = scan_with_imports("import torch\nimport math\n" + code)
    assert hits, code
    described = [h.describe("attention.py") for found in hits.values() for h in found]
    assert any(says in d and "(attention.py:" in d for d in described), described


def test_honest_code_is_not_rejected():
    code = ("from __future__ import annotations\nimport math\nfrom typing import Optional\nimport torch\n"
            "from torch import nn\nimport functools, itertools, collections, copy, warnings\n"
            "class Block(nn.Module):\n"
            "    def __init__(self, d):\n        super().__init__()\n        self.lin = nn.Linear(d, d)\n"
            "    def forward(self, input):\n        return self.lin(input)\n"
            "    def __repr__(self):\n        return type(self).__name__ + self.__class__.__qualname__\n"
            "def swap(model, name, new):\n    setattr(model, name, new)\n    del model.train\n"
            "    return getattr(model, name)\n")
    assert scan_with_imports(code) == {}


def test_a_module_level_rejection_costs_every_exercise():
    hits = scan_with_imports("import os\ndef softmax(x, dim=-1):\n    return x\n")
    assert set(hits) == set(EXERCISES)


def test_every_solution_and_known_wrong_variant_passes_the_scan():
    """The rules bite submissions, never the course's own code (solutions full marks depends on it)."""
    import glob
    import os

    from autograder import config, source

    grading = config.load()
    for topic, cfg in grading.topics.items():
        rules = forbidden.ForbiddenSet(cfg.forbidden, cfg.forbidden_aten)
        with open(os.path.join(source.SOLUTIONS, f"{topic}.py"), encoding="utf-8") as f:
            solution = source.strip_markers(f.read())
        assert forbidden.scan(solution, f"{topic}.py", rules, list(cfg.exercises), cfg.imports) == {}, topic
        for path in glob.glob(os.path.join(source.REPO_ROOT, "autograder", "mutants", topic, "*.py")):
            with open(path, encoding="utf-8") as f:
                text = solution + "\n" + f.read()
            hits = forbidden.scan(text, f"{topic}.py", rules, list(cfg.exercises), cfg.imports)
            assert all(not h.reason for found in hits.values() for h in found), (path, hits)
