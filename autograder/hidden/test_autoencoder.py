"""Hidden tests for `autoencoder`: structure, noise, training and anomaly scores, against torch references.

References are computed here by torch (``autograder.fixtures.autoencoder``: a reference autoencoder built
from torch layers and a reference training loop written from SPEC); the submission runs next to its own
objects through ``impl.run``. The training and scoring exercises are tested on models the fixtures build,
so each exercise is graded on its own.

``train_autoencoder`` is compared exactly with the reference loop only where SPEC fixes the result whatever
order a correct loop draws its random numbers in:

* data whose rows are all equal, trained on a model whose output ignores its input's values: every
  mini-batch then has the same loss and gradient whatever the shuffling and the noise, so the trajectory
  depends only on AdamW, the MSE against the clean x, the mini-batch sizes and the per-sample mean;
* full-batch training (``batch_size >= N``) without noise: the order of the samples only changes rounding.

Everything that depends on the random stream (shuffling, noise) is checked by properties: the same seed
gives the same run whatever the global RNG state, another seed another run, the noise has the right size,
the data stay untouched, and the loop learns a 3-dim manifold to below 10 % of the data variance.
"""
import functools

import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures import autoencoder as fx
from autograder.fixtures.seeding import seeded_state_dict
from autograder.fixtures.synthetic import AE_TASK, data_variance, make_anomalies, make_manifold_data

AE = "autoencoder.Autoencoder"
NOISE = "autoencoder.add_noise"
TRAIN = "autoencoder.train_autoencoder"
SCORE = "autoencoder.reconstruction_error"

EXPECTED_LAYERS = ["Linear", "ReLU", "Linear"]


def as_tensor(values):
    return torch.tensor(values, dtype=torch.float64)


# --------------------------------------------------------------------------- Autoencoder

@pytest.mark.exercise("Autoencoder")
@pytest.mark.parametrize("sizes", [(), (5, 7, 2), (32, 64, 3)])
def test_autoencoder_structure_and_state_dict(impl, sizes):
    got = impl.run(fx.structure, impl.Autoencoder, *sizes)
    want = fx.structure(fx.ReferenceAutoencoder, *sizes)
    for side in ("encoder", "decoder"):
        assert_true(got[f"{side}_is_sequential"] and got[side] == EXPECTED_LAYERS, exercise=AE,
                    message=f"{side} should be nn.Sequential(Linear, ReLU, Linear) (a ReLU between the layers, "
                            f"none after the last), got {got[side]}", inputs={"sizes": sizes})
    assert_true(got["state_dict"] == want["state_dict"], exercise=AE,
                message=f"state_dict keys/shapes {got['state_dict']} differ from the expected "
                        f"{want['state_dict']} (Autoencoder{sizes or '()'}: defaults 784, 64, 3)")


@pytest.mark.exercise("Autoencoder")
@pytest.mark.parametrize("seed", [0, 7])
def test_autoencoder_initialisation_as_seeded(impl, seed):
    sizes = (6, 10, 3)
    got = impl.run(seeded_state_dict, impl.Autoencoder, seed, *sizes)
    want = seeded_state_dict(fx.ReferenceAutoencoder, seed, *sizes)
    assert_true(sorted(got) == sorted(want), exercise=AE, message=f"state_dict keys {sorted(got)} != {sorted(want)}")
    for name in want:
        assert_close(got[name], want[name], exercise=AE, what=f"initial {name} after torch.manual_seed({seed})",
                     hint="common causes: the nn.Linear layers (default init) built in another order than "
                          "encoder.0, encoder.2, decoder.0, decoder.2, or other draws from the RNG in __init__")


def reference_pair(impl, sizes, device, dtype, seed=3):
    reference = fx.build_model("ae", sizes, seed, dtype, device)
    model = impl.Autoencoder(*sizes)
    model.to(device=device, dtype=dtype)
    model.load_state_dict(reference.state_dict())
    return reference, model


def ae_misconceptions(reference, method, x):
    with torch.no_grad():
        code = x if method == "decode" else reference.encoder(x)
        wrong = {}
        if method in ("encode", "forward"):
            clipped = F.relu(code)
            wrong["a ReLU after the encoder's last layer (the code must stay linear, it may be negative)"] = (
                clipped if method == "encode" else reference.decoder(clipped))
        if method in ("decode", "forward"):
            out = reference.decoder(code)
            wrong["a Sigmoid after the decoder's last layer (the output must stay linear: data may be negative)"] = (
                torch.sigmoid(out))
    return wrong


@pytest.mark.exercise("Autoencoder")
@pytest.mark.parametrize("method", ["forward", "encode", "decode"])
@pytest.mark.parametrize("sizes,batch", [((8, 16, 3), (10,)), ((5, 7, 2), (2, 3)), ((4, 6, 4), ())])
def test_autoencoder_matches_reference(impl, device, dtype, method, sizes, batch):
    reference, model = reference_pair(impl, sizes, device, dtype)
    width = sizes[2] if method == "decode" else sizes[0]
    x = (torch.randn(*batch, width, dtype=torch.float64) * 2).to(device=device, dtype=dtype)
    got = impl.run(fx.method_output_and_grads, model, method, x)
    want = fx.method_output_and_grads(reference, method, x)
    inputs = {"x": x, "sizes": sizes}
    assert_close(got["output"], want["output"], exercise=AE, what=f"{method}(x)", inputs=inputs,
                 misconceptions=ae_misconceptions(reference, method, x))
    assert_close(got["input"], want["input"], exercise=AE, what=f"gradient of {method}(x) w.r.t. x", inputs=inputs)
    assert_true(sorted(got["params"]) == sorted(want["params"]), exercise=AE,
                message=f"parameters {sorted(got['params'])} != {sorted(want['params'])}")
    for name, grad in want["params"].items():
        assert_close(got["params"][name], grad, exercise=AE, what=f"gradient of {method}(x) w.r.t. {name}",
                     inputs=inputs)


@pytest.mark.exercise("Autoencoder")
def test_autoencoder_state_dict_round_trip(impl):
    sizes = (6, 9, 2)
    model = impl.Autoencoder(*sizes)
    state = model.state_dict()
    reference = fx.ReferenceAutoencoder(*sizes)
    reference.load_state_dict(state)  # the submission's weights in the reference
    x = torch.randn(5, 6)
    with torch.no_grad():
        assert_close(model(x), reference(x), exercise=AE, what="forward with its own state_dict", inputs={"x": x})
    other = fx.build_model("ae", sizes, seed=11, dtype=torch.float32)
    model.load_state_dict(other.state_dict())
    with torch.no_grad():
        assert_close(model(x), other(x), exercise=AE, what="forward after load_state_dict", inputs={"x": x})
        assert_close(model.encode(x), other.encoder(x), exercise=AE, what="encode after load_state_dict")


@pytest.mark.exercise("Autoencoder")
@pytest.mark.parametrize("bad", [(0, 4, 2), (4, 0, 2), (4, 4, 0)])
def test_autoencoder_rejects_empty_sizes(impl, bad):
    model = impl.Autoencoder(4, 4, 2)
    x = torch.randn(3, 4)
    with torch.no_grad():
        assert_close(model(x), model.decode(model.encode(x)), exercise=AE, what="forward(x) vs decode(encode(x))")
    with pytest.raises(ValueError):
        impl.Autoencoder(*bad)


# --------------------------------------------------------------------------- add_noise

def noise_misconceptions(x, std, seed):
    def gen():
        return torch.Generator(device=x.device).manual_seed(seed)

    kw = dict(dtype=x.dtype, device=x.device)
    return {
        "noise scaled by std ** 2 (the variance) instead of std":
            x + std ** 2 * torch.randn(x.shape, generator=gen(), **kw),
        "uniform noise (torch.rand) instead of Gaussian noise (torch.randn)":
            x + std * torch.rand(x.shape, generator=gen(), **kw),
    }


@pytest.mark.exercise("add_noise")
@pytest.mark.parametrize("shape,std", [((7,), 0.3), ((4, 5), 2.0), ((2, 3, 4), 0.5), ((64, 3), 1.0)])
def test_add_noise_matches_seeded_randn(impl, device, dtype, shape, std):
    x0 = torch.randn(*shape, dtype=torch.float64).to(device=device, dtype=dtype)
    x = impl.inout(x0)  # a copy whose in-place changes come back
    got = impl.add_noise(x, std, generator=torch.Generator(device=device).manual_seed(5))
    want = x0 + std * torch.randn(shape, generator=torch.Generator(device=device).manual_seed(5), dtype=dtype,
                                  device=device)
    inputs = {"x": x0, "std": std}
    assert_true(isinstance(got, torch.Tensor) and got.dtype == dtype and got.device == x0.device, exercise=NOISE,
                message=f"expected a {dtype} tensor on {device}, got {getattr(got, 'dtype', type(got).__name__)}",
                inputs=inputs)
    assert_close(got, want, exercise=NOISE, inputs=inputs, misconceptions=noise_misconceptions(x0, std, 5),
                 hint="common causes: noise other than std * torch.randn(x.shape, generator=generator, "
                      "dtype=x.dtype, device=x.device)")
    assert_close(x, x0, exercise=NOISE, what="the input x after the call",
                 hint="common causes: add_noise modified x in place: return x + noise, a new tensor")


@pytest.mark.exercise("add_noise")
def test_add_noise_leaves_input_untouched(impl):
    x0 = torch.randn(6, 5)
    x = impl.inout(x0)
    out = impl.add_noise(x, 1.5, generator=torch.Generator().manual_seed(0))
    assert_close(x, x0, exercise=NOISE, what="the input x after the call", inputs={"x": x0, "std": 1.5},
                 hint="common causes: x was changed in place (x += ...): the clean tensor is still needed (it is the "
                      "denoising target); return a new tensor")
    assert_true(not torch.equal(out, x0), exercise=NOISE, message="add_noise(x, 1.5) returned x without noise")


@pytest.mark.exercise("add_noise")
def test_add_noise_std_zero_is_identity(impl, device):
    x = torch.randn(3, 4, device=device, dtype=torch.float64)
    out = impl.add_noise(x, 0.0, generator=torch.Generator(device=device).manual_seed(1))
    assert_close(out, x, exercise=NOISE, what="add_noise(x, 0.0)", inputs={"x": x})


@pytest.mark.exercise("add_noise")
def test_add_noise_default_generator_is_global_rng(impl):
    x = torch.randn(5, 6)
    got = impl.run(fx.call_with_global_seed, impl.add_noise, 123, x, 0.7)
    torch.manual_seed(123)
    want = x + 0.7 * torch.randn(x.shape)
    assert_close(got, want, exercise=NOISE, inputs={"x": x, "std": 0.7},
                 hint="common causes: without a generator, noise not drawn from the global RNG "
                      "(torch.randn(..., generator=None))")
    again = impl.run(fx.call_with_global_seed, impl.add_noise, 124, x, 0.7)
    assert_true(not torch.equal(again, got), exercise=NOISE,
                message="two different global RNG states gave the same noise")


@pytest.mark.exercise("add_noise")
@pytest.mark.parametrize("std", [0.5, 2.0])
def test_add_noise_statistics(impl, std):
    # Holds for any Gaussian draws, not just torch.randn's stream. n = 200000 values:
    # sd(mean) = std / 447, sd(sample std) = std / 632, sd(fraction within 1 std) = 0.00104; the bounds
    # below are >= 7 sigma away from the true values (p < 1e-11) and far from every known mistake
    # (uniform noise: mean 0.5 std; variance-scaled noise: sample std std**2).
    x = torch.full((400, 500), 3.0, dtype=torch.float64)
    noise = impl.add_noise(x, std, generator=torch.Generator().manual_seed(2024)) - 3.0
    mean, sd = noise.mean().item(), noise.std().item()
    inside = (noise.abs() < std).double().mean().item()
    message = (f"noise of std={std} has mean {mean:.4f}, std {sd:.4f}, {inside:.4f} of it within one std "
               f"(expected ~0, {std}, 0.6827 for Gaussian noise; std is the standard deviation, not the variance)")
    assert_true(abs(mean) < 7 * std / 447 and abs(sd - std) < 7 * std / 632 and abs(inside - 0.6827) < 0.0075,
                exercise=NOISE, message=message)


@pytest.mark.exercise("add_noise")
def test_add_noise_rejects_negative_std(impl):
    x = torch.zeros(2, 3)
    out = impl.add_noise(x, 1.0, generator=torch.Generator().manual_seed(0))
    assert_close(out, torch.randn(2, 3, generator=torch.Generator().manual_seed(0)), exercise=NOISE, inputs={"x": x})
    with pytest.raises(ValueError):
        impl.add_noise(x, -0.1)


# --------------------------------------------------------------------------- train_autoencoder

def check_history(got, epochs, inputs):
    history = got["history"]
    assert_true(history is not None and len(history) == epochs, exercise=TRAIN, inputs=inputs,
                message=f"expected a list of {epochs} floats (one per epoch), got {got['history_types']}")
    return as_tensor(history)


def history_misconceptions(ref):
    steps = ref["reference"]["step_losses"]
    wrong = {
        "the sum of the batch losses of each epoch (the history holds the mean loss per sample)":
            as_tensor([sum(s) for s in steps]),
        "the plain average of the batch losses (weight each batch by its size: the mean per sample)":
            as_tensor([sum(s) / len(s) for s in steps]),
        "training without opt.zero_grad() (gradients accumulate over the steps)":
            as_tensor(ref["no_zero_grad"]["history"]),
        "training with a new optimizer every epoch (create the AdamW optimizer once, before the loop)":
            as_tensor(ref["optimizer_per_epoch"]["history"]),
        "training with Adam / weight_decay=0 (SPEC: AdamW with its default weight_decay=0.01)":
            as_tensor(ref["no_weight_decay"]["history"]),
    }
    return wrong


def state_misconceptions(ref, name):
    return {
        "training without opt.zero_grad() (gradients accumulate over the steps)": ref["no_zero_grad"]["state"][name],
        "training with a new optimizer every epoch (create the AdamW optimizer once, before the loop)":
            ref["optimizer_per_epoch"]["state"][name],
        "training with Adam / weight_decay=0 (SPEC: AdamW with its default weight_decay=0.01)":
            ref["no_weight_decay"]["state"][name],
    }


def compare_run(got, ref, epochs, inputs, hint=None):
    history = check_history(got, epochs, inputs)
    assert_true(not got["data_changed"], exercise=TRAIN, inputs=inputs,
                message="the training data changed during training: never modify `data` in place")
    assert_close(history, as_tensor(ref["reference"]["history"]), exercise=TRAIN, what="loss history",
                 inputs=inputs, misconceptions=history_misconceptions(ref), hint=hint)
    for name, value in ref["reference"]["state"].items():
        assert_close(got["state"][name], value, exercise=TRAIN, what=f"trained {name}", inputs=inputs,
                     misconceptions=state_misconceptions(ref, name), hint=hint)


@pytest.mark.exercise("train_autoencoder")
@pytest.mark.parametrize("n,batch_size,epochs,noise_std", [(100, 64, 3, 0.0), (100, 64, 3, 0.5), (90, 30, 2, 0.0),
                                                           (7, 3, 3, 1.5)])
def test_train_minibatch_trajectory(impl, device, n, batch_size, epochs, noise_std):
    # Every row equal + a model blind to its input's values: each mini-batch has the same loss and
    # gradient whatever the shuffling and the noise, so the run is fixed by SPEC alone.
    data = torch.randn(1, 8, dtype=torch.float64).expand(n, 8).contiguous().to(device)
    kwargs = dict(epochs=epochs, lr=0.05, batch_size=batch_size, noise_std=noise_std, seed=3)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="blind", **kwargs)
    ref = fx.reference_variants(data, kind="blind", **kwargs)
    hint = None
    if noise_std > 0:
        hint = ("common causes: with noise_std > 0, a loss against the noisy input instead of the clean x (only "
                "the model's input is noised; the clean x is the denoising target)")
    compare_run(got, ref, epochs, {"data": data, **kwargs}, hint=hint)


@pytest.mark.exercise("train_autoencoder")
@pytest.mark.parametrize("n,batch_size", [(48, 48), (30, 64)])
def test_train_full_batch_autoencoder(impl, device, n, batch_size):
    # One batch per epoch and no noise: the shuffling only reorders a sum, so the run is fixed by SPEC.
    data = torch.randn(n, 8, dtype=torch.float64, device=device) * 1.5
    kwargs = dict(epochs=8, lr=0.02, batch_size=batch_size, seed=1)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="ae", sizes=(8, 12, 3), **kwargs)
    ref = fx.reference_variants(data, kind="ae", sizes=(8, 12, 3), **kwargs)
    compare_run(got, ref, 8, {"data": data, **kwargs})


@pytest.mark.exercise("train_autoencoder")
def test_train_deterministic_for_a_seed(impl):
    data = torch.randn(120, 8, dtype=torch.float64)
    kwargs = dict(kind="ae", epochs=3, lr=0.01, batch_size=32, noise_std=0.3, seed=4)
    first = impl.run(fx.train_and_report, impl.train_autoencoder, data, global_seed=1, **kwargs)
    second = impl.run(fx.train_and_report, impl.train_autoencoder, data, global_seed=2, **kwargs)
    hint = ("common causes: shuffling or noise drawn from the global RNG (two runs with the same seed and "
            "weights differ when the global RNG differs): draw both from a torch.Generator seeded with `seed`")
    h1, h2 = check_history(first, 3, {"data": data}), check_history(second, 3, {"data": data})
    assert_close(h2, h1, exercise=TRAIN, what="loss history of a second run with the same seed", hint=hint)
    for name, value in first["state"].items():
        assert_close(second["state"][name], value, exercise=TRAIN, what=f"{name} after a second run, same seed",
                     hint=hint)


@pytest.mark.exercise("train_autoencoder")
@pytest.mark.parametrize("noise_std", [0.0, 0.3])
def test_train_seed_changes_the_run(impl, noise_std):
    data = torch.randn(120, 8, dtype=torch.float64)
    kwargs = dict(kind="ae", epochs=2, lr=0.01, batch_size=32, noise_std=noise_std)
    runs = [impl.run(fx.train_and_report, impl.train_autoencoder, data, seed=s, global_seed=0, **kwargs)
            for s in (0, 1)]
    same = all(torch.equal(runs[0]["state"][k], runs[1]["state"][k]) for k in runs[0]["state"])
    assert_true(not same, exercise=TRAIN, inputs={"data": data, "noise_std": noise_std},
                message="seed=0 and seed=1 gave identical final weights: the mini-batches must be reshuffled "
                        "every epoch (and the noise drawn) from a generator seeded with `seed`")


@pytest.mark.exercise("train_autoencoder")
@pytest.mark.parametrize("noise_std", [0.7, 2.0])
def test_train_noise_size_and_clean_target(impl, noise_std):
    # The model starts as the identity and barely moves (lr 1e-7): the first epoch's loss is the mean
    # squared noise, noise_std ** 2. Over 1600 values its relative sd is sqrt(2 / 1600) = 3.5 %; the
    # +-25 % band is > 7 sigma (p < 1e-11). A noisy target (or no noise) gives ~0, variance-scaled noise
    # noise_std ** 4.
    data = torch.randn(200, 8, dtype=torch.float64)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="identity", epochs=1, lr=1e-7,
                   batch_size=50, noise_std=noise_std, seed=0)
    history = check_history(got, 1, {"data": data})
    loss, want = history[0].item(), noise_std ** 2
    assert_true(not got["data_changed"], exercise=TRAIN,
                message="the training data changed: the noise was added in place; the clean data must stay as "
                        "they are")
    assert_true(abs(loss - want) < 0.25 * want, exercise=TRAIN, inputs={"data": data, "noise_std": noise_std},
                message=f"an identity model trained with noise_std={noise_std} has a first-epoch loss of {loss:.4f}, "
                        f"expected ~{want:.4f} (= noise_std ** 2): the input must be x + noise_std * N(0, 1) "
                        "and the target the clean x")


@pytest.mark.exercise("train_autoencoder")
def test_train_learns_manifold(impl):
    task = AE_TASK
    data = make_manifold_data(task["n_train"], task["dim"], task["latent_dim"], seed=0)
    variance = data_variance(data)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="ae",
                   sizes=(task["dim"], task["hidden_dim"], task["latent_dim"]), seed=0)
    history = check_history(got, 20, {"data": data})
    limit = task["max_loss_ratio"] * variance
    assert_true(history[-1].item() < limit and got["final_mse"] < limit, exercise=TRAIN, inputs={"data": data},
                message=f"after 20 epochs (defaults) the reported loss is {history[-1].item():.4f} and the model's "
                        f"reconstruction MSE {got['final_mse']:.4f}; both must be below {limit:.4f} (10 % of the "
                        f"data variance) on points of a 3-dim manifold. History: "
                        f"{[round(h, 4) for h in history.tolist()]}")
    # Measured (6 shuffling seeds): 0.70 -> 0.040, monotone; the bounds leave room for any correct loop.
    assert_true(history[-1].item() < 0.5 * history[0].item() and history[-1].item() <= history.min().item() * 1.25,
                exercise=TRAIN, message=f"the loss should decrease over the epochs: {history.tolist()}")


@pytest.mark.exercise("train_autoencoder")
def test_train_returns_floats_trains_in_place_and_restores_mode(impl):
    data = torch.randn(40, 8)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="ae", epochs=2, batch_size=16,
                   eval_before=True)
    check_history(got, 2, {"data": data})
    assert_true(all(t == "float" for t in got["history_types"]), exercise=TRAIN,
                message=f"the history must hold Python floats (loss.item()), got {got['history_types']}")
    assert_true(any(not torch.equal(got["state"][k], got["initial"][k]) for k in got["initial"]), exercise=TRAIN,
                message="the model's weights did not change: train the model passed in, in place")
    assert_true(got["training_after"] is False, exercise=TRAIN,
                message="a model in eval mode came back in train mode: restore its previous mode at the end")
    none = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="ae", epochs=0)
    assert_true(none["history"] == [] and all(torch.equal(none["state"][k], none["initial"][k])
                                              for k in none["initial"]),
                exercise=TRAIN, message="epochs=0 must return [] and leave the weights unchanged")


@pytest.mark.exercise("train_autoencoder")
@pytest.mark.parametrize("bad", [dict(data=torch.zeros(12)), dict(batch_size=0), dict(noise_std=-0.5), dict(lr=0.0)],
                         ids=["1d-data", "batch_size", "noise_std", "lr"])
def test_train_rejects_invalid_arguments(impl, bad):
    data = torch.randn(12, 4, dtype=torch.float64)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="blind", sizes=(4, 6, 2), epochs=1,
                   lr=0.1, batch_size=5)
    assert_true(got["history"] is not None and len(got["history"]) == 1, exercise=TRAIN,
                message="train_autoencoder(model, data, epochs=1) must return one loss")
    model = impl.run(fx.build_model, "ae", (4, 6, 2))
    kwargs = dict(data=data, epochs=1)
    kwargs.update(bad)
    with pytest.raises(ValueError):
        impl.train_autoencoder(model, kwargs.pop("data"), **kwargs)


# --------------------------------------------------------------------------- reconstruction_error

def score_reference(x, kind="ae", sizes=(8, 16, 3), seed=0, state=None):
    model = fx.build_model(kind, sizes, seed, x.dtype, str(x.device))
    if state is not None:
        model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        out = model(x)
    return out, F.mse_loss(out, x, reduction="none").mean(-1)


def score_misconceptions(out, x):
    return {"the sum of the squared errors over the features (average them: divide by D)": ((out - x) ** 2).sum(-1),
            "the mean over the whole batch (one number instead of one per-sample score)": F.mse_loss(out, x)}


@pytest.mark.exercise("reconstruction_error")
@pytest.mark.parametrize("batch", [(10,), (2, 5), (1,)])
def test_reconstruction_error_values(impl, device, dtype, batch):
    x = torch.randn(*batch, 8, dtype=torch.float64).to(device=device, dtype=dtype)
    got = impl.run(fx.score_and_report, impl.reconstruction_error, x)
    out, want = score_reference(x)
    assert_close(got["scores"], want, exercise=SCORE, what="per-sample error", inputs={"x": x},
                 misconceptions=score_misconceptions(out, x),
                 hint="common causes: not one score per sample ((model(x) - x) ** 2).mean(dim=-1)")


@pytest.mark.exercise("reconstruction_error")
@pytest.mark.parametrize("train_mode", [True, False])
def test_reconstruction_error_no_grad_and_mode_restored(impl, train_mode):
    x = torch.randn(6, 8)
    got = impl.run(fx.score_and_report, impl.reconstruction_error, x, train_mode=train_mode)
    assert_true(not got["requires_grad"] and not got["has_grad_fn"] and not got["param_grads"], exercise=SCORE,
                message="the scores carry autograd history (requires_grad / grad_fn): compute them under "
                        "torch.no_grad()")
    assert_true(got["mode_after"] == train_mode and all(m == train_mode for m in got["submodule_modes_after"]),
                exercise=SCORE, message=f"a model in {'train' if train_mode else 'eval'} mode came back with "
                                        f"training={got['mode_after']}: score in eval mode, then restore the "
                                        "previous mode")


@pytest.mark.exercise("reconstruction_error")
def test_reconstruction_error_uses_eval_mode(impl):
    x = torch.randn(20, 8)
    got = impl.run(fx.score_and_report, impl.reconstruction_error, x, kind="dropout", train_mode=True)
    _, want = score_reference(x, kind="dropout")
    assert_close(got["scores"], want, exercise=SCORE, what="scores of a model with dropout", inputs={"x": x},
                 hint="common causes: the model scored in train mode (dropout active): call model.eval() first, "
                      "then restore its previous mode")
    assert_true(got["mode_after"] is True, exercise=SCORE,
                message="a model in train mode came back in eval mode: restore its previous mode")


@functools.lru_cache(maxsize=1)
def trained_manifold_model():
    data = make_manifold_data(2000, 32, 3, seed=0)
    return fx.trained_state(data, sizes=(32, 64, 3), epochs=10, lr=3e-3)


@pytest.mark.exercise("reconstruction_error")
def test_reconstruction_error_flags_anomalies(impl):
    state = trained_manifold_model()
    normal = make_manifold_data(300, 32, 3, seed=1)  # held-out points of the training manifold
    anomalies = make_anomalies(300, 32, 3, seed=1)
    scores = {}
    for name, x in (("normal", normal), ("anomalies", anomalies)):
        got = impl.run(fx.score_and_report, impl.reconstruction_error, x, sizes=(32, 64, 3), state=state)
        out, want = score_reference(x, sizes=(32, 64, 3), state=state)
        assert_close(got["scores"], want, exercise=SCORE, what=f"scores of {name}", inputs={"x": x},
                     misconceptions=score_misconceptions(out, x))
        scores[name] = got["scores"]
    ratio = (scores["anomalies"].mean() / scores["normal"].mean()).item()
    auc = (scores["anomalies"][:, None] > scores["normal"][None, :]).double().mean().item()
    assert_true(ratio > 3 and auc > 0.9, exercise=SCORE,
                message=f"anomalies should score higher than manifold points: mean ratio {ratio:.2f}, "
                        f"AUC {auc:.3f}")


@pytest.mark.exercise("reconstruction_error")
def test_reconstruction_error_rejects_scalar(impl):
    x = torch.randn(4, 8)
    got = impl.run(fx.score_and_report, impl.reconstruction_error, x)
    assert_close(got["scores"], score_reference(x)[1], exercise=SCORE, inputs={"x": x})
    model = impl.run(fx.build_model, "ae", (8, 16, 3), 0, torch.float32)
    with pytest.raises(ValueError):
        impl.reconstruction_error(model, torch.tensor(1.0))
