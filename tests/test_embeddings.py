"""Public tests for `embeddings`: run them with `pytest -m embeddings` (or `pytest -k analogy`).

They check shapes, one small numeric case and one error case per exercise; the
grader's hidden tests go further (gradients, padding during training, eps effects,
ties, non-square images, batch dimensions, float32 and float64).
"""
import math

import pytest
import torch
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true


# --------------------------------------------------------------------------- Embedding

@pytest.mark.exercise("Embedding")
def test_embedding_lookup_and_padding_row(impl):
    emb = impl.Embedding(6, 3, padding_idx=1)
    weight = emb.state_dict()["weight"]
    assert_true(tuple(weight.shape) == (6, 3), exercise="embeddings.Embedding",
                message=f"weight has shape {tuple(weight.shape)}, expected (num_embeddings, embedding_dim) = (6, 3)")
    assert_close(weight[1], torch.zeros(3), exercise="embeddings.Embedding", what="padding row at initialisation",
                 hint="common causes: the padding row not zeroed at init")
    indices = torch.tensor([[0, 1, 5], [5, 2, 1]])
    out = emb(indices)
    assert_close(out, F.embedding(indices, weight, padding_idx=1), exercise="embeddings.Embedding",
                 inputs={"indices": indices})


@pytest.mark.exercise("Embedding")
def test_embedding_out_of_range_raises(impl):
    emb = impl.Embedding(4, 2)
    indices = torch.tensor([3, 0])
    assert_close(emb(indices), F.embedding(indices, emb.state_dict()["weight"]), exercise="embeddings.Embedding",
                 inputs={"indices": indices})
    with pytest.raises(IndexError):
        emb(torch.tensor([1, 4]))


# --------------------------------------------------------------------------- cosine_similarity

@pytest.mark.exercise("cosine_similarity")
def test_cosine_small_example(impl):
    a = torch.tensor([[1.0, 0.0, 0.0], [1.0, 2.0, 2.0], [3.0, 4.0, 0.0]])
    b = torch.tensor([[0.0, 1.0, 0.0], [2.0, 4.0, 4.0], [-3.0, -4.0, 0.0]])
    out = impl.cosine_similarity(a, b)
    assert_close(out, torch.tensor([0.0, 1.0, -1.0]), exercise="embeddings.cosine_similarity",
                 inputs={"a": a, "b": b}, misconceptions={"the similarity over dim 0 (the default dim is -1)":
                                                          F.cosine_similarity(a, b, dim=0)})


@pytest.mark.exercise("cosine_similarity")
def test_cosine_matches_torch_with_dim(impl):
    a, b = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    assert_close(impl.cosine_similarity(a, b, dim=1), F.cosine_similarity(a, b, dim=1),
                 exercise="embeddings.cosine_similarity", inputs={"a": a, "b": b, "dim": 1})


# --------------------------------------------------------------------------- analogy

def toy_vocabulary():
    # dimensions: (royal, male, female, fruit)
    words = ["man", "woman", "king", "queen", "apple", "prince"]
    E = torch.tensor([[0.0, 1.0, 0.0, 0.1],
                      [0.0, 0.0, 1.0, 0.1],
                      [1.0, 1.0, 0.0, 0.0],
                      [1.0, 0.0, 1.0, 0.0],
                      [0.0, 0.1, 0.1, 1.0],
                      [0.8, 0.9, 0.0, 0.3]])
    return E, {w: i for i, w in enumerate(words)}


@pytest.mark.exercise("analogy")
def test_analogy_man_king_woman_queen(impl):
    E, ids = toy_vocabulary()
    got = impl.analogy(E, ids["man"], ids["king"], ids["woman"], k=2)
    expected = torch.tensor([ids["queen"], ids["prince"]])
    assert_close(got, expected, exercise="embeddings.analogy", what="indices",
                 inputs={"embeddings": E, "a, b, c": "man, king, woman", "k": 2},
                 hint="common causes: a score other than cosine with E[b] - E[a] + E[c], or a, b, c not excluded")


@pytest.mark.exercise("analogy")
def test_analogy_rejects_k_too_large(impl):
    E, ids = toy_vocabulary()
    got = impl.analogy(E, ids["man"], ids["king"], ids["woman"])
    assert_close(got, torch.tensor([ids["queen"]]), exercise="embeddings.analogy", what="indices",
                 inputs={"embeddings": E})
    with pytest.raises(ValueError):
        impl.analogy(E, ids["man"], ids["king"], ids["woman"], k=4)  # only V - 3 = 3 candidates


# --------------------------------------------------------------------------- PatchEmbedding

@pytest.mark.exercise("PatchEmbedding")
def test_patch_embedding_matches_conv(impl):
    C, D, p = 3, 5, 4
    module = impl.PatchEmbedding((8, 12), p, C, D)
    state = module.state_dict()
    x = torch.randn(2, C, 8, 12)
    out = module(x)
    assert_true(tuple(out.shape) == (2, 6, D), exercise="embeddings.PatchEmbedding",
                message=f"output shape {tuple(out.shape)}, expected (B, N, D) = (2, 6, {D})")
    expected = F.conv2d(x, state["proj.weight"].view(D, C, p, p), state["proj.bias"], stride=p)
    assert_close(out, expected.flatten(2).transpose(1, 2), exercise="embeddings.PatchEmbedding", inputs={"x": x},
                 hint="common causes: patches not in row-major order, or not flattened in (C, p, p) order")


@pytest.mark.exercise("PatchEmbedding")
def test_patch_embedding_rejects_indivisible_size(impl):
    module = impl.PatchEmbedding(8, 4, 1, 2)
    out = module(torch.randn(1, 1, 8, 8))
    assert_true(tuple(out.shape) == (1, 4, 2), exercise="embeddings.PatchEmbedding",
                message=f"output shape {tuple(out.shape)}, expected (1, 4, 2)")
    with pytest.raises(ValueError):
        impl.PatchEmbedding(10, 4, 1, 2)


# --------------------------------------------------------------------------- spectrogram

def stft_power(wave, n_fft, hop_length):
    spec = torch.stft(wave, n_fft, hop_length, window=torch.hann_window(n_fft, dtype=wave.dtype), center=False,
                      return_complex=True)
    return spec.abs() ** 2


@pytest.mark.exercise("spectrogram")
def test_spectrogram_matches_stft(impl):
    wave = torch.randn(2, 100, dtype=torch.float64)
    out = impl.spectrogram(wave, n_fft=16, hop_length=4)
    assert_true(tuple(out.shape) == (2, 9, 22), exercise="embeddings.spectrogram",
                message=f"output shape {tuple(out.shape)}, expected (..., n_fft//2+1, frames) = (2, 9, 22)")
    assert_close(out, stft_power(wave, 16, 4), exercise="embeddings.spectrogram",
                 inputs={"wave": wave, "n_fft": 16, "hop_length": 4},
                 hint="common causes: a magnitude instead of the power |STFT|^2, a symmetric Hann window, or padding")


@pytest.mark.exercise("spectrogram")
def test_spectrogram_rejects_short_wave(impl):
    t = torch.arange(64, dtype=torch.float64)
    wave = torch.cos(2 * math.pi * 4 * t / 32)
    out = impl.spectrogram(wave, n_fft=32, hop_length=32)
    assert_close(out, stft_power(wave, 32, 32), exercise="embeddings.spectrogram",
                 inputs={"wave": wave, "n_fft": 32, "hop_length": 32})
    with pytest.raises(ValueError):
        impl.spectrogram(wave, n_fft=128, hop_length=32)
