"""`validate` for every topic: solution full marks, untouched exercises zero, known-wrong variants caught."""
import pytest

from autograder import config, validate

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
