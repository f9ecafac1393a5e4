"""Public tests for `autoencoder`: run them with `pytest -m autoencoder` (or `pytest -k add_noise`).

They check shapes, one small numeric case and one error case per exercise; the grader's hidden
tests go further (gradients, float64, the seed's determinism, learning a 3-dim manifold, anomalies).
The reference models and the reference training loop live in `autograder/fixtures/autoencoder.py`.
"""
import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures import autoencoder as fx


@pytest.mark.exercise("Autoencoder")
def test_autoencoder_layers_and_forward(impl):
    model = impl.Autoencoder(8, 16, 3)
    names = sorted(model.state_dict())
    want = sorted(fx.ReferenceAutoencoder(8, 16, 3).state_dict())
    assert_true(names == want, exercise="autoencoder.Autoencoder",
                message=f"state_dict keys {names}, expected {want} (Sequential(Linear, ReLU, Linear) on each side)")
    reference = fx.build_model("ae", (8, 16, 3), seed=0, dtype=torch.float32)
    model.load_state_dict(reference.state_dict())
    x = torch.randn(10, 8)
    with torch.no_grad():
        assert_close(model.encode(x), reference.encoder(x), exercise="autoencoder.Autoencoder", what="encode(x)",
                     inputs={"x": x}, misconceptions={"a ReLU after the encoder (codes may be negative)":
                                                      F.relu(reference.encoder(x))})
        assert_close(model(x), reference(x), exercise="autoencoder.Autoencoder", what="forward(x)", inputs={"x": x})


@pytest.mark.exercise("Autoencoder")
def test_autoencoder_shapes_and_rejects_zero_sizes(impl):
    model = impl.Autoencoder(6, 5, 2)
    with torch.no_grad():
        z = model.encode(torch.randn(4, 6))
        out = model.decode(z)
    assert_true(tuple(z.shape) == (4, 2) and tuple(out.shape) == (4, 6), exercise="autoencoder.Autoencoder",
                message=f"encode gave {tuple(z.shape)} (expected (4, 2)), decode gave {tuple(out.shape)} "
                        "(expected (4, 6))")
    with pytest.raises(ValueError):
        impl.Autoencoder(6, 5, 0)


@pytest.mark.exercise("add_noise")
def test_add_noise_small_example(impl):
    x0 = torch.arange(6.0).reshape(2, 3)
    x = impl.inout(x0)  # a copy whose in-place changes come back
    out = impl.add_noise(x, 0.5, generator=torch.Generator().manual_seed(0))
    want = x0 + 0.5 * torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    assert_close(out, want, exercise="autoencoder.add_noise", inputs={"x": x0, "std": 0.5},
                 misconceptions={"noise scaled by std ** 2 instead of std":
                                 x0 + 0.25 * torch.randn(2, 3, generator=torch.Generator().manual_seed(0))})
    assert_close(x, x0, exercise="autoencoder.add_noise", what="the input x after the call",
                 hint="common causes: the noise added to x in place (return a new tensor)")


@pytest.mark.exercise("add_noise")
def test_add_noise_rejects_negative_std(impl):
    x = torch.zeros(3)
    assert_close(impl.add_noise(x, 0.0), x, exercise="autoencoder.add_noise", what="add_noise(x, 0.0)")
    with pytest.raises(ValueError):
        impl.add_noise(x, -1.0)


@pytest.mark.exercise("train_autoencoder")
def test_train_small_run_matches_reference(impl):
    # All rows equal and a model that ignores its input's values: every batch has the same loss and
    # gradient, whatever the shuffling, so this run is fixed by SPEC alone (AdamW, MSE, per-sample mean).
    data = torch.randn(1, 4, dtype=torch.float64).expand(10, 4).contiguous()
    kwargs = dict(epochs=2, lr=0.1, batch_size=4, seed=0)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="blind", sizes=(4, 6, 2), **kwargs)
    model = fx.build_model("blind", (4, 6, 2), seed=0)
    want = fx.reference_train(model, data, **kwargs)
    assert_true(got["history"] is not None and len(got["history"]) == 2, exercise="autoencoder.train_autoencoder",
                message=f"expected a list of 2 floats (one per epoch), got {got['history_types']}")
    assert_close(torch.tensor(got["history"], dtype=torch.float64), torch.tensor(want, dtype=torch.float64),
                 exercise="autoencoder.train_autoencoder", what="loss history", inputs={"data": data, **kwargs},
                 hint="common causes: not sum(batch loss * batch size) / N per epoch, or losses measured after the "
                      "step")
    for name, value in model.state_dict().items():
        assert_close(got["state"][name], value, exercise="autoencoder.train_autoencoder", what=f"trained {name}")


@pytest.mark.exercise("train_autoencoder")
def test_train_rejects_1d_data(impl):
    data = torch.randn(8, 4, dtype=torch.float64)
    got = impl.run(fx.train_and_report, impl.train_autoencoder, data, kind="ae", sizes=(4, 6, 2), epochs=1,
                   batch_size=4)
    assert_true(got["history"] is not None and len(got["history"]) == 1, exercise="autoencoder.train_autoencoder",
                message="train_autoencoder(model, data, epochs=1) must return one loss")
    model = impl.run(fx.build_model, "ae", (4, 6, 2))
    with pytest.raises(ValueError):
        impl.train_autoencoder(model, torch.randn(8, dtype=torch.float64))


@pytest.mark.exercise("reconstruction_error")
def test_reconstruction_error_per_sample(impl):
    x = torch.randn(5, 8)
    got = impl.run(fx.score_and_report, impl.reconstruction_error, x)
    model = fx.build_model("ae", (8, 16, 3), seed=0, dtype=torch.float32).eval()
    with torch.no_grad():
        out = model(x)
    assert_close(got["scores"], ((out - x) ** 2).mean(-1), exercise="autoencoder.reconstruction_error",
                 inputs={"x": x}, misconceptions={"the sum over the features instead of the mean":
                                                  ((out - x) ** 2).sum(-1)})
    assert_true(not got["requires_grad"], exercise="autoencoder.reconstruction_error",
                message="the scores require grad: compute them under torch.no_grad()")


@pytest.mark.exercise("reconstruction_error")
def test_reconstruction_error_rejects_scalar(impl):
    model = impl.run(fx.build_model, "ae", (8, 16, 3), 0, torch.float32)
    scores = impl.reconstruction_error(model, torch.randn(3, 8))
    assert_true(tuple(scores.shape) == (3,), exercise="autoencoder.reconstruction_error",
                message=f"expected one score per sample, shape (3,), got {tuple(scores.shape)}")
    with pytest.raises(ValueError):
        impl.reconstruction_error(model, torch.tensor(2.0))
