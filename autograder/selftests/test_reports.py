"""Report formats against their schemas, the command line's exit codes and messages, and how hints read."""
import ast
import glob
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from autograder import judge, report
from autograder.config import REPO_ROOT
from autograder.selftests.helpers import SDPA_WITHOUT_SCALING, make_config, make_submission


@pytest.fixture(scope="module")
def mixed_report(tmp_path_factory):
    """A real report with passed, failed, error and forbidden tests (public attention suite)."""
    folder = make_submission(tmp_path_factory.mktemp("sub"), """
        def causal_mask(length, device=None):
            return torch.ones(length, length, dtype=torch.bool, device=device)

        def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
            raise RuntimeError("boom")

        class MultiHeadAttention(torch.nn.MultiheadAttention):
            def __init__(self, embed_dim, num_heads, bias=True):
                super().__init__(embed_dim, num_heads, bias=bias, batch_first=True)
    """)
    return judge.grade(folder, topics=["attention"], suite="public", device="cpu")


def test_mixed_report_has_every_kind_of_status(mixed_report):
    found = {t["status"] for t in mixed_report["topics"]["attention"]["tests"]}
    assert {"passed", "failed", "error", "forbidden"} <= found
    assert 0 < mixed_report["score"] < mixed_report["max_score"]


def test_json_matches_the_spec_schema(mixed_report):
    data = json.loads(report.to_json(mixed_report))
    jsonschema.validate(data, report.JSON_SCHEMA)
    assert data["score"] == sum(t["score"] for t in data["topics"]["attention"]["tests"])


def test_json_schema_rejects_a_wrong_report():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"score": 1, "max_score": 2, "topics": {"x": {"score": 1, "max_score": 2, "tests": [
            {"name": "t", "score": 1, "max_score": 1, "status": "ok", "message": ""}]}}}, report.JSON_SCHEMA)


def test_gradescope_results_match_its_schema(mixed_report):
    data = json.loads(report.to_gradescope(mixed_report, {"public": "visible", "hidden": "after_due_date"}))
    jsonschema.validate(data, report.gradescope_schema())
    assert data["score"] == mixed_report["score"]
    assert len(data["tests"]) == len(mixed_report["topics"]["attention"]["tests"])
    assert {t["status"] for t in data["tests"]} == {"passed", "failed"}
    assert all(t["visibility"] == "visible" for t in data["tests"])  # public suite


def test_gradescope_schema_rejects_unknown_fields():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tests": [{"name": "t", "passed": True}]}, report.gradescope_schema())


def test_junit_xml_lists_every_test(mixed_report):
    root = ET.fromstring(report.to_junit(mixed_report).split("?>", 1)[1])
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    tests = mixed_report["topics"]["attention"]["tests"]
    assert len(cases) == len(tests) == int(suite.get("tests"))
    failures = sum(1 for t in tests if t["status"] in ("failed", "forbidden"))
    errors = sum(1 for t in tests if t["status"] in ("error", "timeout"))
    assert len(suite.findall("testcase/failure")) == failures == int(suite.get("failures"))
    assert len(suite.findall("testcase/error")) == errors == int(suite.get("errors"))


def test_table_shows_scores_and_first_failures(mixed_report):
    text = report.to_table(mixed_report)
    assert "attention" in text and "/ 60" in text
    assert "attention.MultiHeadAttention: [forbidden]" in text
    assert "attention.scaled_dot_product_attention: [error] RuntimeError: boom" in text
    assert f"{mixed_report['topics']['attention']['seconds']:.1f} s" in text  # the topic's wall time


def test_markdown_table_shows_scores_and_first_failures(mixed_report):
    text = report.to_markdown(mixed_report)
    lines = text.splitlines()
    header = lines.index("| topic | score | passed | failed | error | timeout | forbidden | time |")
    assert lines[header + 1] == "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    data = mixed_report["topics"]["attention"]
    row = lines[header + 2].split(" | ")
    assert row[:2] == ["| attention", f"{report.fmt(data['score'])} / 60"]
    assert row[2] == str(sum(t["status"] == "passed" for t in data["tests"]))
    assert lines[header + 3].startswith(f"| **total** | **{report.fmt(mixed_report['score'])} / 60** |")
    assert [line for line in lines if line.startswith("- `attention.scaled_dot_product_attention` [error] RuntimeError: boom")]


def test_markdown_keeps_messages_from_breaking_the_page():
    fake = {"score": 0, "max_score": 1, "sandbox": {"level": "none", "layers": [], "full": False},
            "topics": {"t|x": {"score": 0, "max_score": 1, "seconds": 1.0, "tests": [
                {"name": "a", "exercise": "e", "score": 0, "max_score": 1, "status": "failed",
                 "message": "got <b>|bold|</b>\n  hint: the <lambda> | trick"}]}}}
    text = report.to_markdown(fake)
    assert "| t\\|x |" in text
    assert "[failed] got &lt;b&gt;\\|bold\\|&lt;/b&gt;" in text and "  - hint: the &lt;lambda&gt; \\| trick" in text


def test_every_format_records_the_sandbox_level(mixed_report):
    level = mixed_report["sandbox"]["level"]
    assert level in ("full", "namespaces", "limits")
    assert json.loads(report.to_json(mixed_report))["sandbox"]["level"] == level
    gradescope = json.loads(report.to_gradescope(mixed_report, {}))
    assert gradescope["extra_data"]["sandbox"]["level"] == level and f"sandbox: {level}" in gradescope["output"]
    root = ET.fromstring(report.to_junit(mixed_report).split("?>", 1)[1])
    assert root.find("testsuite/properties/property[@name='sandbox']").get("value") == level
    assert f"sandbox: {level}" in report.to_table(mixed_report)
    assert f"sandbox: {level}" in report.to_markdown(mixed_report)


def test_json_schema_requires_the_sandbox_record(mixed_report):
    data = json.loads(report.to_json(mixed_report))
    del data["sandbox"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, report.JSON_SCHEMA)


# --------------------------------------------------------------------------- command line

def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=600)


def test_cli_missing_submission_folder_is_bad_usage():
    result = cli("grade", "/no/such/folder")
    assert result.returncode == 2
    assert "submission folder not found: /no/such/folder" in result.stderr


def test_cli_unknown_topic_is_bad_usage():
    result = cli("grade", "--topics", "attention,nosuch")
    assert result.returncode == 2
    assert "nosuch" in result.stderr


def test_cli_bad_grading_yml_names_the_key(tmp_path):
    path = tmp_path / "grading.yml"
    path.write_text("version: 1\ntopics:\n  attention:\n    exercises:\n      softmax: {points: 1, pionts: 2}\n")
    result = cli("grade", "--topics", "attention", env={"AUTOGRADER_CONFIG": str(path)})
    assert result.returncode == 2
    assert "pionts" in result.stderr and "softmax" in result.stderr


def test_cli_grades_stubs_to_zero_and_writes_json(tmp_path):
    out = tmp_path / "report.json"
    path = make_config(tmp_path)
    result = cli("grade", "--topics", "attention", "--suite", "public", "--format", "json", "--out", str(out),
                 env={"AUTOGRADER_CONFIG": path})
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    jsonschema.validate(data, report.JSON_SCHEMA)
    assert data["score"] == 0 and data["max_score"] == 60
    assert "attention" in result.stdout  # the table still goes to the terminal


def test_cli_says_which_sandbox_it_grades_in(tmp_path):
    path = make_config(tmp_path)
    result = cli("grade", "--topics", "attention", "--suite", "public", "--sandbox", "limits",
                 env={"AUTOGRADER_CONFIG": path})
    assert result.returncode == 0, result.stderr
    assert "sandbox: limits" in result.stderr and "not full" in result.stderr
    assert "sandbox: limits" in result.stdout


def test_cli_require_sandbox_refuses_a_weaker_one(tmp_path):
    """--require-sandbox with a level below full (asked for here, as a machine without root would get it)."""
    result = cli("grade", "--topics", "attention", "--sandbox", "limits", "--require-sandbox")
    assert result.returncode == 2
    assert "--require-sandbox: the full sandbox is not available here" in result.stderr


def test_cli_require_sandbox_grades_where_the_full_sandbox_is(tmp_path):
    from autograder import sandbox

    path = make_config(tmp_path)
    result = cli("grade", "--topics", "attention", "--suite", "public", "--require-sandbox",
                 env={"AUTOGRADER_CONFIG": path})
    if sandbox.works("full"):  # root with namespaces, as in CI
        assert result.returncode == 0, result.stderr
        assert "sandbox: full (separate user" in result.stderr
    else:
        assert result.returncode == 2 and "--require-sandbox" in result.stderr


def test_cli_test_without_points_fails_with_its_name(tmp_path):
    path = make_config(tmp_path)
    text = open(path).read().replace("MultiHeadAttention:", "Renamed:")
    open(path, "w").write(text)
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/test_attention.py", "-q"], cwd=REPO_ROOT,
                            capture_output=True, text=True, env={**os.environ, "AUTOGRADER_CONFIG": path})
    assert result.returncode != 0
    assert "test_multihead_matches_torch" in result.stdout + result.stderr
    assert "'MultiHeadAttention' has no points" in result.stdout + result.stderr


def test_student_loop_runs_with_the_plain_pytest_command():
    """README's student commands: `pytest -m attention` / `pytest -k softmax` from the repository root."""
    pytest_bin = os.path.join(os.path.dirname(sys.executable), "pytest")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([pytest_bin, "-m", "attention", "-k", "softmax", "-q", "--impl", "solutions"],
                            cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_scores_print_the_same_everywhere():
    assert [report.fmt(x) for x in (60, 26.666666, 0.5, 12.0)] == ["60", "26.67", "0.5", "12"]


def test_the_table_keeps_the_inputs_and_the_hint_of_a_first_failure(tmp_path):
    folder = make_submission(tmp_path / "sub", SDPA_WITHOUT_SCALING)
    result = judge.grade(folder, topics=["attention"], suite="public", device="cpu")
    text = report.to_table(result, width=200)
    assert "attention.scaled_dot_product_attention: [failed]" in text
    assert "      inputs: q (2, 4, 8) float32" in text
    assert "      hint: your output equals attention without the 1/sqrt(E) scaling." in text


def test_a_gradcheck_failure_is_one_readable_line():
    """The hand-written backward's failure names the worst entry, not a 20 x 20 Jacobian cut mid-number."""
    import torch

    from autograder.fixtures.batchnorm import gradcheck_batchnorm

    class NoGammaInBackward(torch.autograd.Function):  # the classic mistake: dx forgets gamma
        @staticmethod
        def forward(ctx, x, gamma, beta, eps):
            mean, var = x.mean(0), x.var(0, correction=0)
            x_hat = (x - mean) / (var + eps).sqrt()
            ctx.save_for_backward(x_hat, (var + eps).rsqrt())
            return gamma * x_hat + beta

        @staticmethod
        def backward(ctx, up):
            x_hat, inv_std = ctx.saved_tensors
            n = up.shape[0]
            dx = inv_std / n * (n * up - up.sum(0) - x_hat * (up * x_hat).sum(0))
            return dx, (up * x_hat).sum(0), up.sum(0), None

    result = gradcheck_batchnorm(NoGammaInBackward, (5, 4))
    assert not result["ok"]
    message = result["message"]
    assert message.startswith("Jacobian mismatch for output 0 with respect to x; largest difference ")
    assert "by your backward" in message and "by finite differences" in message
    assert "\n" not in message and len(message) < 300


# --------------------------------------------------------------------------- hints in the suites

CAUSES = "common causes: "  # compare.CAUSES (compare imports torch, these tests need not)


def unconditional_hints(text: str, filename: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each ``hint=`` a test file passes that is written out in the file (a literal,
    an f-string, a concatenation, either branch of ``a if c else b``, or a name bound to one of those):
    such a text is shown whatever the wrong output is. A hint computed by a call (judged from the
    output, as ``misconceptions=`` are) is not one."""
    tree = ast.parse(text, filename=filename)
    bound: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)

    def texts(node: ast.expr, seen: frozenset = frozenset()) -> list[tuple[int, str]]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [(node.lineno, node.value)]
        if isinstance(node, ast.JoinedStr):  # the f-string's text up to its first placeholder
            head = node.values[0] if node.values else None
            return [(node.lineno, head.value if isinstance(head, ast.Constant) else "{…}")]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return texts(node.left, seen)
        if isinstance(node, ast.IfExp):
            return texts(node.body, seen) + texts(node.orelse, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            return [t for value in bound.get(node.id, []) for t in texts(value, seen | {node.id})]
        return []

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "hint":
                    found += texts(keyword.value)
    return sorted(set(found))


def mislabelled_hints(text: str, filename: str) -> list[str]:
    """The unconditional hints that would read as a diagnosis: each must say "common causes: …"."""
    return [f"{filename}:{line}: {hint[:70]!r}" for line, hint in unconditional_hints(text, filename)
            if not hint.startswith(CAUSES)]


SUITES = sorted(glob.glob(os.path.join(REPO_ROOT, "tests", "test_*.py"))
                + glob.glob(os.path.join(REPO_ROOT, "autograder", "hidden", "test_*.py")))


@pytest.mark.parametrize("path", SUITES, ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_an_unconditional_hint_says_common_causes(path):
    """A hint shown whatever the wrong output is cannot tell the student what they did: only
    ``misconceptions=`` (matched against the output) may; any other hint reads "common causes: …"."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert mislabelled_hints(text, os.path.relpath(path, REPO_ROOT)) == []


def test_the_hint_scan_finds_every_way_of_writing_a_hint():
    planted = '''
HINT = "the default dim is -1"
def test_x(impl):
    assert_close(a, b, exercise=E, hint="subtract the max")
    assert_close(a, b, exercise=E, hint=f"dim {d} is wrong")
    assert_close(a, b, exercise=E, hint="a" + "b" if c else "common causes: fine")
    assert_close(a, b, exercise=E, hint=HINT)
    assert_close(a, b, exercise=E, hint="common causes: a missing transpose")
    assert_close(a, b, exercise=E, hint=judged_from(a), misconceptions={"x": b})
'''
    assert [line.split(": ", 1)[1] for line in mislabelled_hints(planted, "t.py")] == [
        "'the default dim is -1'", "'subtract the max'", "'dim '", "'a'"]



def test_common_causes_print_as_such_and_only_a_matched_misconception_as_a_hint():
    import torch

    from autograder import batch, compare
    assert compare.CAUSES == CAUSES
    with pytest.raises(AssertionError) as failure:
        compare.assert_close(torch.zeros(3), torch.ones(3), exercise="mlp.relu", hint=CAUSES + "a missing max",
                             misconceptions={"relu(-x)": -torch.ones(3)})
    lines = str(failure.value).splitlines()
    assert "  common causes: a missing max" in lines and not [line for line in lines if "hint:" in line]
    record = {"topics": {"mlp": {"tests": [{"exercise": "relu", "status": "failed", "message": str(failure.value)}]}}}
    assert batch.misconceptions(record) == set()  # a cause shown whatever the output is, not a diagnosed mistake
    assert "common causes: a missing max" in report.to_table(
        {"score": 0, "max_score": 1, "topics": {"mlp": {"score": 0, "max_score": 1, "tests": [
            {"name": "t", "exercise": "relu", "score": 0, "max_score": 1, "status": "failed",
             "message": str(failure.value)}]}}}, width=200)
