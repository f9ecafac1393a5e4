"""Hidden tests for `finetuning`: freezing, new heads, BatchNorm kept in eval, LoRA.

Every model is built next to the submission (`impl.run(build_model, ...)` or a scenario
of `autograder/fixtures/finetuning.py` that receives the submitted function), and what
comes back is plain data: which parameters are trainable, which state_dict entries a
few training steps changed, modes after `model.train()`, dtypes/devices, outputs.
Expected names come from torch's own models built here; expected outputs from torch
formulas (`F.linear`) or a torch `SmallResNet` carrying the trained head's weights.
"""
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads
from autograder.fixtures.finetuning import (LoraNet, apply_lora_scenario, build_model, describe_parameters,
                                            finetune_scenario, head_scenario, train_parameters)
from autograder.fixtures.small_cnn import SmallResNet

FREEZE = "finetuning.freeze"
UNFREEZE = "finetuning.unfreeze"
COUNT = "finetuning.count_parameters"
HEAD = "finetuning.replace_head"
PREPARE = "finetuning.prepare_for_finetuning"
LORA = "finetuning.LoRALinear"
APPLY = "finetuning.apply_lora"

KINDS = ["resnet", "classifier", "lora", "tied"]


def local_model(kind, **kwargs):
    return build_model(kind, **kwargs)


def param_names(kind, prefix=None):
    names = [n for n, _ in local_model(kind).named_parameters()]
    return [n for n in names if prefix is None or n.startswith(prefix + ".")]


def resnet_layout(num_classes=4):
    """(parameter names, BatchNorm module names, BatchNorm buffer names) of SmallResNet."""
    ref = SmallResNet(num_classes=num_classes)
    bns = [n for n, m in ref.named_modules() if isinstance(m, nn.BatchNorm2d)]
    buffers = [n for n, _ in ref.named_buffers()]
    return [n for n, _ in ref.named_parameters()], bns, buffers


def trainable(report):
    return sorted(n for n, rg in report["requires_grad"].items() if rg)


def frozen(report):
    return sorted(n for n, rg in report["requires_grad"].items() if not rg)


def short(names, n=6):
    names = sorted(names)
    return f"{names[:n]}{' ...' if len(names) > n else ''} ({len(names)} in all)"


# --------------------------------------------------------------------------- freeze

@pytest.mark.exercise("freeze")
@pytest.mark.parametrize("kind", KINDS)
def test_freeze_every_parameter(impl, device, kind):
    model = impl.run(build_model, kind, device=device)
    returned = impl.freeze(model)
    report = impl.run(describe_parameters, model)
    left = trainable(report)
    assert_true(not left, exercise=FREEZE, inputs={"model": kind},
                message=f"parameters still have requires_grad=True after freeze: {short(left)}; "
                        "walk module.parameters() (recursive) and set requires_grad")
    assert_true(returned is model, exercise=FREEZE, message="freeze must return the module it froze")
    modes = [n for n, t in report["training"].items() if not t]
    assert_true(not modes, exercise=FREEZE,
                message=f"freeze changed the train/eval mode of {short(modes)}: it only sets requires_grad")


@pytest.mark.exercise("freeze")
def test_freeze_keeps_eval_mode_and_buffers(impl):
    model = impl.run(build_model, "resnet", pretrained=True)  # eval mode
    before = model.state_dict()
    impl.freeze(model)
    report = impl.run(describe_parameters, model)
    assert_true(not any(report["training"].values()), exercise=FREEZE,
                message="freeze changed an eval-mode model's mode: it only sets requires_grad")
    after = model.state_dict()
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert_true(not moved, exercise=FREEZE, message=f"freeze changed the values of {short(moved)}")


@pytest.mark.exercise("freeze")
@pytest.mark.parametrize("sub", ["layer2", "layer1.bn1", "fc"])
def test_freeze_a_submodule_only(impl, sub):
    model = impl.run(build_model, "resnet")
    impl.freeze(model.get_submodule(sub))
    report = impl.run(describe_parameters, model)
    expected = param_names("resnet", sub)
    assert_true(frozen(report) == sorted(expected), exercise=FREEZE, inputs={"submodule": sub},
                message=f"freeze(model.{sub}) must set requires_grad=False on exactly {short(expected)}; "
                        f"frozen now: {short(frozen(report))}")


@pytest.mark.exercise("freeze")
def test_freeze_then_training_moves_only_the_unfrozen_head(impl):
    model = impl.run(build_model, "resnet", pretrained=True)  # eval mode: BatchNorm statistics fixed
    impl.freeze(model)
    model.fc.requires_grad_(True)
    x = torch.rand(6, 3, 32, 32)
    report = impl.run(train_parameters, model, x)
    changed = sorted(report.get("changed", {}))
    assert_true(changed == ["fc.bias", "fc.weight"], exercise=FREEZE,
                message=f"after freeze(model) and fc.requires_grad_(True), three Adam steps changed {short(changed)} "
                        f"(error: {report.get('error')}); frozen parameters (requires_grad) must not move")


# --------------------------------------------------------------------------- unfreeze

@pytest.mark.exercise("unfreeze")
@pytest.mark.parametrize("kind", KINDS)
def test_unfreeze_every_parameter(impl, device, kind):
    model = impl.run(build_model, kind, device=device, train=False)
    model.requires_grad_(False)
    returned = impl.unfreeze(model)
    report = impl.run(describe_parameters, model)
    left = frozen(report)
    assert_true(not left, exercise=UNFREEZE, inputs={"model": kind},
                message=f"parameters still have requires_grad=False after unfreeze: {short(left)}")
    assert_true(returned is model, exercise=UNFREEZE, message="unfreeze must return the module")
    modes = [n for n, t in report["training"].items() if t]
    assert_true(not modes, exercise=UNFREEZE,
                message=f"unfreeze switched {short(modes)} to train mode: it only sets requires_grad")


@pytest.mark.exercise("unfreeze")
@pytest.mark.parametrize("sub", ["layer3", "layer2.downsample", "fc"])
def test_unfreeze_a_submodule_only(impl, sub):
    model = impl.run(build_model, "resnet")
    model.requires_grad_(False)
    impl.unfreeze(model.get_submodule(sub))
    report = impl.run(describe_parameters, model)
    expected = param_names("resnet", sub)
    assert_true(trainable(report) == sorted(expected), exercise=UNFREEZE, inputs={"submodule": sub},
                message=f"unfreeze(model.{sub}) must make exactly {short(expected)} trainable; "
                        f"trainable now: {short(trainable(report))}")


@pytest.mark.exercise("unfreeze")
def test_unfreeze_shared_parameter_and_training(impl):
    model = impl.run(build_model, "shared", train=False)
    model.requires_grad_(False)
    impl.unfreeze(model.b)  # the same layer as model.a
    report = impl.run(describe_parameters, model)
    assert_true(trainable(report) == ["a.bias", "a.weight"], exercise=UNFREEZE,
                message=f"unfreeze(model.b) (= model.a) must make a.weight and a.bias trainable, "
                        f"got {trainable(report)}")
    result = impl.run(train_parameters, model, torch.randn(4, 6, dtype=torch.float32))
    changed = sorted(result.get("changed", {}))
    assert_true(changed == ["a.bias", "a.weight", "b.bias", "b.weight"], exercise=UNFREEZE,
                message=f"training after unfreeze(model.b) changed {changed} (error: {result.get('error')})")


# --------------------------------------------------------------------------- count_parameters

@pytest.mark.exercise("count_parameters")
@pytest.mark.parametrize("kind,frozen_prefix", [("resnet", None), ("resnet", "layer1"), ("resnet", "fc"),
                                                ("classifier", "features"), ("lora", "blocks"),
                                                ("lora", "blocks.1.attn"), ("shared", "b")])
def test_count_parameters_matches_torch(impl, kind, frozen_prefix):
    reference = local_model(kind)
    model = impl.run(build_model, kind)
    if frozen_prefix is not None:
        reference.get_submodule(frozen_prefix).requires_grad_(False)
        model.get_submodule(frozen_prefix).requires_grad_(False)
    total = sum(p.numel() for p in reference.parameters())
    train = sum(p.numel() for p in reference.parameters() if p.requires_grad)
    got_train = impl.count_parameters(model)
    got_total = impl.count_parameters(model, trainable_only=False)
    inputs = {"model": kind, "frozen": frozen_prefix}
    for got, want, what in ((got_train, train, "count_parameters(model)"),
                            (got_total, total, "count_parameters(model, trainable_only=False)")):
        assert_true(isinstance(got, int) and not isinstance(got, bool), exercise=COUNT, inputs=inputs,
                    message=f"{what} must return a Python int, got {type(got).__name__}")
        assert_true(got == want, exercise=COUNT, inputs=inputs,
                    message=f"{what} = {got}, expected {want} (sum of p.numel() over module.parameters()"
                            f"{' with requires_grad' if 'False' not in what else ''}; buffers never count)")


@pytest.mark.exercise("count_parameters")
@pytest.mark.parametrize("kind,expected", [("tied", 70), ("shared", 63)])
def test_count_parameters_shared_weights_count_once(impl, kind, expected):
    model = impl.run(build_model, kind)
    for trainable_only in (True, False):
        got = impl.count_parameters(model, trainable_only=trainable_only)
        assert_true(got == expected, exercise=COUNT, inputs={"model": kind, "trainable_only": trainable_only},
                    message=f"got {got}, expected {expected}: a parameter shared by several modules (tied "
                            "weights) counts once, as module.parameters() yields it once")


@pytest.mark.exercise("count_parameters")
def test_count_parameters_frozen_and_empty(impl):
    model = impl.run(build_model, "classifier")
    model.requires_grad_(False)
    got = impl.count_parameters(model)
    assert_true(got == 0, exercise=COUNT,
                message=f"a frozen model has 0 trainable parameters, count_parameters(model) gave {got}")
    got_all = impl.count_parameters(model, trainable_only=False)
    assert_true(got_all == 10 * 16 + 16 + 2 * 16 + 16 * 5 + 5, exercise=COUNT,
                message=f"count_parameters(frozen model, trainable_only=False) = {got_all}, expected 293 "
                        "(BatchNorm running statistics are buffers, not parameters)")
    relu = impl.run(torch.nn.ReLU)
    got_relu = impl.count_parameters(relu, trainable_only=False)
    assert_true(got_relu == 0 and isinstance(got_relu, int), exercise=COUNT,
                message=f"a module without parameters has 0, got {got_relu!r}")


# --------------------------------------------------------------------------- replace_head

def check_head(report, in_features, num_classes, dtype, device, exercise=HEAD, what="new head"):
    head = report["returned"] if "returned" in report else report
    assert_true(head["is_linear"], exercise=exercise, message=f"the {what} must be an nn.Linear, got {head['type']}")
    assert_true([head["in_features"], head["out_features"]] == [in_features, num_classes], exercise=exercise,
                message=f"the {what} must be Linear({in_features}, {num_classes}) (in_features of the old head), "
                        f"got Linear({head['in_features']}, {head['out_features']})")
    assert_true(head["attrs"] == [in_features, num_classes], exercise=exercise,
                message=f"the {what}'s in_features/out_features attributes are {head['attrs']}")
    want_dtype = str(dtype).removeprefix("torch.")
    assert_true(head["dtype"] == want_dtype and head["bias_dtype"] in (want_dtype, None), exercise=exercise,
                message=f"the {what}'s dtype is {head['dtype']} (bias {head['bias_dtype']}), the model's is "
                        f"{want_dtype}: create it with the old head's dtype and device")
    assert_true(head["device"] == torch.device(device).type and head["bias_device"] in (head["device"], None),
                exercise=exercise, message=f"the {what} is on {head['device']}, the model on {device}: "
                                           "create it on the old head's device")


@pytest.mark.exercise("replace_head")
@pytest.mark.parametrize("num_classes", [1, 4, 10])
def test_replace_head_shapes_and_registration(impl, num_classes):
    report = impl.run(head_scenario, impl.replace_head, num_classes)
    check_head(report, 64, num_classes, torch.float32, "cpu")
    assert_true(report["returned_is_current"] and report["registered"], exercise=HEAD,
                message="the returned layer must be set on the model as model.fc (and so be among its parameters)")
    assert_true("forward_error" not in report, exercise=HEAD, message=f"model(x) failed: {report.get('forward_error')}")
    assert_true(tuple(report["output"].shape) == (4, num_classes), exercise=HEAD,
                message=f"model(x) has shape {tuple(report['output'].shape)}, expected (4, {num_classes})")
    head = report["returned"]
    assert_true(head["bias"] and head["weight_requires_grad"] and head["bias_requires_grad"], exercise=HEAD,
                message="the new head must have a bias and be trainable (requires_grad=True)")
    assert_true(not report["changed"], exercise=HEAD,
                message=f"replace_head changed other entries of the model: {short(report['changed'])}")


@pytest.mark.exercise("replace_head")
def test_replace_head_dtype_and_device(impl, device, dtype):
    report = impl.run(head_scenario, impl.replace_head, 3, dtype=dtype, device=device)
    check_head(report, 64, 3, dtype, device)
    assert_true("forward_error" not in report, exercise=HEAD, inputs={"dtype": dtype, "device": device},
                message=f"model(x) failed after replace_head: {report.get('forward_error')}")
    assert_true(report["output_dtype"] == str(dtype).removeprefix("torch."), exercise=HEAD,
                message=f"model(x) has dtype {report['output_dtype']}, expected {dtype}")


@pytest.mark.exercise("replace_head")
def test_replace_head_of_a_frozen_model_is_trainable(impl):
    report = impl.run(head_scenario, impl.replace_head, 5, frozen=True)
    check_head(report, 64, 5, torch.float32, "cpu")
    got = trainable(report["parameters"])
    assert_true(got == ["fc.bias", "fc.weight"], exercise=HEAD,
                message=f"after freezing the model and replacing its head, exactly fc.weight and fc.bias must be "
                        f"trainable (requires_grad=True), got {short(got)}")


@pytest.mark.exercise("replace_head")
@pytest.mark.parametrize("head_bias", [True, False])
def test_replace_head_dotted_attr(impl, head_bias):
    report = impl.run(head_scenario, impl.replace_head, 3, kind="classifier", attr="classifier.1",
                      model_kwargs={"head_bias": head_bias})
    check_head(report, 16, 3, torch.float32, "cpu")
    assert_true(report["returned_is_current"] and report["registered"], exercise=HEAD,
                message="replace_head(model, 3, attr='classifier.1') must set model.classifier[1] to the new head")
    assert_true(report["returned"]["bias"], exercise=HEAD,
                message="the new head has a bias, as nn.Linear by default, whatever the old head had")
    assert_true(tuple(report.get("output", torch.empty(0)).shape) == (4, 3), exercise=HEAD,
                message=f"model(x) must have shape (4, 3): {report.get('forward_error', '')}")


@pytest.mark.exercise("replace_head")
def test_replace_head_default_attr_and_initialisation(impl):
    report = impl.run(head_scenario, impl.replace_head, 10, pass_attr=False)
    check_head(report, 64, 10, torch.float32, "cpu")
    w, b = report["returned"]["weight"], report["returned"]["bias_value"]
    bound = 1 / math.sqrt(64)  # nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
    assert_true(float(w.abs().max()) <= bound * (1 + 1e-6) and float(b.abs().max()) <= bound * (1 + 1e-6),
                exercise=HEAD, message=f"head values exceed nn.Linear's default range 1/sqrt(64) = {bound:.4f}: "
                                       f"max |w| {float(w.abs().max()):.4f}, max |b| {float(b.abs().max()):.4f}")
    # The sample std of 640 draws of U(-a, a) is a/sqrt(3) within 1.8% (one sigma): the window is > 13 sigma.
    ratio = float(w.std()) / (bound / math.sqrt(3))
    assert_true(0.75 < ratio < 1.25, exercise=HEAD,
                message=f"head weight std is {ratio:.2f}x that of nn.Linear's default initialisation")


@pytest.mark.exercise("replace_head")
def test_replace_head_rejects_bad_arguments(impl):
    model = impl.run(build_model, "resnet")
    head = impl.replace_head(model, 2)
    assert_true(impl.isinstance(head, nn.Linear) and tuple(head.weight.shape) == (2, 64), exercise=HEAD,
                message="replace_head(model, 2) must return nn.Linear(64, 2)")
    with pytest.raises(ValueError):
        impl.replace_head(model, 0)
    with pytest.raises(TypeError):
        impl.replace_head(model, 2.5)
    with pytest.raises(TypeError):
        impl.replace_head(model, 3, attr="bn1")


# --------------------------------------------------------------------------- prepare_for_finetuning

def check_scenario_ran(report, exercise=PREPARE):
    for stage in ("prepare_error", "train_error", "forward_error"):
        assert_true(stage not in report, exercise=exercise,
                    message=f"{stage.replace('_', ' ')}: {report.get(stage)}")


def reference_output(report, dtype, device, num_classes=4):
    """A torch SmallResNet with the pretrained backbone and the trained head's weights, on report['x'].

    Computed on the submission's device (float32 convolutions on CUDA may use TF32, in both).
    """
    ref = build_model("resnet", pretrained=True, dtype=dtype, device=device)
    ref.fc = nn.Linear(64, num_classes, dtype=dtype, device=device)
    with torch.no_grad():
        ref.fc.weight.copy_(report["head_after"]["weight"])
        ref.fc.bias.copy_(report["head_after"]["bias_value"])
        return ref.eval()(report["x"].to(device=device, dtype=dtype))


@pytest.mark.exercise("prepare_for_finetuning")
@pytest.mark.parametrize("initial_train", [False, True], ids=["from-eval", "from-train"])
def test_prepare_trains_only_the_head(impl, device, dtype, initial_train):
    report = impl.run(finetune_scenario, impl.prepare_for_finetuning, 4, dtype=dtype, device=device,
                      initial_train=initial_train)
    inputs = {"dtype": dtype, "device": device}
    assert_true("prepare_error" not in report, exercise=PREPARE,
                message=f"prepare failed: {report.get('prepare_error')}")
    params, bns, buffers = resnet_layout()
    assert_true(report["returned_model"], exercise=PREPARE, message="prepare_for_finetuning must return the model")
    got = trainable(report["parameters"])
    assert_true(got == ["fc.bias", "fc.weight"], exercise=PREPARE, inputs=inputs,
                message=f"after prepare_for_finetuning exactly the new head must be trainable (requires_grad), "
                        f"got {short(got)}; freeze first, then replace the head")
    assert_true(report["parameters"]["trainable"] == 64 * 4 + 4, exercise=PREPARE,
                message=f"{report['parameters']['trainable']} trainable parameters, expected 260")
    check_head(report["head"], 64, 4, dtype, device, exercise=PREPARE)
    assert_true(report["training_after_prepare"] == initial_train, exercise=PREPARE,
                message=f"prepare_for_finetuning changed the model's own mode (training={initial_train} before, "
                        f"{report['training_after_prepare']} after)")
    assert_true(not report["changed_by_prepare"], exercise=PREPARE,
                message=f"prepare_for_finetuning changed backbone values: {short(report['changed_by_prepare'])}")
    assert_true(sorted(report["state_dict_keys"]) == sorted(params + buffers), exercise=PREPARE,
                message="the state_dict keys must stay those of the model (a SmallResNet with 4 classes)")
    modes = report["modes_after_train"]
    bn_training = [n for n in bns if modes[n]]
    assert_true(not bn_training, exercise=PREPARE,
                message=f"after model.eval(); model.train() these BatchNorm layers are in train mode: "
                        f"{short(bn_training)}; bn.eval() once is not enough, the next model.train() undoes it")
    others = [n for n, t in modes.items() if n not in bns and not t]
    assert_true(not others, exercise=PREPARE,
                message=f"model.train() must still put the other modules in train mode: {short(others)} are not")
    assert_true(not any(report["modes_after_eval"].values()), exercise=PREPARE,
                message="after model.eval() some module is still in train mode")
    check_scenario_ran(report)
    changed = report["changed_by_training"]
    moved = sorted(n for n in changed if n not in ("fc.weight", "fc.bias"))
    assert_true(not moved, exercise=PREPARE, inputs=inputs,
                message=f"training the prepared model (train mode) changed {short(moved)}: the backbone and the "
                        "BatchNorm running statistics must not move")
    assert_true(sorted(changed) == ["fc.bias", "fc.weight"], exercise=PREPARE,
                message=f"training must change the head: changed {sorted(changed)}")
    assert_close(report["output_train"], report["output_eval"], exercise=PREPARE,
                 what="output in train mode vs eval mode", inputs=inputs,
                 hint="common causes: with train_bn=False every BatchNorm normalises with its running statistics, in "
                      "train mode too")
    assert_close(report["output_eval"], reference_output(report, dtype, device), exercise=PREPARE,
                 what="output (pretrained backbone + trained head)", inputs=inputs)


@pytest.mark.exercise("prepare_for_finetuning")
def test_prepare_train_bn(impl, dtype):
    report = impl.run(finetune_scenario, impl.prepare_for_finetuning, 4, train_bn=True, dtype=dtype,
                      initial_train=True)
    check_scenario_ran(report)
    params, bns, buffers = resnet_layout()
    bn_params = sorted(n for n in params if n.rpartition(".")[0] in bns)
    got = trainable(report["parameters"])
    assert_true(got == sorted(bn_params + ["fc.weight", "fc.bias"]), exercise=PREPARE,
                message=f"with train_bn=True the trainable parameters must be the head and every BatchNorm "
                        f"weight/bias: got {short(got)}")
    bn_eval = [n for n in bns if not report["modes_after_train"][n]]
    assert_true(not bn_eval, exercise=PREPARE,
                message=f"with train_bn=True BatchNorm layers follow model.train(): {short(bn_eval)} stayed in eval")
    assert_true(not any(report["modes_after_eval"].values()), exercise=PREPARE,
                message="with train_bn=True, model.eval() must put every BatchNorm in eval mode")
    expected = sorted(bn_params + ["fc.weight", "fc.bias"] + buffers)
    changed = sorted(report["changed_by_training"])
    assert_true(changed == expected, exercise=PREPARE,
                message=f"with train_bn=True training must change the head, the BatchNorm weights/biases and "
                        f"running statistics, and nothing else. Missing: {short(set(expected) - set(changed))}; "
                        f"unexpected: {short(set(changed) - set(expected))}")


@pytest.mark.exercise("prepare_for_finetuning")
def test_prepare_nested_head_and_batchnorm1d(impl):
    report = impl.run(finetune_scenario, impl.prepare_for_finetuning, 3, kind="classifier", pretrained=False,
                      attr="classifier.1", dtype=torch.float64, initial_train=True)
    check_scenario_ran(report)
    head = ["classifier.1.bias", "classifier.1.weight"]
    got = trainable(report["parameters"])
    assert_true(got == head, exercise=PREPARE,
                message=f"prepare_for_finetuning(model, 3, attr='classifier.1'): only the new head may be "
                        f"trainable, got {got}")
    check_head(report["head"], 16, 3, torch.float64, "cpu", exercise=PREPARE)
    assert_true(not report["modes_after_train"]["features.1"], exercise=PREPARE,
                message="the BatchNorm1d layer features.1 is in train mode after model.train(): every BatchNorm "
                        "(1d/2d/3d) must stay in eval")
    changed = sorted(report["changed_by_training"])
    assert_true(changed == head, exercise=PREPARE,
                message=f"training changed {changed}: only the head may change (BatchNorm1d statistics included)")
    assert_close(report["output_train"], report["output_eval"], exercise=PREPARE,
                 what="output in train mode vs eval mode",
                 hint="common causes: a BatchNorm locked in eval normalises with its running statistics in train mode "
                      "too")


@pytest.mark.exercise("prepare_for_finetuning")
def test_prepare_train_bn_after_a_lock_unlocks(impl):
    report = impl.run(finetune_scenario, impl.prepare_for_finetuning, 4, train_bn=False, then_train_bn=True,
                      initial_train=True)
    check_scenario_ran(report)
    _, bns, _ = resnet_layout()
    bn_eval = [n for n in bns if not report["modes_after_train"][n]]
    assert_true(not bn_eval, exercise=PREPARE,
                message=f"prepare(train_bn=False) then prepare(train_bn=True): BatchNorm layers {short(bn_eval)} "
                        "still ignore model.train(); train_bn=True removes the lock")


@pytest.mark.exercise("prepare_for_finetuning")
def test_prepare_defaults_through_the_model(impl):
    model = impl.run(build_model, "resnet", pretrained=True)
    returned = impl.prepare_for_finetuning(model, 7)
    assert_true(returned is model, exercise=PREPARE, message="prepare_for_finetuning must return the model")
    model.train()
    report = impl.run(describe_parameters, model)
    _, bns, _ = resnet_layout()
    assert_true(trainable(report) == ["fc.bias", "fc.weight"] and report["trainable"] == 64 * 7 + 7,
                exercise=PREPARE, message=f"prepare_for_finetuning(model, 7): trainable {short(trainable(report))}, "
                                          f"{report['trainable']} parameters (expected fc only, 455)")
    bn_training = [n for n in bns if report["training"][n]]
    assert_true(not bn_training and report["training"][""], exercise=PREPARE,
                message=f"after model.train(): BatchNorm layers in train mode {short(bn_training)}, "
                        f"model.training={report['training']['']}")
    x = torch.rand(3, 3, 32, 32)
    out = model(x)
    model.eval()
    assert_close(out.detach(), model(x).detach(), exercise=PREPARE, what="train-mode vs eval-mode output",
                 hint="common causes: BatchNorm must keep using its running statistics")


# --------------------------------------------------------------------------- LoRALinear

def make_lora(impl, in_features, out_features, device="cpu", dtype=torch.float32, bias=True, **kwargs):
    """The submission's LoRALinear around a remote nn.Linear; also the base's weight and bias (local copies)."""
    local = nn.Linear(in_features, out_features, bias=bias, dtype=dtype, device=device)
    base = impl.run(torch.nn.Linear, in_features, out_features, bias=bias, dtype=dtype, device=device)
    base.load_state_dict(local.state_dict())
    lora = impl.LoRALinear(base, **kwargs)
    return lora, local.weight.detach(), None if local.bias is None else local.bias.detach()


def set_adapters(lora, A=None, B=None, seed=0):
    """Loads lora_A/lora_B (random non-zero B by default) and returns the full state_dict."""
    state = lora.state_dict()
    g = torch.Generator().manual_seed(seed)
    if A is not None:
        state["lora_A"] = A
    state["lora_B"] = (torch.randn(state["lora_B"].shape, generator=g, dtype=torch.float64)
                       .to(state["lora_B"]) if B is None else B)
    lora.load_state_dict(state)
    return state


def lora_reference(x, W, b, A, B, scaling):
    return F.linear(x, W, b) + F.linear(F.linear(x, A), B) * scaling


def lora_misconceptions(x, W, b, A, B, r, alpha):
    x, A, B = x.detach(), A.detach(), B.detach()
    return {"the update scaled by r / alpha instead of alpha / r": lora_reference(x, W, b, A, B, r / alpha),
            "the update without the alpha / r scaling": lora_reference(x, W, b, A, B, 1.0),
            "base(x) alone (the low-rank update is missing)": F.linear(x, W, b)}


LORA_CASES = [(7, 5, 3, 6.0), (16, 12, None, None), (64, 10, 4, 1.0), (9, 20, 12, 3.0)]


@pytest.mark.exercise("LoRALinear")
@pytest.mark.parametrize("in_f,out_f,r,alpha", LORA_CASES)
def test_lora_initialisation(impl, device, dtype, in_f, out_f, r, alpha):
    kwargs = {k: v for k, v in (("r", r), ("alpha", alpha)) if v is not None}
    r_, alpha_ = r or 8, alpha or 16.0
    lora, W, b = make_lora(impl, in_f, out_f, device, dtype, **kwargs)
    inputs = {"in": in_f, "out": out_f, "r": r_, "alpha": alpha_, "dtype": dtype}
    A, B = lora.lora_A.detach(), lora.lora_B.detach()
    assert_true(tuple(A.shape) == (r_, in_f) and tuple(B.shape) == (out_f, r_), exercise=LORA, inputs=inputs,
                message=f"lora_A must be (r, in) = {(r_, in_f)}, lora_B (out, r) = {(out_f, r_)}; "
                        f"got {tuple(A.shape)} and {tuple(B.shape)}")
    assert_true(A.dtype == dtype and B.dtype == dtype and A.device.type == B.device.type == torch.device(device).type,
                exercise=LORA, inputs=inputs,
                message=f"lora_A/lora_B must have the base's dtype and device: {A.dtype}/{A.device}, {B.dtype}")
    assert_true(bool((B == 0).all()), exercise=LORA, inputs=inputs,
                message="lora_B must be initialised with zeros, so that the layer equals its base at initialisation")
    bound = 1 / math.sqrt(in_f)  # kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3), bound gain*sqrt(3/in) = 1/sqrt(in)
    assert_true(float(A.abs().max()) <= bound * (1 + 1e-6), exercise=LORA, inputs=inputs,
                message=f"lora_A exceeds Kaiming-uniform(a=sqrt(5))'s bound 1/sqrt(in) = {bound:.4f}: "
                        f"max |A| = {float(A.abs().max()):.4f}")
    if A.numel() >= 200:
        # The sample std of n >= 200 draws of U(-a, a) is a/sqrt(3) within 3.2% (one sigma): the window is
        # > 9 sigma (p < 1e-18). Smaller A (n <= 128): all |A| < 0.3 * bound has p = 0.3^n < 1e-10.
        ratio = float(A.double().std()) / (bound / math.sqrt(3))
        assert_true(0.7 < ratio < 1.3, exercise=LORA, inputs=inputs,
                    message=f"lora_A's std is {ratio:.2f}x that of Kaiming-uniform(a=sqrt(5)); lora_A must not be zero")
    else:
        assert_true(float(A.abs().max()) > 0.3 * bound, exercise=LORA, inputs=inputs,
                    message="lora_A must be initialised Kaiming-uniform(a=sqrt(5)), not with zeros")
    report = impl.run(describe_parameters, lora)
    assert_true(trainable(report) == ["lora_A", "lora_B"], exercise=LORA, inputs=inputs,
                message=f"only lora_A and lora_B may be trainable, the base frozen: "
                        f"requires_grad on {trainable(report)}")
    assert_true(report["trainable"] == r_ * (in_f + out_f), exercise=LORA, inputs=inputs,
                message=f"{report['trainable']} trainable parameters, expected r * (in + out) = {r_ * (in_f + out_f)}")
    assert_true(lora.r == r_ and abs(lora.scaling - alpha_ / r_) < 1e-12, exercise=LORA, inputs=inputs,
                message=f"r = {lora.r}, scaling = {lora.scaling}; "
                        f"expected r = {r_}, scaling = alpha / r = {alpha_ / r_}")
    for shape in [(3, in_f), (2, 3, in_f)]:
        x = torch.randn(shape, dtype=torch.float64).to(device=device, dtype=dtype)
        assert_close(lora(x).detach(), F.linear(x, W, b), exercise=LORA, inputs={**inputs, "x": x},
                     what="output at initialisation",
                     hint="common causes: lora_B starts at zero, so a fresh LoRALinear computes exactly base(x)")


@pytest.mark.exercise("LoRALinear")
@pytest.mark.parametrize("in_f,out_f,r,alpha,batch,bias", [(7, 5, 3, 6.0, (4,), True), (16, 12, 8, 16.0, (2, 3), True),
                                                            (9, 20, 12, 3.0, (5,), False),
                                                            (6, 4, 1, 0.5, (2, 1, 3), True)])
def test_lora_forward_and_gradients(impl, device, dtype, in_f, out_f, r, alpha, batch, bias):
    lora, W, b = make_lora(impl, in_f, out_f, device, dtype, bias=bias, r=r, alpha=alpha)
    state = set_adapters(lora)
    A = state["lora_A"].detach().clone().requires_grad_(True)
    B = state["lora_B"].detach().clone().requires_grad_(True)
    x = torch.randn(*batch, in_f, dtype=torch.float64).to(device=device, dtype=dtype).requires_grad_(True)
    got = impl.run(output_and_grads, lora, x)
    want = output_and_grads(lambda x, A, B: lora_reference(x, W, b, A, B, alpha / r), x, A, B)
    inputs = {"x": x, "r": r, "alpha": alpha, "bias": bias}
    assert_close(got["output"], want["output"], exercise=LORA, inputs=inputs,
                 misconceptions=lora_misconceptions(x, W, b, A, B, r, alpha))
    assert_close(got["inputs"][0], want["inputs"][0], exercise=LORA, what="gradient w.r.t. x", inputs=inputs)
    assert_true(sorted(got["params"]) == ["lora_A", "lora_B"], exercise=LORA, inputs=inputs,
                message=f"gradients reach {sorted(got['params'])}: only lora_A and lora_B may be trainable "
                        "(the base's requires_grad must be False)")
    assert_close(got["params"]["lora_A"], want["inputs"][1], exercise=LORA, what="gradient w.r.t. lora_A",
                 inputs=inputs)
    assert_close(got["params"]["lora_B"], want["inputs"][2], exercise=LORA, what="gradient w.r.t. lora_B",
                 inputs=inputs)


@pytest.mark.exercise("LoRALinear")
def test_lora_gradient_at_initialisation_reaches_b(impl, dtype):
    lora, W, b = make_lora(impl, 8, 6, "cpu", dtype, r=2, alpha=4.0)
    A = lora.lora_A.detach().clone().requires_grad_(True)
    B = torch.zeros(6, 2, dtype=dtype, requires_grad=True)
    x = torch.randn(5, 8, dtype=dtype)
    got = impl.run(output_and_grads, lora, x)
    want = output_and_grads(lambda A, B: lora_reference(x, W, b, A, B, 2.0), A, B)
    assert_true(float(got["params"]["lora_B"].abs().max()) > 0, exercise=LORA,
                message="at initialisation the gradient w.r.t. lora_B is zero: lora_A must not start at zero")
    assert_close(got["params"]["lora_B"], want["inputs"][1], exercise=LORA, what="gradient w.r.t. lora_B at init")
    assert_close(got["params"]["lora_A"], want["inputs"][0], exercise=LORA, what="gradient w.r.t. lora_A at init")


@pytest.mark.exercise("LoRALinear")
@pytest.mark.parametrize("bias", [True, False])
def test_lora_training_changes_only_the_adapters(impl, device, bias):
    lora, _, _ = make_lora(impl, 10, 7, device, torch.float32, bias=bias, r=4, alpha=8.0)
    report = impl.run(train_parameters, lora, torch.randn(6, 10).to(device))
    assert_true("error" not in report, exercise=LORA, message=f"training failed: {report.get('error')}")
    changed = sorted(report["changed"])
    assert_true(changed == ["lora_A", "lora_B"], exercise=LORA,
                message=f"three Adam steps over the trainable parameters changed {changed}: exactly lora_A and "
                        "lora_B must move, the base stays frozen (requires_grad=False)")


@pytest.mark.exercise("LoRALinear")
@pytest.mark.parametrize("bias", [True, False])
def test_lora_merge(impl, device, dtype, bias):
    r, alpha = 3, 7.5
    lora, W, b = make_lora(impl, 11, 6, device, dtype, bias=bias, r=r, alpha=alpha)
    state = set_adapters(lora)
    A, B = state["lora_A"], state["lora_B"]
    x = torch.randn(4, 11, dtype=torch.float64).to(device=device, dtype=dtype)
    expected = lora_reference(x, W, b, A, B, alpha / r)
    before = lora(x).detach()
    merged = lora.merge()
    inputs = {"x": x, "r": r, "alpha": alpha, "bias": bias}
    assert_true(impl.isinstance(merged, nn.Linear), exercise=LORA, message="merge() must return an nn.Linear")
    out = merged(x).detach()
    assert_close(out, expected, exercise=LORA, what="merge() output", inputs=inputs,
                 misconceptions={"base + B @ A without the alpha / r scaling":
                                 lora_reference(x, W, b, A, B, 1.0),
                                 "base + B @ A scaled by r / alpha instead of alpha / r":
                                 lora_reference(x, W, b, A, B, r / alpha)})
    assert_close(lora(x).detach(), before, exercise=LORA, what="LoRALinear output after merge()", inputs=inputs,
                 hint="common causes: merge() must leave the LoRALinear unchanged: build a new nn.Linear, do not add "
                      "into base.weight")
    weight = merged.weight
    assert_true(weight.dtype == dtype and weight.device.type == torch.device(device).type and not weight.requires_grad
                and (merged.bias is None) == (not bias), exercise=LORA, inputs=inputs,
                message=f"the merged layer must have the base's dtype/device, a bias iff the base has one, and "
                        f"requires_grad=False like the frozen base: got {weight.dtype} on {weight.device}, "
                        f"requires_grad={weight.requires_grad}, bias={merged.bias is not None}")
    set_adapters(lora, seed=1)  # changing the adapter afterwards must not change the merged layer
    assert_close(merged(x).detach(), out, exercise=LORA, what="merged output after changing lora_B", inputs=inputs,
                 hint="common causes: the merged layer must be independent of the LoRALinear")


@pytest.mark.exercise("LoRALinear")
def test_lora_dropout(impl, dtype):
    lora, W, b = make_lora(impl, 8, 5, "cpu", dtype, r=2, alpha=3.0, dropout=0.5)
    state = set_adapters(lora)
    x = torch.randn(64, 8, dtype=dtype)
    lora.eval()
    assert_close(lora(x).detach(), lora_reference(x, W, b, state["lora_A"], state["lora_B"], 1.5), exercise=LORA,
                 what="output in eval mode with dropout=0.5", inputs={"x": x},
                 hint="common causes: in eval mode the adapter's dropout is off (use an nn.Dropout module, or "
                      "training=self.training)")
    lora, W, b = make_lora(impl, 8, 5, "cpu", dtype, r=2, alpha=3.0, dropout=1.0)
    set_adapters(lora)
    lora.train()
    assert_close(lora(x).detach(), F.linear(x, W, b), exercise=LORA, what="output in train mode with dropout=1.0",
                 inputs={"x": x}, hint="common causes: dropout applies to the adapter's input only: base(x) sees the "
                                       "whole x")


@pytest.mark.exercise("LoRALinear")
def test_lora_state_dict_round_trip(impl):
    lora, W, b = make_lora(impl, 6, 4, r=2, alpha=2.0)
    state = set_adapters(lora)
    keys = sorted(state)
    assert_true(keys == ["base.bias", "base.weight", "lora_A", "lora_B"], exercise=LORA,
                message=f"state_dict keys {keys}, expected base.weight, base.bias, lora_A, lora_B")
    other, _, _ = make_lora(impl, 6, 4, r=2, alpha=2.0)
    other.load_state_dict(state)
    x = torch.randn(3, 6)
    assert_close(other(x).detach(), lora_reference(x, W, b, state["lora_A"], state["lora_B"], 1.0), exercise=LORA,
                 what="output after load_state_dict", inputs={"x": x})


@pytest.mark.exercise("LoRALinear")
def test_lora_rejects_bad_arguments(impl):
    lora = impl.LoRALinear(impl.run(torch.nn.Linear, 4, 2), r=2)
    assert_true(tuple(lora.lora_B.shape) == (2, 2), exercise=LORA, message="lora_B must be (out, r) = (2, 2)")
    with pytest.raises(ValueError):
        impl.LoRALinear(impl.run(torch.nn.Linear, 4, 2), r=0)
    with pytest.raises(TypeError):
        impl.LoRALinear(impl.run(torch.nn.Conv1d, 4, 2, 1))
    with pytest.raises(ValueError):
        impl.LoRALinear(impl.run(torch.nn.Linear, 4, 2), dropout=1.5)


# --------------------------------------------------------------------------- apply_lora

LINEAR_SHAPES = {name: m for name, m in LoraNet().named_modules() if isinstance(m, nn.Linear)}


def check_apply(report, expected, r, alpha, kind="lora", shapes=None):
    shapes = shapes or {n: (m.in_features, m.out_features) for n, m in LINEAR_SHAPES.items()}
    expected = sorted(expected)
    got = report["wrapped"]
    extra, missing = sorted(set(got) - set(expected)), sorted(set(expected) - set(got))
    assert_true(report["returned_model"], exercise=APPLY, message="apply_lora must return the model")
    assert_true(not extra, exercise=APPLY, inputs={"model": kind},
                message=f"apply_lora also wrapped {extra}: a target matches whole name parts only "
                        f"(name == target or name ends with '.' + target; 'proj' is not 'out_proj')")
    assert_true(not missing, exercise=APPLY, inputs={"model": kind},
                message=f"apply_lora missed {missing}: nested layers whose name ends with '.' + target must be "
                        "wrapped too (walk model.named_modules())")
    info = report["info"]
    bad = {n: i for n, i in info.items() if i["r"] != r or abs(i["scaling"] - alpha / r) > 1e-12 or not i["B_zero"]}
    assert_true(not bad, exercise=APPLY,
                message=f"wrappers must be LoRALinear(layer, r={r}, alpha={alpha}) (scaling {alpha / r}, lora_B "
                        f"zero): got {bad}")
    unique = sorted({n for n in expected if n in shapes})
    want_trainable = sorted(f"{n}.lora_{m}" for n in unique for m in "AB")
    got_trainable = trainable(report["parameters"])
    if kind == "shared":
        want_trainable = ["a.lora_A", "a.lora_B"]
    assert_true(got_trainable == want_trainable, exercise=APPLY,
                message=f"after apply_lora only the adapters may be trainable (requires_grad): expected "
                        f"{short(want_trainable)}, got {short(got_trainable)}")
    count = sum(r * (shapes[n][0] + shapes[n][1]) for n in ({"a"} if kind == "shared" else unique))
    assert_true(report["parameters"]["trainable"] == count, exercise=APPLY,
                message=f"{report['parameters']['trainable']} trainable parameters, expected {count}")
    assert_close(report["output_after"], report["output_before"], exercise=APPLY, what="output right after apply_lora",
                 hint="common causes: fresh adapters (lora_B = 0) must not change the model's output")
    training = report["training"]
    assert_true("error" not in training, exercise=APPLY, message=f"training failed: {training.get('error')}")
    want_changed = sorted(f"{n}.lora_{m}" for n in expected for m in "AB")
    changed = sorted(training["changed"])
    assert_true(changed == want_changed, exercise=APPLY,
                message=f"three Adam steps changed {short(changed)}; expected exactly the adapters "
                        f"{short(want_changed)}")


APPLY_CASES = [
    (["proj"], ["proj", "blocks.0.attn.proj", "blocks.1.attn.proj"]),
    (["fc"], ["fc", "blocks.0.fc", "blocks.1.fc"]),
    (["attn.proj"], ["blocks.0.attn.proj", "blocks.1.attn.proj"]),
    (["blocks.1.fc", "out_proj"], ["blocks.1.fc", "out_proj", "blocks.0.attn.out_proj", "blocks.1.attn.out_proj"]),
    ("mlp.0", ["mlp.0"]),
    (["fc1", "mlp.2"], ["blocks.0.fc1", "blocks.1.fc1", "mlp.2"]),
]


@pytest.mark.exercise("apply_lora")
@pytest.mark.parametrize("target,expected", APPLY_CASES, ids=[str(t) for t, _ in APPLY_CASES])
def test_apply_lora_matching(impl, target, expected):
    report = impl.run(apply_lora_scenario, impl.apply_lora, impl.LoRALinear, target, r=2, alpha=5.0)
    check_apply(report, expected, 2, 5.0)


@pytest.mark.exercise("apply_lora")
def test_apply_lora_defaults_dtype_device(impl, device, dtype):
    report = impl.run(apply_lora_scenario, impl.apply_lora, impl.LoRALinear, ["proj", "fc"], dtype=dtype,
                      device=device)
    check_apply(report, ["proj", "blocks.0.attn.proj", "blocks.1.attn.proj", "fc", "blocks.0.fc", "blocks.1.fc"],
                8, 16.0)


@pytest.mark.exercise("apply_lora")
def test_apply_lora_shared_layer_wrapped_once(impl):
    report = impl.run(apply_lora_scenario, impl.apply_lora, impl.LoRALinear, ["a", "b"], kind="shared", r=2,
                      alpha=2.0)
    assert_true(report["a_is_b"], exercise=APPLY,
                message="model.a and model.b are one layer: apply_lora must wrap it once and set the same "
                        "LoRALinear under both names")
    check_apply(report, ["a", "b"], 2, 2.0, kind="shared", shapes={"a": (6, 6), "b": (6, 6)})


@pytest.mark.exercise("apply_lora")
@pytest.mark.parametrize("target", ["a", "b"])
def test_apply_lora_shared_layer_one_name_targeted(impl, target):
    report = impl.run(apply_lora_scenario, impl.apply_lora, impl.LoRALinear, [target], kind="shared", r=2,
                      alpha=2.0)
    assert_true(report["a_is_b"], exercise=APPLY, inputs={"target": [target]},
                message="model.a and model.b are one layer: when one of its names matches, apply_lora must set the "
                        "same LoRALinear under every name it is registered under, so the layer stays shared")
    check_apply(report, ["a", "b"], 2, 2.0, kind="shared", shapes={"a": (6, 6), "b": (6, 6)})


@pytest.mark.exercise("apply_lora")
def test_apply_lora_wraps_subclasses_of_linear(impl):
    report = impl.run(apply_lora_scenario, impl.apply_lora, impl.LoRALinear, ["head", "body"], kind="subclass",
                      r=2, alpha=4.0)
    check_apply(report, ["head", "body"], 2, 4.0, kind="subclass", shapes={"head": (6, 3), "body": (6, 6)})


@pytest.mark.exercise("apply_lora")
def test_apply_lora_pretrained_resnet_head(impl):
    report = impl.run(apply_lora_scenario, impl.apply_lora, impl.LoRALinear, ["fc"], kind="resnet",
                      pretrained=True, dtype=torch.float32, r=4, alpha=8.0)
    check_apply(report, ["fc"], 4, 8.0, kind="resnet", shapes={"fc": (64, 6)})


@pytest.mark.exercise("apply_lora")
@pytest.mark.parametrize("target", [["fc", "nope"], ["mlp"], ["blocks.2.fc"], ["c"]], ids=str)
def test_apply_lora_unknown_target_raises_and_leaves_model(impl, target):
    model = impl.run(build_model, "lora")
    impl.apply_lora(model, ["mlp.2"], r=2)
    assert_true(impl.isinstance(model.mlp[2].base, nn.Linear), exercise=APPLY,
                message="after apply_lora(model, ['mlp.2']), model.mlp[2] must be a LoRALinear around the layer")
    fresh = impl.run(build_model, "lora")
    with pytest.raises(ValueError):
        impl.apply_lora(fresh, target)
    report = impl.run(describe_parameters, fresh)
    wrapped = sorted(n for n, t in report["types"].items() if t != "Linear" and n in LINEAR_SHAPES)
    assert_true(not frozen(report) and not wrapped, exercise=APPLY, inputs={"target": target},
                message=f"a failed apply_lora must leave the model unchanged: frozen {short(frozen(report))}, "
                        f"replaced {wrapped}")
