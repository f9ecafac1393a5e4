"""Fixtures the grader's self-tests share."""
import pytest

from autograder import zygote


@pytest.fixture(scope="module")
def fork_servers():
    """Judges and workers forked by the fork servers, as every grade, batch and validate starts them
    (a module's grades then import torch once, not twice per topic)."""
    with zygote.running() as started:
        yield started
