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
    assert hits["softmax"][0].describe("attention.py") == "uses forbidden torch.softmax (attention.py:5)"


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


def test_a_whole_module_can_be_forbidden():
    fs = forbidden.ForbiddenSet(["torch.nn.init.*"], [])
    code = "from torch.nn import init\ndef f(t):\n    return init.xavier_uniform_(t)\ndef g(t):\n    return t.uniform_()\n"
    hits = forbidden.scan(code, "x.py", fs, ["f", "g"])
    assert set(hits) == {"f"} and hits["f"][0].call == "torch.nn.init.xavier_uniform_"
