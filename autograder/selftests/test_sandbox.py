"""The grader against hostile or broken submissions: each is contained and scored honestly.

Every case grades the public `attention` suite of a submission that is the solution plus
one appended change, with short time limits from a private grading.yml. Judges and workers
are forked by the fork servers (:mod:`autograder.zygote`), as in every grade.
"""
import json
import subprocess
import sys
import tempfile

import pytest

from autograder import config, judge, sandbox
from autograder.selftests.helpers import by_exercise, local_pytest, make_config, make_submission


pytestmark = pytest.mark.usefixtures("fork_servers")


@pytest.fixture
def grade(tmp_path, monkeypatch):
    """grade(append, **limits) -> the attention topic's report for solution + append."""
    def run(append: str = "", text: str | None = None, suite: str = "public", **limits):
        path = make_config(tmp_path, **({"test_timeout": 4, "topic_timeout": 120} | limits))
        monkeypatch.setenv("AUTOGRADER_CONFIG", path)
        folder = make_submission(tmp_path / "submission", append, text=text)
        report = judge.grade(folder, topics=["attention"], suite=suite, device="cpu", grading=config.load(path))
        assert not report.get("faults"), report.get("faults")
        return report["topics"]["attention"]
    return run


def test_the_jail_keeps_what_it_binds_under_tmp(tmp_path):
    """A checkout or venv under /tmp (a clean clone there) stays visible inside the worker's private /tmp."""
    jailed = [level for level in ("full", "namespaces") if sandbox.works(level)]
    if not jailed:  # no jail on this machine: nothing is bound, the weaker levels read files in place
        assert sandbox.best_level() in ("limits", "none")
        return
    (tmp_path / "checkout").mkdir()
    (tmp_path / "checkout" / "module.py").write_text("VALUE = 42\n")
    inside = str(tmp_path / "checkout")
    assert inside.startswith("/tmp/")
    for level in jailed:
        with tempfile.TemporaryDirectory(prefix="autograder-test-root-") as root:
            spec = sandbox._spec(level, config.Limits(), binds=sandbox._interpreter_binds() + [[inside, inside]],
                                 devices=list(sandbox.DEVICES), cwd="/tmp", env={}, root=root,
                                 argv=[sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {inside!r}); "
                                       "import module; assert module.VALUE == 42; open('/tmp/scratch', 'w')"])
            done = subprocess.run([sys.executable, "-I", "-S", sandbox.JAIL, json.dumps(spec)],
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, (level, done.stderr[-1000:])


def statuses(topic_report, exercise):
    return {t["status"] for t in by_exercise(topic_report)[exercise]}


@pytest.mark.parametrize("level", sandbox.LEVELS)
def test_every_level_grades_honest_code_the_same(tmp_path, level):
    folder = make_submission(tmp_path / "submission")
    if not sandbox.works(level):  # this machine lacks it: asking for it is refused, naming what it has
        with pytest.raises(sandbox.SandboxError, match="not available here"):
            sandbox.resolve(level)
        return
    report = judge.grade(folder, topics=["attention"], suite="public", device="cpu", level=level)
    assert report["sandbox"] == sandbox.describe(level)
    assert report["topics"]["attention"]["score"] == 60


def test_solution_scores_full_marks(grade):
    result = grade()
    assert result["score"] == result["max_score"] == 60
    assert all(t["status"] == "passed" for t in result["tests"])


def test_endless_loop_times_out_only_that_exercise(grade):
    result = grade("""
        def causal_mask(length, device=None):
            while True:
                pass
    """)
    assert statuses(result, "causal_mask") == {"timeout"}
    assert "time limit" in by_exercise(result)["causal_mask"][0]["message"]
    for exercise in ("softmax", "scaled_dot_product_attention", "MultiHeadAttention"):
        assert statuses(result, exercise) == {"passed"}
    assert result["score"] == 55


def test_topic_time_limit_keeps_finished_results(grade):
    result = grade("""
        import time as _time
        def causal_mask(length, device=None):
            _time.sleep(600)
    """, test_timeout=300, timeout_slack=300, topic_timeout=60)  # no test limit short of the topic's
    assert statuses(result, "causal_mask") == {"timeout"}
    assert statuses(result, "softmax") == {"passed"}  # graded before the limit struck
    unreached = [t for t in result["tests"] if "not reached" in t["message"]]
    assert unreached and all(t["status"] == "timeout" and t["score"] == 0 for t in unreached)
    assert result["max_score"] == 60


def test_hard_exit_is_an_error_of_that_exercise(grade):
    result = grade("""
        import os as _os
        def causal_mask(length, device=None):
            _os._exit(7)
    """, imports=["os"])
    assert statuses(result, "causal_mask") == {"error"}
    assert "exit code 7" in by_exercise(result)["causal_mask"][0]["message"]
    assert statuses(result, "MultiHeadAttention") == {"passed"}


def test_sys_exit_is_contained(grade):
    result = grade("""
        import sys as _sys
        def softmax(x, dim=-1):
            _sys.exit(0)
    """, imports=["sys"])
    assert statuses(result, "softmax") == {"error"}
    assert "exit" in by_exercise(result)["softmax"][0]["message"]
    assert statuses(result, "causal_mask") == {"passed"}


def test_syntax_error_zeroes_the_topic_with_a_one_line_message(grade):
    result = grade("def broken(:\n    pass\n")
    assert result["score"] == 0
    message = result["tests"][0]["message"]
    assert "SyntaxError" in message and "line" in message and "\n" not in message


def test_missing_name_zeroes_only_that_exercise(grade):
    result = grade("del causal_mask\n")
    assert statuses(result, "causal_mask") == {"error"}
    assert "does not define 'causal_mask'" in by_exercise(result)["causal_mask"][0]["message"]
    assert statuses(result, "softmax") == {"passed"}


def test_wrong_return_type_is_named(grade):
    result = grade("""
        def causal_mask(length, device=None):
            return None
    """)
    assert statuses(result, "causal_mask") == {"failed"}
    assert "should be a torch.Tensor, got NoneType" in by_exercise(result)["causal_mask"][0]["message"]


def test_forbidden_call_plain(grade):
    result = grade("""
        def softmax(x, dim=-1):
            return torch.softmax(x, dim=dim)
    """)
    assert statuses(result, "softmax") == {"forbidden"}
    message = by_exercise(result)["softmax"][0]["message"]
    assert "torch.softmax" in message and "attention.py:" in message
    assert statuses(result, "causal_mask") == {"passed"}


def test_forbidden_call_aliased(grade):
    result = grade("""
        from torch.nn import functional as _functional
        _attend = getattr(_functional, "scaled_dot_product_attention")

        def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
            out = _attend(q, k, v, attn_mask=mask, is_causal=is_causal)
            return out, softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    """)
    assert statuses(result, "scaled_dot_product_attention") == {"forbidden"}
    assert "torch.nn.functional.scaled_dot_product_attention" in \
        by_exercise(result)["scaled_dot_product_attention"][0]["message"]
    assert statuses(result, "softmax") == {"passed"}


def test_forbidden_call_hidden_from_the_scan_is_caught_at_run_time(grade):
    result = grade("""
        def softmax(x, dim=-1):
            name = "soft" + "max"
            return getattr(torch, name)(x, dim=dim)
    """)
    assert statuses(result, "softmax") == {"forbidden"}
    assert "torch.softmax" in by_exercise(result)["softmax"][0]["message"]


def test_forbidden_private_aten_alias_at_run_time(grade):
    result = grade("""
        def softmax(x, dim=-1):
            ops = getattr(torch, "o" + "ps")
            return ops.aten._softmax(x, dim, False)
    """)
    assert statuses(result, "softmax") == {"forbidden"}
    assert "_softmax" in by_exercise(result)["softmax"][0]["message"]


def test_swallowed_forbidden_error_still_counts(grade):
    result = grade("""
        def softmax(x, dim=-1):
            try:
                return getattr(torch, "soft" + "max")(x, dim=dim)
            except Exception:
                shifted = x - x.detach().amax(dim=dim, keepdim=True)
                return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)
    """)
    assert statuses(result, "softmax") == {"forbidden"}


def test_printing_garbage_changes_nothing(grade):
    result = grade("""
        print("\\x00garbage" * 1000)
        print("more garbage\\n" * 100, flush=True)
        _original = softmax

        def softmax(x, dim=-1):
            print("noise", x)
            return _original(x, dim)
    """)
    assert result["score"] == result["max_score"]


def test_not_implemented_is_reported_plainly(grade):
    result = grade("""
        def softmax(x, dim=-1):
            raise NotImplementedError("attention.softmax")
    """)
    assert statuses(result, "softmax") == {"error"}
    assert by_exercise(result)["softmax"][0]["message"].startswith("not implemented yet: attention.softmax")


def test_other_topics_are_graded_when_one_is_broken(tmp_path, monkeypatch):
    path = make_config(tmp_path, topics=("attention", "regularization"), test_timeout=4, imports=["os"])
    monkeypatch.setenv("AUTOGRADER_CONFIG", path)
    folder = make_submission(tmp_path / "sub", text="import os\nos._exit(3)\n")
    make_submission(folder, topic="regularization")
    report = judge.grade(folder, topics=["attention", "regularization"], suite="public", device="cpu",
                         grading=config.load(path), jobs=2)
    assert report["topics"]["attention"]["score"] == 0
    reg = report["topics"]["regularization"]
    assert reg["score"] == reg["max_score"] > 0
    assert report["max_score"] == 120


# --------------------------------------------------------------------------- the judge's own records

def _records(*results, partial=""):
    collected = [{"nodeid": f"t::{n}", "name": n, "topic": "attention", "exercise": "softmax", "suite": "public",
                  "skip": False} for n in ("a", "b")]
    lines = [json.dumps({"collected": collected}) + "\n"] + [json.dumps(r) + "\n" for r in results]
    return lines + ([partial] if partial else [])


@pytest.mark.parametrize("bad", [
    "not json\n",
    json.dumps({"nodeid": "t::a", "status": "passed", "message": ""}) + "\n",   # a second result for a
    json.dumps({"nodeid": "t::zzz", "status": "passed", "message": ""}) + "\n",  # never collected
    json.dumps({"nodeid": "t::b", "status": "excellent", "message": ""}) + "\n",  # no such status
    json.dumps({"collected": []}) + "\n",                                         # a second list of tests
])
def test_an_untrustworthy_record_voids_only_its_topic(bad):
    run = judge.TopicRun("attention")
    judge.read_records(_records({"nodeid": "t::a", "status": "passed", "message": ""}) + [bad], run)
    assert run.fault and "not trustworthy" in run.fault and run.results == {}
    scored = judge.score_topic(run, config.load())
    assert scored["score"] == 0
    assert all(t["status"] == "error" for t in scored["tests"])
    assert {t["exercise"] for t in scored["tests"]} == set(config.load().topics["attention"].exercises)


def test_a_line_cut_off_by_a_kill_is_not_a_result():
    run = judge.TopicRun("attention")
    judge.read_records(_records({"nodeid": "t::a", "status": "passed", "message": ""},
                                partial='{"nodeid": "t::b", "sta'), run)
    assert run.fault is None and list(run.results) == ["t::a"]


# --------------------------------------------------------------------------- local runs (plain pytest)

def test_a_local_failure_is_short_and_pdb_opens_in_the_test(tmp_path):
    folder = make_submission(tmp_path / "submission", """
        def softmax(x, dim=-1):
            return x.exp() / x.exp().sum(dim=dim, keepdim=True) * 1.5
    """)
    result = local_pytest(folder, "tests/test_attention.py", "-k", "softmax_small")
    out = result.stdout
    assert "attention.softmax: output differs from the reference" in out and "Mismatched elements" in out
    assert "autograder/compare.py" not in out  # the helper's frames are hidden
    failure = out[out.index("_ test_softmax_small_example _"):out.index("short test summary")]
    assert len(failure.splitlines()) < 25, failure
    debugged = local_pytest(folder, "tests/test_attention.py", "-k", "softmax_small", "--pdb", stdin="q\n")
    stops = [line for line in debugged.stdout.splitlines() if line.startswith("> ")]
    assert stops and "tests/test_attention.py" in stops[0], debugged.stdout[-1500:]


def test_a_local_run_stops_an_endless_loop_and_names_the_line(tmp_path):
    folder = make_submission(tmp_path / "submission", """
        def causal_mask(length, device=None):
            n = 0
            while True:
                n += 1
    """)
    result = local_pytest(folder, "tests/test_attention.py", "-k", "causal_mask", "--test-timeout", "2")
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "1 failed" in out, out[-2000:]
    assert "time limit of 2 s exceeded in test_causal_mask_small; it was running attention.py:" in out
    assert "(in causal_mask)" in out


def test_a_local_run_stops_even_a_loop_that_catches_the_interruption(tmp_path):
    folder = make_submission(tmp_path / "submission", """
        def causal_mask(length, device=None):
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
    """)
    result = local_pytest(folder, "tests/test_attention.py", "-k", "causal_mask", "--test-timeout", "1")
    assert result.returncode == 1
    assert "time limit of 1 s exceeded in test_causal_mask_small; it was running attention.py:" in result.stderr
    assert "the code caught the interruption, so pytest stops here" in result.stderr


def test_a_global_setting_made_at_import_does_not_reach_other_topics(tmp_path):
    """attention.py setting float64 as torch's default once broke a finetuning test inside the fixtures."""
    folder = make_submission(tmp_path / "submission", "torch.set_default_dtype(torch.float64)\n")
    make_submission(folder, topic="finetuning")
    result = local_pytest(folder, "tests/test_attention.py", "tests/test_finetuning.py")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert ("attention.py changes torch's global settings when imported (default dtype torch.float32 -> "
            "torch.float64)") in out
    graded = judge.grade(folder, topics=["attention"], suite="public", device="cpu")  # the grader agrees
    assert graded["topics"]["attention"]["score"] == 60
