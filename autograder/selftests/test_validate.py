"""`validate` for every topic: solution full marks, untouched exercises zero, known-wrong variants caught."""
import pytest

from autograder import config, judge, source, validate

pytestmark = pytest.mark.usefixtures("fork_servers")

TOPICS = list(config.load().topics)


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_validates(topic):
    ok, results, problems = validate.validate([topic], device="auto", jobs=2)
    (result,) = results
    assert result.problems == [], "\n".join(result.problems)
    assert len(result.mutants) >= validate.MIN_MUTANTS
    assert all(m.caught for m in result.mutants)
    assert ok or problems  # drift problems are reported by test_source


def test_a_correct_variant_is_not_reported_as_caught(tmp_path):
    (tmp_path / "attention").mkdir()
    harmless = tmp_path / "attention" / "einsum_scores.py"
    harmless.write_text("# wrong: nothing (einsum instead of matmul)\n"
                        "def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):\n"
                        "    if mask is not None and is_causal:\n"
                        "        raise ValueError('mask and is_causal cannot both be set')\n"
                        "    L, E = q.shape[-2:]\n"
                        "    S = k.shape[-2]\n"
                        "    scores = torch.einsum('...le,...se->...ls', q, k) / math.sqrt(E)\n"
                        "    if is_causal:\n"
                        "        mask = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()\n"
                        "    if mask is not None and mask.dtype == torch.bool:\n"
                        "        scores = scores.masked_fill(~mask, float('-inf'))\n"
                        "    elif mask is not None:\n"
                        "        scores = scores + mask\n"
                        "    hidden = torch.isneginf(scores).all(dim=-1, keepdim=True)\n"
                        "    weights = softmax(scores.masked_fill(hidden, 0.0), dim=-1).masked_fill(hidden, 0.0)\n"
                        "    return torch.einsum('...ls,...sv->...lv', weights, v), weights\n")
    result = validate.check_mutant(validate.read_mutant("attention", str(harmless)), config.load(), "cpu")
    assert not result.caught and result.lost == 0


def _variant(tmp_path, topic: str, name: str, text: str) -> validate.Mutant:
    (tmp_path / topic).mkdir(exist_ok=True)
    path = tmp_path / topic / f"{name}.py"
    path.write_text(f"# wrong: {name}\n{text}")
    return validate.read_mutant(topic, str(path))


def test_a_variant_breaks_the_exercises_it_redefines_or_whose_helpers_it_redefines(tmp_path):
    grading = config.load()
    # softmax alone: the exercises calling it are served the grader's softmax while their tests run
    assert validate.broken_exercises(validate.read_mutant(
        "attention", f"{validate.MUTANTS}/attention/naive_softmax.py"), grading) == ["softmax"]
    # a private helper reaches the exercises whose solution calls it
    helper = _variant(tmp_path, "pooling", "helper", "def _pool_args(*args, **kwargs):\n    raise ValueError\n")
    assert validate.broken_exercises(helper, grading) == ["max_pool2d", "avg_pool2d"]
    (tmp_path / "pooling" / "_part.py").write_text("def _pool_args(*args, **kwargs):\n    raise ValueError\n")
    through_a_part = _variant(tmp_path, "pooling", "through_a_part", "# uses: _part.py\n")
    assert validate.broken_exercises(through_a_part, grading) == ["max_pool2d", "avg_pool2d"]
    # anything else than definitions may change every test
    statement = _variant(tmp_path, "attention", "statement", "torch.manual_seed(1)\n")
    assert validate.broken_exercises(statement, grading) is None


def test_a_variant_is_graded_on_its_exercise_from_the_test_that_caught_it_before(tmp_path):
    grading = config.load()
    naive = validate.read_mutant("attention", f"{validate.MUTANTS}/attention/naive_softmax.py")
    plain = validate.check_mutant(naive, grading, "cpu")
    assert plain.caught and plain.hint_shown and plain.caught_by.startswith("hidden/test_softmax")
    assert plain.statuses.get("passed", 0) > 0  # the softmax tests before it ran and passed
    name = plain.caught_by.split("/", 1)[1]
    again = validate.check_mutant(naive, grading, "cpu", caught_before=name)
    assert again.caught and again.hint_shown and again.caught_by == plain.caught_by
    assert "passed" not in again.statuses  # that test ran first and stopped the run
    # a stale record is only an order: the variant is still caught, by the test that catches it
    passing = next(t for t in _softmax_tests(grading) if "large" not in t)
    stale = validate.check_mutant(naive, grading, "cpu", caught_before=passing)
    assert stale.caught and stale.hint_shown and stale.caught_by == plain.caught_by


def _softmax_tests(grading) -> list[str]:
    report = judge.grade(source.SOLUTIONS, topics=["attention"], suite="hidden", device="cpu", grading=grading,
                         part=judge.Part(exercises=("softmax",)))
    tests = report["topics"]["attention"]["tests"]
    assert {t["exercise"] for t in tests if t["status"] == "passed"} == {"softmax"}
    assert all(t["status"] != "passed" for t in tests if t["exercise"] != "softmax")  # the others did not run
    return [t["name"].split("/", 1)[1] for t in tests if t["exercise"] == "softmax"]


def test_a_part_stops_at_the_first_test_losing_points_with_the_text_asked_for(tmp_path):
    grading = config.load()
    variant = _variant(tmp_path, "attention", "uniform", "def softmax(x, dim=-1):\n"
                       "    return torch.ones_like(x) / x.shape[dim]\n")
    folder = validate.build_mutant(variant, str(tmp_path / "built"))

    def run(stop_at):
        report = judge.grade(folder, topics=["attention"], suite="hidden", device="cpu", grading=grading,
                             part=judge.Part(exercises=("softmax",), stop_at=stop_at))
        tests = [t for t in report["topics"]["attention"]["tests"] if t["exercise"] == "softmax"]
        return [t for t in tests if not t["message"].startswith("not run")], len(tests)

    ran, total = run("")
    assert [t["status"] for t in ran][-1] != "passed" and len(ran) < total
    ran, total = run("-a text no message holds")  # a text may start with "-", like the hint "-inf"
    assert len(ran) == total and sum(t["status"] != "passed" for t in ran) > 1


def test_a_variant_brings_the_shared_parts_it_uses(tmp_path):
    (tmp_path / "mlp").mkdir()
    (tmp_path / "mlp" / "_shared.py").write_text("def _twice(x):\n    return 2 * x\n")
    variant = tmp_path / "mlp" / "relu_doubles.py"
    variant.write_text("# wrong: relu doubles\n# uses: _shared.py\ndef relu(x):\n    return _twice(x)\n")
    mutant = validate.read_mutant("mlp", str(variant))
    namespace = {}
    with open(tmp_path / validate.build_mutant(mutant, str(tmp_path / "out")) / "mlp.py") as f:
        exec(f.read(), namespace)
    assert namespace["relu"](3) == 6  # the part comes before the variant that calls it
    assert validate.mutants_of("mlp") and not [m for m in validate.mutants_of("mlp") if m.name.startswith("_")]


@pytest.mark.parametrize("uses", ["shared.py", "_missing.py", "../mlp/_shared.py"])
def test_a_variant_may_use_only_a_shared_part_of_its_folder(tmp_path, uses):
    (tmp_path / "mlp").mkdir()
    (tmp_path / "mlp" / "_shared.py").write_text("X = 1\n")
    (tmp_path / "mlp" / "shared.py").write_text("# wrong: x\n")
    variant = tmp_path / "mlp" / "relu_x.py"
    variant.write_text(f"# wrong: relu\n# uses: {uses}\n")
    with pytest.raises(ValueError, match="must name a shared part"):
        validate.read_mutant("mlp", str(variant))
