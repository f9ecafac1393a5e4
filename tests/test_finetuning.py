"""Public tests for `finetuning`: run them with `pytest -m finetuning` (or `pytest -k apply_lora`).

The models are built where your code runs (`impl.run(...)`) from
`autograder/fixtures/`: `SmallResNet` (a small ResNet with BatchNorm and an `fc`
head, pretrained by `python -m autograder.fixtures.pretrain_small_cnn`, weights in
`small_cnn.pt`) and a few tiny nets in `autograder/fixtures/finetuning.py`. The
grader's hidden tests go further (float64, dotted head names, nested LoRA targets,
gradients, several training steps, state_dict round trips).
"""
import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.finetuning import (apply_lora_scenario, build_model, describe_parameters,
                                            finetune_accuracy, finetune_scenario, head_scenario)
from autograder.fixtures.small_cnn import SmallResNet


def bn_names(model):
    return [name for name, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]


@pytest.mark.exercise("freeze")
def test_freeze_every_parameter(impl):
    model = impl.run(build_model, "resnet")
    returned = impl.freeze(model)
    report = impl.run(describe_parameters, model)
    trainable = [name for name, rg in report["requires_grad"].items() if rg]
    assert_true(not trainable, exercise="finetuning.freeze",
                message=f"after freeze(SmallResNet()) these parameters still have requires_grad=True: {trainable[:5]}")
    assert_true(returned is model, exercise="finetuning.freeze", message="freeze must return the module it froze")


@pytest.mark.exercise("unfreeze")
def test_unfreeze_every_parameter(impl):
    model = impl.run(build_model, "resnet")
    model.requires_grad_(False)
    returned = impl.unfreeze(model)
    report = impl.run(describe_parameters, model)
    frozen = [name for name, rg in report["requires_grad"].items() if not rg]
    assert_true(not frozen, exercise="finetuning.unfreeze",
                message=f"after unfreeze these parameters still have requires_grad=False: {frozen[:5]}")
    assert_true(returned is model, exercise="finetuning.unfreeze", message="unfreeze must return the module")


@pytest.mark.exercise("count_parameters")
def test_count_parameters_small_cases(impl):
    layer = impl.run(torch.nn.Linear, 3, 4)
    assert_true(impl.count_parameters(layer) == 16, exercise="finetuning.count_parameters",
                message=f"nn.Linear(3, 4) has 3*4 + 4 = 16 parameters, got {impl.count_parameters(layer)}")
    model = impl.run(build_model, "resnet")
    total = sum(p.numel() for p in SmallResNet().parameters())  # 77782, as small_cnn.json says
    got = impl.count_parameters(model, trainable_only=False)
    assert_true(got == total, exercise="finetuning.count_parameters",
                message=f"SmallResNet() has {total} parameters, got {got}")


@pytest.mark.exercise("count_parameters")
def test_count_parameters_trainable_only(impl):
    model = impl.run(build_model, "resnet")
    model.requires_grad_(False)
    model.fc.requires_grad_(True)
    got = impl.count_parameters(model)
    assert_true(got == 64 * 6 + 6, exercise="finetuning.count_parameters",
                message=f"with only fc = Linear(64, 6) trainable, count_parameters(model) must be 390, got {got}")
    got_all = impl.count_parameters(model, trainable_only=False)
    assert_true(got_all == 77782, exercise="finetuning.count_parameters",
                message=f"count_parameters(model, trainable_only=False) must count frozen parameters too: "
                        f"77782 expected, got {got_all}")


@pytest.mark.exercise("replace_head")
def test_replace_head_new_linear(impl):
    report = impl.run(head_scenario, impl.replace_head, 3)
    head = report["returned"]
    assert_true(head["is_linear"] and [head["in_features"], head["out_features"]] == [64, 3],
                exercise="finetuning.replace_head",
                message=f"replace_head(SmallResNet(), 3) must return nn.Linear(64, 3) (the old fc is Linear(64, 6)); "
                        f"got {head['type']} {[head.get('in_features'), head.get('out_features')]}")
    assert_true(report["returned_is_current"], exercise="finetuning.replace_head",
                message="the returned layer must be the model's new fc (set it on the model)")
    assert_true(tuple(report["output"].shape) == (4, 3), exercise="finetuning.replace_head",
                message=f"model(x) must now have 3 outputs, got shape {tuple(report['output'].shape)}")
    assert_true(head["weight_requires_grad"] and head["bias_requires_grad"], exercise="finetuning.replace_head",
                message="the new head must be trainable")


@pytest.mark.exercise("replace_head")
def test_replace_head_rejects_zero_classes(impl):
    model = impl.run(build_model, "resnet")
    head = impl.replace_head(model, 2)
    assert_true(impl.isinstance(head, torch.nn.Linear), exercise="finetuning.replace_head",
                message="replace_head must return an nn.Linear")
    with pytest.raises(ValueError):
        impl.replace_head(model, 0)


@pytest.mark.exercise("prepare_for_finetuning")
def test_prepare_trains_only_the_head_and_keeps_batchnorm_statistics(impl):
    report = impl.run(finetune_scenario, impl.prepare_for_finetuning, 4)
    ex = "finetuning.prepare_for_finetuning"
    assert_true("prepare_error" not in report and "train_error" not in report, exercise=ex,
                message=f"the scenario failed: {report.get('prepare_error') or report.get('train_error')}")
    trainable = sorted(n for n, rg in report["parameters"]["requires_grad"].items() if rg)
    assert_true(trainable == ["fc.bias", "fc.weight"], exercise=ex,
                message=f"only the new head must be trainable, got {trainable[:6]}")
    still_training = [n for n in bn_names(SmallResNet()) if report["modes_after_train"][n]]
    assert_true(not still_training, exercise=ex,
                message=f"BatchNorm layers {still_training[:3]} are in train mode after model.train(): "
                        "they must stay in eval mode")
    changed = sorted(report["changed_by_training"])
    assert_true(changed == ["fc.bias", "fc.weight"], exercise=ex,
                message=f"training the prepared model changed {changed[:6]}; only fc.weight and fc.bias may "
                        "change (BatchNorm running statistics included)")


@pytest.mark.exercise("prepare_for_finetuning")
def test_pretrained_backbone_with_new_head_learns_the_new_task(impl):
    # The story of autograder/fixtures/small_cnn.json: SmallResNet pretrained on 6 shapes, frozen, with a new
    # 4-way head trained alone (150 Adam steps on 400 images of 4 unseen shapes) reaches 89.9% test accuracy
    # (89.8-90.3% over head seeds); a random frozen backbone gets 25-34%. 0.80 leaves room for any correct head init.
    report = impl.run(finetune_accuracy, impl.prepare_for_finetuning)
    assert_true(report["accuracy"] >= 0.80, exercise="finetuning.prepare_for_finetuning",
                message=f"test accuracy {report['accuracy']:.3f} < 0.80 after training the new head "
                        f"(loss {report['first_loss']:.3f} -> {report['last_loss']:.3f})")
    changed = sorted(report["changed"])
    assert_true(changed == ["fc.bias", "fc.weight"], exercise="finetuning.prepare_for_finetuning",
                message=f"training changed {changed[:6]}: only the head may change (BatchNorm statistics included)")


@pytest.mark.exercise("LoRALinear")
def test_lora_linear_starts_equal_to_its_base(impl):
    base = impl.run(torch.nn.Linear, 7, 5)
    weight, bias = base.weight, base.bias
    lora = impl.LoRALinear(base, r=3, alpha=6.0)
    x = torch.randn(4, 7)
    assert_close(lora(x).detach(), F.linear(x, weight, bias).detach(), exercise="finetuning.LoRALinear",
                 inputs={"x": x}, hint="common causes: lora_B not initialised to zero (a fresh LoRALinear is exactly "
                                       "base(x))")
    shapes = [tuple(lora.lora_A.shape), tuple(lora.lora_B.shape)]
    assert_true(shapes == [(3, 7), (5, 3)], exercise="finetuning.LoRALinear",
                message=f"lora_A must be (r, in) = (3, 7) and lora_B (out, r) = (5, 3), got {shapes}")
    trainable = sorted(n for n, rg in impl.run(describe_parameters, lora)["requires_grad"].items() if rg)
    assert_true(trainable == ["lora_A", "lora_B"], exercise="finetuning.LoRALinear",
                message=f"only lora_A and lora_B may be trainable (base frozen), got requires_grad on {trainable}")


@pytest.mark.exercise("LoRALinear")
def test_lora_linear_update_and_merge(impl):
    base = impl.run(torch.nn.Linear, 7, 5)
    lora = impl.LoRALinear(base, r=3, alpha=6.0)
    state = lora.state_dict()
    state["lora_B"] = torch.randn(5, 3)
    lora.load_state_dict(state)
    x = torch.randn(4, 7)
    W, b, A, B = state["base.weight"], state["base.bias"], state["lora_A"], state["lora_B"]
    expected = F.linear(x, W, b) + x @ A.T @ B.T * (6.0 / 3)
    got = lora(x).detach()
    assert_close(got, expected, exercise="finetuning.LoRALinear", inputs={"x": x, "r": 3, "alpha": 6.0},
                 misconceptions={"the update scaled by r / alpha instead of alpha / r":
                                 F.linear(x, W, b) + x @ A.T @ B.T * (3 / 6.0)})
    merged = lora.merge()
    assert_close(merged(x).detach(), expected, exercise="finetuning.LoRALinear", what="merge() output",
                 inputs={"x": x})


@pytest.mark.exercise("LoRALinear")
def test_lora_linear_rejects_zero_rank(impl):
    lora = impl.LoRALinear(impl.run(torch.nn.Linear, 4, 2), r=2)
    assert_true(tuple(lora.lora_A.shape) == (2, 4), exercise="finetuning.LoRALinear",
                message=f"lora_A must be (r, in) = (2, 4), got {tuple(lora.lora_A.shape)}")
    with pytest.raises(ValueError):
        impl.LoRALinear(impl.run(torch.nn.Linear, 4, 2), r=0)


@pytest.mark.exercise("apply_lora")
def test_apply_lora_on_the_head(impl):
    report = impl.run(apply_lora_scenario, impl.apply_lora, impl.LoRALinear, ["fc"], kind="resnet",
                      dtype=torch.float32)
    assert_true(report["wrapped"] == ["fc"], exercise="finetuning.apply_lora",
                message=f"apply_lora(SmallResNet(), ['fc']) must wrap exactly fc, wrapped {report['wrapped']}")
    count = report["parameters"]["trainable"]
    assert_true(count == 8 * 64 + 6 * 8, exercise="finetuning.apply_lora",
                message=f"only lora_A (8, 64) and lora_B (6, 8) may be trainable: 560 parameters, got {count}")
    assert_close(report["output_after"], report["output_before"], exercise="finetuning.apply_lora",
                 what="output right after apply_lora", hint="common causes: lora_B not zero at init, or a layer "
                                                            "wrapped twice")


@pytest.mark.exercise("apply_lora")
def test_apply_lora_rejects_unknown_target(impl):
    model = impl.run(build_model, "lora")
    impl.apply_lora(model, ["fc"], r=2)
    assert_true(impl.isinstance(model.fc.base, torch.nn.Linear), exercise="finetuning.apply_lora",
                message="after apply_lora(model, ['fc']), model.fc must be a LoRALinear around the old layer")
    with pytest.raises(ValueError):
        impl.apply_lora(impl.run(build_model, "lora"), ["no_such_layer"])
