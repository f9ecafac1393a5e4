# attack: drives pytest from inside the submission: skip, xfail, exit, and hooks defined at module level
# layer: the worker does not run pytest: what it raises is an error of that test
# imports: pytest, _pytest
import pytest


def pytest_runtest_makereport(item, call):
    call.excinfo = None


def softmax(x, dim=-1):
    pytest.skip("nothing to see")


def causal_mask(length, device=None):
    pytest.xfail("expected")


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    pytest.exit("done", returncode=0)
