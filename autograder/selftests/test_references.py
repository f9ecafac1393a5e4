"""Each mistake is charged once: while an exercise is graded, the exercises it uses are the grader's.

``grading.yml`` lists what each exercise ``uses``; during its tests those names in the
submission are trusted references (``autograder/fixtures/references.py``). A forbidden call
is charged to the exercise whose code holds it.
"""
import pytest
import torch

from autograder import config, judge
from autograder.fixtures import references
from autograder.selftests.helpers import by_exercise, local_pytest, make_submission

pytestmark = pytest.mark.usefixtures("fork_servers")

WRONG_SOFTMAX_FORBIDDEN = """
    def softmax(x, dim=-1):
        return torch.softmax(x, dim=dim)
"""


def statuses(topic_report: dict) -> dict[str, set[str]]:
    return {exercise: {t["status"] for t in tests} for exercise, tests in by_exercise(topic_report).items()}


def grade(folder, topic: str = "attention", suite: str = "public") -> dict:
    report = judge.grade(folder, topics=[topic], suite=suite, device="cpu")
    assert not report.get("faults"), report.get("faults")
    return report["topics"][topic]


def test_a_forbidden_call_costs_only_the_exercise_that_makes_it(tmp_path):
    topic = grade(make_submission(tmp_path / "submission", WRONG_SOFTMAX_FORBIDDEN))
    assert statuses(topic) == {"softmax": {"forbidden"}, "causal_mask": {"passed"},
                               "scaled_dot_product_attention": {"passed"}, "MultiHeadAttention": {"passed"}}
    message = by_exercise(topic)["softmax"][0]["message"]
    assert message.startswith("in `softmax` (attention.py:") and "forbidden call torch.softmax" in message


def test_a_wrong_helper_exercise_is_charged_once(tmp_path):
    """kaiming_normal_ drawing with the wrong std: init_weights and activation_std_by_layer call it."""
    folder = make_submission(tmp_path / "submission", """
        def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
            with torch.no_grad():
                return tensor.normal_(0.0, 1.0, generator=generator)
    """, topic="initialization")
    found = statuses(grade(folder, "initialization", suite="all"))
    assert "failed" in found["kaiming_normal_"]
    assert {name: s for name, s in found.items() if name != "kaiming_normal_"} == {
        name: {"passed"} for name in found if name != "kaiming_normal_"}


def test_exercises_cannot_answer_each_other_with_the_graders_versions(tmp_path):
    """softmax through the student's own attention: uses has no cycles, so softmax meets itself."""
    folder = make_submission(tmp_path / "submission", """
        def softmax(x, dim=-1):
            x = x.movedim(dim, -1)
            eye = torch.eye(x.shape[-1], dtype=x.dtype)
            return scaled_dot_product_attention(x * x.shape[-1] ** 0.5, eye, eye)[1].movedim(-1, dim)
    """)
    found = statuses(grade(folder))
    assert "passed" not in found["softmax"]
    assert found["scaled_dot_product_attention"] == {"passed"}


def test_a_stand_in_kept_for_later_refuses_to_run(tmp_path):
    """Kept from a multi-head test, the grader's attention would answer the hidden attention tests."""
    folder = make_submission(tmp_path / "submission", """
        _kept = []


        class MultiHeadAttention(MultiHeadAttention):
            def forward(self, *args, **kwargs):
                _kept.append(scaled_dot_product_attention)
                return super().forward(*args, **kwargs)


        def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
            if _kept:
                return _kept[-1](q, k, v, mask=mask, is_causal=is_causal)
            raise NotImplementedError
    """)
    topic = grade(folder, suite="all")
    found = statuses(topic)
    assert found["MultiHeadAttention"] == {"passed"} and "passed" not in found["scaled_dot_product_attention"]
    messages = [t["message"] for t in by_exercise(topic)["scaled_dot_product_attention"]]
    assert any("the grader's stand-in" in m for m in messages), messages


def test_serve_lends_stand_ins_and_takes_them_back():
    own_softmax, own_lora = object(), object()
    namespace = {"softmax": own_softmax, "LoRALinear": own_lora}
    undo = references.serve(namespace, "attention", ["softmax", "scaled_dot_product_attention"])
    softmax, attention = namespace["softmax"], namespace["scaled_dot_product_attention"]
    x = torch.randn(3, 5, dtype=torch.float64)
    torch.testing.assert_close(softmax(x, dim=0), torch.softmax(x, dim=0))
    undo()
    assert namespace == {"softmax": own_softmax, "LoRALinear": own_lora}
    for kept in (lambda: softmax(x), lambda: attention(x, x, x)):
        with pytest.raises(references.StaleStandIn, match="the grader's stand-in"):
            kept()
    undo = references.serve(namespace, "finetuning", ["LoRALinear"])
    lora_cls = namespace["LoRALinear"]
    layer = lora_cls(torch.nn.Linear(4, 3), r=2)
    assert isinstance(layer, lora_cls) and layer.lora_B.shape == (3, 2)
    undo()
    with pytest.raises(references.StaleStandIn):
        lora_cls(torch.nn.Linear(4, 3), r=2)


def test_the_references_follow_the_contract():
    """Masked rows give zeros (as the contract says), the scale is 1/sqrt(E), is_causal with a mask is refused."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 8, generator=g, dtype=torch.float64) for _ in range(3))
    mask = torch.ones(4, 4, dtype=torch.bool)
    mask[1] = False
    out, weights = references.scaled_dot_product_attention(q, k, v, mask=mask)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    keep = torch.arange(4) != 1
    torch.testing.assert_close(out[:, keep], expected[:, keep])
    assert (out[:, 1] == 0).all() and (weights[:, 1] == 0).all()
    with pytest.raises(ValueError):
        references.scaled_dot_product_attention(q, k, v, mask=mask, is_causal=True)
    grading = config.load()
    for topic, settings in grading.topics.items():  # every exercise a grading.yml entry uses has a reference
        for exercise in settings.exercises.values():
            assert set(exercise.uses) <= set(references.REFERENCES.get(topic, {}))


def test_a_local_run_serves_the_same_stand_ins(tmp_path):
    folder = make_submission(tmp_path / "submission", """
        def softmax(x, dim=-1):
            return x.exp() / x.exp().sum(dim=dim, keepdim=True) * 1.5
    """)
    result = local_pytest(folder, "tests/test_attention.py")
    failed = sorted(line.split("::")[1].split()[0] for line in result.stdout.splitlines() if line.startswith("FAILED"))
    assert failed == ["test_softmax_other_dim_and_large_scores", "test_softmax_small_example"], result.stdout[-2000:]


@pytest.mark.parametrize("uses,says", [
    ({"softmax": ["attention"]}, "'attention' is not another exercise of this topic"),
    ({"softmax": ["softmax"]}, "'softmax' is not another exercise of this topic"),
    ({"softmax": ["causal_mask"], "causal_mask": ["softmax"]}, "a cycle (softmax -> causal_mask -> softmax)"),
])
def test_uses_names_other_exercises_without_a_cycle(uses, says):
    data = {"version": 1, "topics": {"attention": {"exercises": {
        name: {"points": 10, **({"uses": uses[name]} if name in uses else {})}
        for name in ("softmax", "causal_mask")}}}}
    with pytest.raises(config.ConfigError) as error:
        config.parse(data, "grading.yml")
    assert says in str(error.value) and "topics.attention.exercises." in str(error.value)
