"""One comparison for every test: ``torch.testing.assert_close`` plus context.

The failure message keeps torch's own report (mismatched elements, greatest absolute
and relative difference and where) and puts in front of it which exercise, which
inputs, and — only when the wrong answer equals a known mistake — a hint naming it::

    attention.scaled_dot_product_attention: output differs from the reference
      inputs: q (2, 3, 5, 8) float64, k (2, 3, 7, 8) float64, v (2, 3, 7, 4) float64
      hint: your output equals attention without the 1/sqrt(E) scaling.
    Tensor-likes are not close!
    Mismatched elements: 120 / 120 (100.0%)
    ...

A text shown whatever the wrong answer is cannot know the student's mistake: it lists
``common causes: …`` (a selftest holds every suite to that wording) and is printed as it is,
not as a ``hint:`` (the class summary counts ``hint:`` lines as diagnosed mistakes).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch

from autograder import config

CAUSES = "common causes: "  # how a hint shown whatever the wrong answer is begins

@functools.lru_cache(maxsize=1)
def tolerances() -> dict[str, tuple[float, float]]:
    """dtype name -> (rtol, atol), from ``grading.yml`` (torch's defaults unless overridden)."""
    return config.load().tolerances


def tolerance(dtype: torch.dtype, gradient: bool = False) -> dict[str, float]:
    """rtol/atol for a dtype; gradients use the ``<dtype>_grad`` row (they sum over many terms)."""
    name = str(dtype).removeprefix("torch.")
    table = tolerances()
    rtol, atol = table.get(f"{name}_grad" if gradient else name, table.get(name, (0.0, 0.0)))
    return {"rtol": rtol, "atol": atol}


def describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        shape = tuple(value.shape)
        return f"{shape} {str(value.dtype).removeprefix('torch.')}" + ("" if value.device.type == "cpu"
                                                                       else f" on {value.device}")
    return repr(value) if len(repr(value)) < 60 else type(value).__name__


def _close(actual: Any, expected: Any, **tol: float) -> bool:
    try:
        torch.testing.assert_close(actual, expected, **tol)
        return True
    except (AssertionError, TypeError, RuntimeError, ValueError):
        return False


def assert_close(actual: Any, expected: Any, *, exercise: str, what: str = "output",
                 inputs: dict[str, Any] | None = None, hint: str | None = None,
                 misconceptions: dict[str, Any] | None = None, rtol: float | None = None,
                 atol: float | None = None, check_dtype: bool = True, equal_nan: bool = False) -> None:
    """Assert ``actual`` matches ``expected`` within the dtype's tolerance, with a readable message.

    Args:
        exercise: ``"<topic>.<name>"`` of the exercise under test.
        what: what is compared (``"output"``, ``"gradient w.r.t. q"`` …); a ``what`` that
            starts with "gradient" uses the dtype's gradient tolerance.
        inputs: named inputs, listed with their shapes and dtypes in the message.
        hint: ``"common causes: …"``, added to the message whenever the comparison fails.
        misconceptions: description -> what a known-wrong implementation would return; when
            ``actual`` matches one of them, the message says so ("your output equals …").
        rtol, atol: override the table (set both or neither).
    """
    __tracebackhide__ = True  # a failure points at the test's line, not at this helper
    if (rtol is None) != (atol is None):
        raise ValueError("set rtol and atol together")
    if not isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor):
        raise AssertionError(f"{exercise}: {what} should be a torch.Tensor, got {type(actual).__name__}"
                             + _inputs_line(inputs))
    dtype = expected.dtype if isinstance(expected, torch.Tensor) else torch.float64
    tol = {"rtol": rtol, "atol": atol} if rtol is not None else tolerance(dtype, what.startswith("gradient"))
    header = [f"{exercise}: {what} differs from the reference"]
    if inputs:
        header.append(_inputs_line(inputs).strip())
    matched = [desc for desc, wrong in (misconceptions or {}).items()
               if isinstance(actual, torch.Tensor)
               and _close(actual, wrong, check_dtype=False, equal_nan=equal_nan, **tol)]
    if matched:
        header.append(f"hint: your {what} equals {matched[0]}.")
    if hint:
        header.append(hint if hint.startswith(CAUSES) else f"hint: {hint}")
    if isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor) and actual.shape != expected.shape:
        raise AssertionError("\n  ".join(header) + f"\nshape {tuple(actual.shape)} != expected {tuple(expected.shape)}")
    torch.testing.assert_close(actual, expected, check_dtype=check_dtype, equal_nan=equal_nan,
                               msg=_prefix("\n  ".join(header)), **tol)


def _inputs_line(inputs: dict[str, Any] | None) -> str:
    if not inputs:
        return ""
    return "\n  inputs: " + ", ".join(f"{k} {describe(v)}" for k, v in inputs.items())


def _prefix(header: str) -> Callable[[str], str]:
    return lambda torch_message: f"{header}\n{torch_message}"


def assert_true(condition: bool, *, exercise: str, message: str, inputs: dict[str, Any] | None = None) -> None:
    """A plain check with the same message layout (for properties that are not tensor equality)."""
    __tracebackhide__ = True
    if not condition:
        raise AssertionError(f"{exercise}: {message}{_inputs_line(inputs)}")
