"""Single source: solutions -> exercises, marker errors, and the drift check."""
import os
import shutil

import pytest

from autograder import source

SAMPLE = '''"""Module."""
import torch


def double(x):
    """Twice x."""
    if x.dim() == 0:
        raise ValueError("x must have at least one dimension")
    # hint stays
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


class Box:
    def area(self, w, h):
        ### BEGIN SOLUTION
        def helper(a, b):
            return a * b
        return helper(w, h)
        ### END SOLUTION
'''


def test_regions_become_todo_and_not_implemented():
    text = source.strip_solutions(SAMPLE, "t.py", "topic")
    assert 'raise NotImplementedError("topic.double")' in text
    assert 'raise NotImplementedError("topic.Box.area")' in text
    assert "# TODO: implement topic.double (see the docstring)." in text
    for kept in ('"""Twice x."""', "raise ValueError", "# hint stays"):
        assert kept in text
    assert "2 * x" not in text and "helper" not in text and "BEGIN" not in text
    compile(text, "t.py", "exec")


@pytest.mark.parametrize("broken,message", [
    (SAMPLE.replace("    return 2 * x\n", "    ### BEGIN SOLUTION\n    return 2 * x\n", 1), "t.py:11: nested"),
    (SAMPLE.replace("    ### END SOLUTION\n\n\nclass", "\n\nclass", 1), "t.py:15: the region opened at line 10 runs"),
    (SAMPLE.replace("    ### BEGIN SOLUTION\n    return 2", "    return 2", 1), "t.py:11: ### END SOLUTION without"),
    (SAMPLE + "### BEGIN SOLUTION\n", "outside a function"),
    (SAMPLE.replace("        ### END SOLUTION\n", ""), "t.py:17: ### BEGIN SOLUTION is never closed"),
])
def test_malformed_markers_name_file_and_line(broken, message):
    with pytest.raises(source.MarkerError, match=message):
        source.strip_solutions(broken, "t.py", "topic")


def test_committed_exercises_match_the_solutions():
    assert source.drift() == []


def test_drift_is_detected(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(source.SOLUTIONS, solutions, ignore=shutil.ignore_patterns("__pycache__"))
    source.generate(str(solutions), str(exercises))
    assert source.drift(str(solutions), str(exercises)) == []
    with open(exercises / "attention.py", "a") as f:
        f.write("# edited by hand\n")
    os.remove(exercises / "mlp.py") if (exercises / "mlp.py").exists() else None
    problems = source.drift(str(solutions), str(exercises))
    assert any("exercises/attention.py differs" in p and "edited by hand" in p for p in problems)


def test_stub_bodies_raise_not_implemented():
    for name, text in source.expected_exercises().items():
        for line in text.splitlines():
            assert "### BEGIN SOLUTION" not in line, name
        assert "NotImplementedError" in text, f"{name} has no exercise region"


def test_exercise_docstrings_state_the_grading_rules_and_drift_with_grading_yml(tmp_path, monkeypatch):
    from autograder.selftests.helpers import make_config

    with open(os.path.join(source.EXERCISES, "attention.py"), encoding="utf-8") as f:
        text = f.read()
    docstring = text[:text.index('"""', 3)]
    assert "``torch.softmax``" in docstring and "torch.jit.script" in docstring
    assert "``MultiHeadAttention`` uses ``softmax``, ``causal_mask``,\n  ``scaled_dot_product_attention``" in docstring
    path = make_config(tmp_path, forbidden=["torch.softmax", "torch.exp"])
    monkeypatch.setenv("AUTOGRADER_CONFIG", path)
    assert "``torch.exp``" in source.grading_rules("attention")
    assert any(p.startswith("exercises/attention.py differs") for p in source.drift())
