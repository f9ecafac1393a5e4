"""The end-of-test audit: every name of torch a submission replaced, removed or added is reported
(:meth:`autograder.guard.Guard.audit`), and the judge asks for it after every test that ran code of the
submission (:func:`autograder.plugin._audit`)."""
from __future__ import annotations

import pytest
import torch

from autograder import guard, plugin


@pytest.fixture
def audit():
    watch = guard.Guard([], [], ["torch"], [], "attention")  # nothing forbidden: nothing of torch is wrapped
    watch.install()
    assert watch.audit() == []
    return watch.audit


def test_an_untouched_torch_is_no_change(audit):
    assert audit() == []


def test_a_replaced_function_is_reported(audit, monkeypatch):
    monkeypatch.setattr(torch.nn.functional, "relu", lambda x: x)
    assert audit() == ["torch.nn.functional.relu"]


def test_a_method_shadowed_on_the_tensor_class_is_reported(audit, monkeypatch):
    monkeypatch.setattr(torch.Tensor, "softmax", lambda self, dim: self, raising=False)
    assert audit() == ["torch.Tensor.softmax"]


def test_a_name_removed_and_one_added_are_both_reported_though_the_count_is_the_same(audit, monkeypatch):
    monkeypatch.delattr(torch.nn.functional, "gelu")
    monkeypatch.setattr(torch.nn.functional, "my_gelu", lambda x: x, raising=False)
    assert sorted(audit()) == ["torch.nn.functional.gelu", "torch.nn.functional.my_gelu"]


def test_a_change_put_back_is_no_change(audit, monkeypatch):
    original = torch.softmax
    monkeypatch.setattr(torch, "softmax", lambda x, dim: x)
    assert audit() == ["torch.softmax"]
    monkeypatch.setattr(torch, "softmax", original)
    assert audit() == []


class FakeProcess:
    def poll(self):
        return None


class FakeWorker:
    """Stands for a live worker: records what the judge asks it."""

    def __init__(self, requests: int):
        self.proc = FakeProcess()
        self.import_error = None
        self.requests = requests
        self.serving = ["softmax"]
        self.asked: list[str] = []

    def request(self, request: dict) -> list[str]:
        self.asked.append(request["op"])
        return []


class FakeSubmission:
    def __init__(self, worker: FakeWorker):
        self.worker = worker


def test_the_judge_audits_every_test_that_sent_the_worker_a_request():
    worker = FakeWorker(requests=1)
    assert plugin._audit(FakeSubmission(worker)) == []
    assert worker.asked == ["audit"] and worker.serving == []


def test_a_test_that_sent_the_worker_nothing_ran_none_of_its_code_and_is_not_audited():
    worker = FakeWorker(requests=0)  # e.g. skipped before it reached the submission
    assert plugin._audit(FakeSubmission(worker)) == []
    assert worker.asked == []


def test_tf32_is_off_where_tests_run_and_turned_off_again_when_a_submission_turns_it_on():
    # this process runs the plugin, as every judge and local run does: float32 is full float32 on every device
    assert torch.backends.cuda.matmul.allow_tf32 is False and torch.backends.cudnn.allow_tf32 is False
    state = guard.torch_state()
    try:
        torch.backends.cudnn.allow_tf32 = True  # what a submission may do at import
        assert guard.restore_torch_state(state) == ["TF32 convolutions False -> True"]
        assert torch.backends.cudnn.allow_tf32 is False
    finally:
        guard.full_float32()
