"""Time limits that fit the work: limits from the solutions' measured times, hung exercises cut short,
a budget for the whole submission."""
import json

import pytest
import yaml

from autograder import config, judge, timings
from autograder.selftests.helpers import by_exercise, make_config, make_submission

pytestmark = pytest.mark.usefixtures("fork_servers")


def test_recorded_times_match_the_current_tests_and_solutions():
    stale = timings.stale(list(config.load().topics))
    assert stale == [], f"re-measure with `python -m autograder validate` (stale: {', '.join(stale)})"


def test_every_graded_test_has_a_recorded_time():
    recorded = timings.load()["topics"]
    for topic in config.load().topics:
        names = recorded[topic]["tests"]
        assert len(names) > 10 and all(seconds >= 0 for seconds in names.values()), topic


def test_a_limit_is_the_solutions_time_times_a_factor_plus_slack(monkeypatch):
    topic = config.load().topics["attention"]
    monkeypatch.setattr(timings, "load", lambda: {"topics": {"attention": {
        "fingerprint": timings.fingerprint("attention"), "tests": {"t::fast": 0.1, "t::slow": 50.0}}}})
    assert timings.limit(topic, "attention", "t::fast") == pytest.approx(topic.timeout_factor * 0.1
                                                                         + topic.timeout_slack)
    assert timings.limit(topic, "attention", "t::slow") == topic.test_timeout  # never above grading.yml's
    assert timings.limit(topic, "attention", "t::unknown") == topic.test_timeout


def test_a_stale_record_is_not_used(monkeypatch):
    topic = config.load().topics["attention"]
    monkeypatch.setattr(timings, "load", lambda: {"topics": {"attention": {"fingerprint": "old",
                                                                           "tests": {"t::fast": 0.1}}}})
    assert timings.limit(topic, "attention", "t::fast") == topic.test_timeout
    assert timings.stale(["attention"]) == ["attention"]


def test_a_hung_exercise_stops_costing_time_after_its_first_timeout(tmp_path, monkeypatch):
    path = make_config(tmp_path, test_timeout=4)
    monkeypatch.setenv("AUTOGRADER_CONFIG", path)
    folder = make_submission(tmp_path / "submission", """
        def causal_mask(length, device=None):
            while True:
                pass
    """)
    result = judge.grade(folder, topics=["attention"], suite="hidden", device="cpu", grading=config.load(path))
    tests = by_exercise(result["topics"]["attention"])
    first, *rest = tests["causal_mask"]
    assert first["status"] == "timeout" and "time limit exceeded" in first["message"]
    assert rest and all(t["status"] == "timeout" and t["score"] == 0 for t in rest)
    assert all(t["message"] == f"not run: this exercise already exceeded its time limit in {first['name'].split('/')[1]}"
               for t in rest)
    assert all(t["duration"] < 2 for t in rest)
    for exercise in ("softmax", "scaled_dot_product_attention", "MultiHeadAttention"):
        assert {t["status"] for t in tests[exercise]} == {"passed"}, exercise


def test_the_submission_budget_ends_the_grade_and_says_so(tmp_path, monkeypatch):
    path = make_config(tmp_path, test_timeout=300, timeout_slack=300)  # no limit short of the budget
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["defaults"]["submission_budget"] = 12
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f)
    monkeypatch.setenv("AUTOGRADER_CONFIG", path)
    folder = make_submission(tmp_path / "submission", """
        import time as _time
        def softmax(x, dim=-1):
            _time.sleep(600)
    """)
    result = judge.grade(folder, topics=["attention"], suite="public", device="cpu", grading=config.load(path))
    topic = result["topics"]["attention"]
    assert topic["max_score"] == 60 and topic["seconds"] < 60
    cut = [t for t in topic["tests"] if t["message"] == "not reached: the submission's time budget (12 s) ran out"]
    assert cut and all(t["score"] == 0 for t in cut)
    assert json.dumps(result)  # the report is complete and serialisable


def test_slow_but_correct_code_still_passes(tmp_path, monkeypatch):
    """A softmax that loops over rows in Python and takes 0.2 s a call (tens of times the solution's time)
    keeps full marks on every softmax test, public and hidden, under the measured limits."""
    path = make_config(tmp_path)
    monkeypatch.setenv("AUTOGRADER_CONFIG", path)
    folder = make_submission(tmp_path / "submission", """
        import time as _time

        def softmax(x, dim=-1):
            _time.sleep(0.2)
            moved = x.movedim(dim, -1)
            rows = []
            for row in moved.reshape(-1, moved.shape[-1]):  # one row at a time
                exps = (row - row.detach().max()).exp()
                rows.append(exps / exps.sum())
            return torch.stack(rows).reshape(moved.shape).movedim(-1, dim)
    """)
    result = judge.grade(folder, topics=["attention"], suite="all", device="cpu", grading=config.load(path))
    softmax_tests = by_exercise(result["topics"]["attention"])["softmax"]
    assert {t["status"] for t in softmax_tests} == {"passed"}, [t for t in softmax_tests if t["status"] != "passed"][:2]
