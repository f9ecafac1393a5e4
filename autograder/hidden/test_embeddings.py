"""Hidden tests for `embeddings`: lookups, cosine similarity, analogies, patches and spectrograms.

References are computed here by torch (``nn.Embedding``, ``F.cosine_similarity``,
``nn.Conv2d``, ``torch.stft``); the submission's outputs and gradients come from
``output_and_grads`` run next to it (``impl.run``). Inputs are chosen so the classic
mistakes visibly differ: padding rows holding non-zero values, norms below a large eps,
vocabularies whose answer is known (including a near-tie that cosine similarity and
Euclidean distance rank differently, and exact ties), non-square images whose patch grid
differs from the patch size, and frames that overlap, touch or leave gaps.
"""
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from autograder.compare import assert_close, assert_true
from autograder.fixtures.autograd import output_and_grads
from autograder.fixtures.embeddings import sgd_steps

EMB = "embeddings.Embedding"
COS = "embeddings.cosine_similarity"
ANALOGY = "embeddings.analogy"
PATCH = "embeddings.PatchEmbedding"
SPEC = "embeddings.spectrogram"


def randn(*shape, device, dtype, scale=1.0, grad=True):
    return (torch.randn(*shape, dtype=torch.float64) * scale).to(device=device, dtype=dtype).requires_grad_(grad)


# --------------------------------------------------------------------------- Embedding

def embedding_pair(impl, V, D, padding_idx, device, dtype):
    """A torch reference and the submission's module holding the same weights (padding row non-zero)."""
    reference = nn.Embedding(V, D, padding_idx=padding_idx).to(device=device, dtype=dtype)
    with torch.no_grad():  # a stored, non-zero padding row must come back as stored
        reference.weight.copy_(torch.randn(V, D, dtype=torch.float64))
    module = impl.Embedding(V, D, padding_idx=padding_idx)
    module.to(device=device, dtype=dtype)
    module.load_state_dict(reference.state_dict())
    return reference, module


def random_ids(shape, V, device, padding_idx=None):
    gen = torch.Generator().manual_seed(V * 31 + len(shape))
    idx = torch.randint(0, V, shape, generator=gen)
    flat = idx.view(-1)
    if flat.numel() >= 4:
        flat[1] = flat[3]  # a repeated id: its gradients must add up
        if padding_idx is not None:
            flat[0] = padding_idx % V
            flat[-1] = padding_idx % V
    return idx.to(device)


@pytest.mark.exercise("Embedding")
@pytest.mark.parametrize("shape,V,D,padding_idx", [((), 7, 3, None), ((9,), 10, 4, None), ((3, 5), 6, 2, 2),
                                                   ((2, 3, 4), 8, 5, 0), ((4, 6), 5, 3, -1), ((2, 0), 4, 3, 1)])
def test_embedding_values_and_weight_gradient(impl, device, dtype, shape, V, D, padding_idx):
    reference, module = embedding_pair(impl, V, D, padding_idx, device, dtype)
    idx = random_ids(shape, V, device, padding_idx)
    got = impl.run(output_and_grads, module, idx)
    want = output_and_grads(reference, idx)
    inputs = {"indices": idx, "num_embeddings": V, "embedding_dim": D, "padding_idx": padding_idx}
    wrong_out, wrong_grad = {}, {}
    if padding_idx is not None:
        is_pad = (idx == padding_idx % V).unsqueeze(-1)
        wrong_out["the output zeroed at padding positions (the padding row is returned as stored; "
                  "only its gradient is stopped)"] = want["output"].masked_fill(is_pad, 0.0)
        plain = nn.Embedding(V, D).to(device=device, dtype=dtype)
        plain.load_state_dict(reference.state_dict())
        wrong_grad["a gradient in which the padding row receives gradient (padding_idx's row must get "
                   "none)"] = output_and_grads(plain, idx)["params"]["weight"]
    assert_close(got["output"], want["output"], exercise=EMB, inputs=inputs, misconceptions=wrong_out)
    assert_close(got["params"].get("weight"), want["params"]["weight"], exercise=EMB,
                 what="gradient w.r.t. weight", inputs=inputs, misconceptions=wrong_grad)


@pytest.mark.exercise("Embedding")
def test_embedding_int32_indices(impl, device):
    # The docstring accepts int32 ids as well as int64 (as F.embedding does).
    reference, module = embedding_pair(impl, 9, 4, 2, device, torch.float64)
    idx = random_ids((3, 5), 9, device, 2).to(torch.int32)
    got = impl.run(output_and_grads, module, idx)
    want = output_and_grads(reference, idx)
    inputs = {"indices": idx, "num_embeddings": 9, "embedding_dim": 4, "padding_idx": 2}
    assert_close(got["output"], want["output"], exercise=EMB, inputs=inputs)
    assert_close(got["params"].get("weight"), want["params"]["weight"], exercise=EMB,
                 what="gradient w.r.t. weight", inputs=inputs)


@pytest.mark.exercise("Embedding")
def test_embedding_padding_row_unchanged_by_training(impl, device):
    V, D, padding_idx = 6, 3, 4
    reference, module = embedding_pair(impl, V, D, padding_idx, device, torch.float64)
    gen = torch.Generator().manual_seed(5)
    indices = [torch.tensor([[4, 1, 1], [0, 4, 5]], device=device), torch.tensor([2, 4, 3, 2], device=device),
               torch.tensor([[[4]], [[1]]], device=device)]
    targets = [torch.randn(*i.shape, D, generator=gen, dtype=torch.float64).to(device) for i in indices]
    stored = reference.weight.detach().clone()
    got = impl.run(sgd_steps, module, indices, targets)
    want = sgd_steps(reference, indices, targets)
    assert_close(got[padding_idx], stored[padding_idx], exercise=EMB, what="padding row after 3 SGD steps",
                 inputs={"padding_idx": padding_idx},
                 hint="common causes: the padding row must never receive a gradient, so training leaves it as stored")
    assert_close(got, want, exercise=EMB, what="weight after 3 SGD steps", inputs={"padding_idx": padding_idx})


@pytest.mark.exercise("Embedding")
def test_embedding_init_is_standard_normal(impl):
    module = impl.Embedding(1000, 64)
    state = module.state_dict()
    assert_true(sorted(state) == ["weight"], exercise=EMB,
                message=f"state_dict keys {sorted(state)} differ from nn.Embedding's ['weight']")
    w = state["weight"]
    assert_true(tuple(w.shape) == (1000, 64), exercise=EMB,
                message=f"weight has shape {tuple(w.shape)}, expected (num_embeddings, embedding_dim) = (1000, 64)")
    # 64000 draws: the sample std has standard error 1/sqrt(2 * 64000) = 0.0028 and the mean 0.004,
    # so the bounds below are > 10 sigma away (false failure p < 1e-20); xavier_uniform_ gives std 0.04.
    std, mean = float(w.std()), float(w.mean())
    assert_true(abs(std - 1.0) < 0.03 and abs(mean) < 0.04, exercise=EMB,
                message=f"weight should start from N(0, 1) like nn.Embedding's (got mean {mean:.3f}, "
                        f"std {std:.3f})")
    kurtosis = float(((w - mean) ** 4).mean() / std ** 4)  # 3 for a normal, 1.8 for a uniform; SE about 0.03
    assert_true(abs(kurtosis - 3.0) < 0.4, exercise=EMB,
                message=f"weight values do not look N(0, 1) (kurtosis {kurtosis:.2f}, expected 3)")


@pytest.mark.exercise("Embedding")
@pytest.mark.parametrize("V,D,padding_idx", [(10, 4, 3), (10, 4, 0), (10, 4, -1), (7, 5, -7)])
def test_embedding_padding_row_zero_at_init(impl, V, D, padding_idx):
    w = impl.Embedding(V, D, padding_idx=padding_idx).state_dict()["weight"]
    row = padding_idx % V
    assert_close(w[row], torch.zeros(D), exercise=EMB, what=f"weight[{row}] at initialisation",
                 inputs={"num_embeddings": V, "padding_idx": padding_idx},
                 hint="common causes: the padding row starts at zero (a negative padding_idx counts from the end)")
    others = torch.cat([w[:row], w[row + 1:]])
    assert_true(bool((others != 0).all()), exercise=EMB,
                message="only the padding row should be zero at initialisation; the others are N(0, 1) draws")


@pytest.mark.exercise("Embedding")
@pytest.mark.parametrize("bad", [6, 9, -1, -6])
def test_embedding_out_of_range_index_raises(impl, device, bad):
    reference, module = embedding_pair(impl, 6, 3, None, device, torch.float32)
    ok = torch.tensor([0, 5, 2], device=device)
    assert_close(module(ok), reference(ok).detach(), exercise=EMB, inputs={"indices": ok})
    idx = torch.tensor([[1, bad], [0, 2]], device=device)
    try:
        module(idx)
    except IndexError:
        return
    raise AssertionError(f"{EMB}: index {bad} is out of range for num_embeddings=6, but no IndexError was raised "
                         "(F.embedding raises one; negative ids must not wrap around to the end of the table)")


@pytest.mark.exercise("Embedding")
def test_embedding_rejects_padding_idx_outside_table(impl):
    module = impl.Embedding(5, 2, padding_idx=4)
    assert_true(tuple(module.state_dict()["weight"].shape) == (5, 2), exercise=EMB,
                message="Embedding(5, 2, padding_idx=4) should build a (5, 2) weight")
    for bad in (5, -6):
        with pytest.raises(ValueError):
            impl.Embedding(5, 2, padding_idx=bad)


# --------------------------------------------------------------------------- cosine_similarity

def cosine_misconceptions(a, b, dim, eps):
    a, b = a.detach(), b.detach()
    A, B = torch.broadcast_tensors(a, b)
    na = torch.linalg.vector_norm(A, dim=dim, keepdim=True)
    nb = torch.linalg.vector_norm(B, dim=dim, keepdim=True)
    wrong = {
        "a.b / max(|a||b|, eps): the product of the norms clamped instead of each norm separately":
            (A * B).sum(dim) / (na * nb).squeeze(dim).clamp_min(eps),
        "a.b / ((|a| + eps)(|b| + eps)): eps added to the norms instead of clamping them":
            ((A / (na + eps)) * (B / (nb + eps))).sum(dim),
    }
    if a.dim() == b.dim() and a.shape != b.shape:
        own_a = torch.linalg.vector_norm(a, dim=dim, keepdim=True).clamp_min(eps)
        own_b = torch.linalg.vector_norm(b, dim=dim, keepdim=True).clamp_min(eps)
        wrong["norms taken before broadcasting a and b together (a norm must count every broadcast copy)"] = \
            ((a / own_a) * (b / own_b)).sum(dim)
    return wrong


def cosine_blocked_clamp(a, b, dim, eps):
    """cos with clamp_min on the norms inside autograd (the clamp then blocks the norms' gradient)."""
    a, b = torch.broadcast_tensors(a, b)
    na = torch.linalg.vector_norm(a, dim=dim, keepdim=True).clamp_min(eps)
    nb = torch.linalg.vector_norm(b, dim=dim, keepdim=True).clamp_min(eps)
    return ((a / na) * (b / nb)).sum(dim)


def check_cosine(impl, a, b, dim, eps):
    got = impl.run(output_and_grads, impl.cosine_similarity, a, b, dim=dim, eps=eps)
    want = output_and_grads(F.cosine_similarity, a, b, dim=dim, eps=eps)
    blocked = output_and_grads(cosine_blocked_clamp, a, b, dim, eps)
    inputs = {"a": a, "b": b, "dim": dim, "eps": eps}
    assert_close(got["output"], want["output"], exercise=COS, inputs=inputs,
                 misconceptions=cosine_misconceptions(a, b, dim, eps))
    for name, g, w, wrong in zip("ab", got["inputs"], want["inputs"], blocked["inputs"]):
        assert_close(g, w, exercise=COS, what=f"gradient w.r.t. {name}", inputs=inputs,
                     misconceptions={"the gradient of a clamp_min that blocks autograd (torch clamps each norm "
                                     "outside autograd: the gradient flows through |x| as if unclamped)": wrong})


@pytest.mark.exercise("cosine_similarity")
@pytest.mark.parametrize("shape_a,shape_b,dim", [((5, 8), (5, 8), -1), ((2, 3, 4), (2, 3, 4), 1),
                                                 ((4, 7), (4, 1), -1), ((3, 1, 6), (1, 4, 6), -1),
                                                 ((6,), (6,), 0), ((2, 3, 4), (3, 4), -2), ((5, 1), (1, 6), 0)])
def test_cosine_values_and_gradients(impl, device, dtype, shape_a, shape_b, dim):
    a = randn(*shape_a, device=device, dtype=dtype)
    b = randn(*shape_b, device=device, dtype=dtype)
    check_cosine(impl, a, b, dim, 1e-8)


@pytest.mark.exercise("cosine_similarity")
def test_cosine_default_dim_is_last(impl, device):
    a = randn(2, 3, 4, device=device, dtype=torch.float64, grad=False)
    b = randn(2, 3, 4, device=device, dtype=torch.float64, grad=False)
    assert_close(impl.cosine_similarity(a, b), F.cosine_similarity(a, b, dim=-1), exercise=COS,
                 inputs={"a": a, "b": b},
                 misconceptions={"the cosine over dim=1 (torch's default): cosine_similarity(a, b) reduces the last "
                                 "dimension, its default is dim=-1": F.cosine_similarity(a, b, dim=1)})


@pytest.mark.exercise("cosine_similarity")
@pytest.mark.parametrize("eps", [0.5, 1e-3])
def test_cosine_norms_below_eps(impl, device, eps):
    # Rows with both norms above eps, one below, both below, and a product below eps with each above.
    norms_a = torch.tensor([2.0, 0.2, 0.8, 0.1, 1.0, 3e-4, 0.6], dtype=torch.float64)
    norms_b = torch.tensor([1.5, 2.0, 0.3, 0.05, 1.0, 2.0, 0.7], dtype=torch.float64)
    a = F.normalize(torch.randn(7, 5, dtype=torch.float64), dim=-1) * norms_a[:, None]
    b = F.normalize(torch.randn(7, 5, dtype=torch.float64), dim=-1) * norms_b[:, None]
    check_cosine(impl, a.to(device).requires_grad_(), b.to(device).requires_grad_(), -1, eps)


@pytest.mark.exercise("cosine_similarity")
@pytest.mark.parametrize("eps", [1e-8, 0.5])
def test_cosine_zero_vector(impl, device, eps):
    a = torch.randn(3, 5, dtype=torch.float64)
    a[1] = 0.0
    b = torch.randn(3, 5, dtype=torch.float64)
    b[2] = 0.0
    a, b = a.to(device).requires_grad_(), b.to(device).requires_grad_()
    got = impl.run(output_and_grads, impl.cosine_similarity, a, b, dim=-1, eps=eps)
    assert_true(all(bool(torch.isfinite(g).all()) for g in got["inputs"]), exercise=COS,
                inputs={"a (row 1 zero)": a, "b (row 2 zero)": b, "eps": eps},
                message="gradient has nan/inf for an all-zero vector: the gradient of sqrt(sum(x**2)) at 0 is nan; "
                        "use torch.linalg.vector_norm")
    check_cosine(impl, a, b, -1, eps)


# --------------------------------------------------------------------------- analogy

def analogy_ranking(E, a, b, c, *, score="cosine", sign=1.0, exclude=True, ties_lower_first=True):
    """Indices of all rows ranked best first, and their scores, computed in float64 by torch."""
    E = E.detach().double()
    query = E[b] - E[a] + sign * E[c]
    if score == "cosine":
        s = F.cosine_similarity(E, query.unsqueeze(0), dim=-1)
    elif score == "dot":
        s = E @ query
    else:  # negative Euclidean distance
        s = -torch.linalg.vector_norm(E - query, dim=-1)
    if exclude:
        s[[a, b, c]] = float("-inf")
    if ties_lower_first:
        order = torch.sort(s, descending=True, stable=True).indices
    else:
        order = torch.argsort(s, stable=True).flip(0)
    return order, s


def analogy_reference(E, a, b, c, k, min_gap=1e-5):
    """The expected answer; fails loudly if the test table puts a near-tie inside the first k + 1."""
    order, s = analogy_ranking(E, a, b, c)
    top = s[order[: k + 1]]
    top = top[torch.isfinite(top)]
    if top.numel() > 1 and float((top[:-1] - top[1:]).min()) < min_gap:
        raise RuntimeError("test table has a near tie among the first k + 1 scores: pick another seed")
    return order[:k].to(E.device)


def analogy_misconceptions(E, a, b, c, k):
    ranks = {
        "the ranking by raw dot product instead of cosine similarity (long vectors win)":
            analogy_ranking(E, a, b, c, score="dot")[0],
        "the ranking by Euclidean distance instead of cosine similarity":
            analogy_ranking(E, a, b, c, score="euclidean")[0],
        "the ranking without excluding a, b and c (exclude the query words before ranking)":
            analogy_ranking(E, a, b, c, exclude=False)[0],
        "the rows closest to E[b] - E[a] - E[c] (the query is E[b] - E[a] + E[c])":
            analogy_ranking(E, a, b, c, sign=-1.0)[0],
        "the ranking with ties broken toward the higher index (equal scores go to the lower index first)":
            analogy_ranking(E, a, b, c, ties_lower_first=False)[0],
    }
    return {desc: order[:k].to(E.device) for desc, order in ranks.items()}


def check_analogy(impl, E, a, b, c, k, expected):
    got = impl.analogy(E, a, b, c, k=k)
    assert_close(got, expected, exercise=ANALOGY, what="indices", inputs={"embeddings": E, "a, b, c": (a, b, c),
                                                                          "k": k},
                 misconceptions=analogy_misconceptions(E, a, b, c, k))


@pytest.mark.exercise("analogy")
@pytest.mark.parametrize("V,D,k", [(30, 16, 1), (30, 16, 4), (12, 3, 5)])
def test_analogy_planted_answer(impl, device, dtype, V, D, k):
    gen = torch.Generator().manual_seed(V + D)
    E = torch.randn(V, D, generator=gen, dtype=torch.float64)
    a, b, c, d = 3, 7, 1, 10
    E[d] = 1.7 * (E[b] - E[a] + E[c]) + 0.05 * torch.randn(D, generator=gen, dtype=torch.float64)
    E = E.to(device=device, dtype=dtype)
    expected = analogy_reference(E, a, b, c, k)
    assert int(expected[0]) == d  # the planted row answers the analogy
    check_analogy(impl, E, a, b, c, k, expected)


@pytest.mark.exercise("analogy")
@pytest.mark.parametrize("V,D,abc,k,seed", [(50, 8, (0, 1, 2), 5, 1), (40, 32, (17, 3, 29), 3, 2),
                                            (25, 4, (24, 0, 12), 6, 3), (20, 6, (5, 9, 5), 4, 4),
                                            (60, 64, (10, 20, 30), 1, 5)])
def test_analogy_random_tables_with_mixed_norms(impl, device, dtype, V, D, abc, k, seed):
    gen = torch.Generator().manual_seed(seed)
    scales = torch.empty(V, 1, dtype=torch.float64).uniform_(0.1, 10.0, generator=gen)
    E = (torch.randn(V, D, generator=gen, dtype=torch.float64) * scales).to(device=device, dtype=dtype)
    a, b, c = abc
    check_analogy(impl, E, a, b, c, k, analogy_reference(E, a, b, c, k))


def royal_table(device, dtype):
    """man : king :: woman : ?  Cosine says queen (same direction, longer); Euclidean says princess."""
    e = torch.eye(6, dtype=torch.float64)
    man, king, woman = e[0], e[0] + e[1], e[2]
    query = king - man + woman  # e1 + e2
    u = query / query.norm()

    def tilted(cos, away, length):
        return length * (cos * u + math.sqrt(1.0 - cos ** 2) * e[away])

    rows = {
        "man": man, "king": king, "woman": woman,
        "queen": tilted(0.9990, 3, 3.0 * query.norm()),       # best cosine, but far away
        "princess": tilted(0.9985, 4, query.norm()),          # near-tie on cosine, nearest in distance
        "empress": tilted(0.5, 5, 20.0),                      # largest dot product with the query
        "apple": -u + 0.3 * e[3], "river": e[0] - e[1], "stone": e[4] - e[5] + 0.1 * e[0],
        "cloud": 0.4 * e[5] - e[2] + 0.2 * e[1],
    }
    names = ["apple", "man", "empress", "river", "king", "princess", "stone", "woman", "queen", "cloud"]
    E = torch.stack([rows[n] for n in names]).to(device=device, dtype=dtype)
    return E, {n: i for i, n in enumerate(names)}


@pytest.mark.exercise("analogy")
@pytest.mark.parametrize("k", [1, 2, 3])
def test_analogy_near_tie_cosine_vs_euclidean(impl, device, dtype, k):
    E, ids = royal_table(device, dtype)
    a, b, c = ids["man"], ids["king"], ids["woman"]
    known = torch.tensor([ids["queen"], ids["princess"], ids["empress"]][:k], device=device)
    expected = analogy_reference(E, a, b, c, k)
    assert torch.equal(expected, known)  # the table's answer is known by construction
    check_analogy(impl, E, a, b, c, k, known)


def tie_table(device, dtype):
    """Integer rows: every score a correct implementation computes for equal rows is exactly equal."""
    rows = [(1, 1, 0, 0),    # 0  a
            (3, 0, 1, 0),    # 1  cos 0.632
            (1, 1, 1, -1),   # 2  cos 0.5 (tie with 7)
            (1, 1, 2, 2),    # 3  b
            (1, 1, 1, 1),    # 4  cos 1   (tie with 9)
            (-1, -1, -1, -1),  # 5  cos -1
            (2, 2, 0, 0),    # 6  c   -> query (2, 2, 2, 2)
            (1, 1, 1, -1),   # 7
            (0, 1, 2, 0),    # 8  cos 0.671
            (1, 1, 1, 1),    # 9
            (2, -1, 0, 1),   # 10 cos 0.408
            (1, 0, 0, -2)]   # 11 cos -0.224
    return torch.tensor(rows, dtype=dtype, device=device)


@pytest.mark.exercise("analogy")
@pytest.mark.parametrize("k", [1, 2, 6, 9])
def test_analogy_ties_go_to_lower_index(impl, device, dtype, k):
    E = tie_table(device, dtype)
    known = torch.tensor([4, 9, 8, 1, 2, 7, 10, 11, 5][:k], device=device)
    check_analogy(impl, E, 0, 3, 6, k, known)


@pytest.mark.exercise("analogy")
def test_analogy_rejects_k_above_v_minus_3(impl, device):
    E = tie_table(device, torch.float64)
    check_analogy(impl, E, 0, 3, 6, 9, torch.tensor([4, 9, 8, 1, 2, 7, 10, 11, 5], device=device))
    with pytest.raises(ValueError):
        impl.analogy(E, 0, 3, 6, k=10)


# --------------------------------------------------------------------------- PatchEmbedding

class ConvPatches(nn.Module):
    """The reference: nn.Conv2d(C, D, p, stride=p), flattened to (B, N, D) in row-major patch order."""

    def __init__(self, C, D, p):
        super().__init__()
        self.conv = nn.Conv2d(C, D, p, stride=p)

    def forward(self, x):
        return self.conv(x).flatten(-2).transpose(-1, -2)  # (B, D, h, w) -> (B, N, D)


def patch_pair(impl, image_size, p, C, D, device, dtype):
    module = impl.PatchEmbedding(image_size, p, C, D)
    module.to(device=device, dtype=dtype)
    weight = torch.randn(D, C * p * p, dtype=torch.float64).to(device=device, dtype=dtype) / math.sqrt(C * p * p)
    bias = torch.randn(D, dtype=torch.float64).to(device=device, dtype=dtype)
    module.load_state_dict({"proj.weight": weight, "proj.bias": bias})
    reference = ConvPatches(C, D, p).to(device=device, dtype=dtype)
    with torch.no_grad():
        reference.conv.weight.copy_(weight.view(D, C, p, p))
        reference.conv.bias.copy_(bias)
    return module, reference, weight, bias


def patch_misconceptions(x, weight, bias, p, reference_out):
    x = x.detach()
    *lead, C, H, W = x.shape
    B = lead[0] if lead else 1
    x = x.reshape(B, C, H, W)
    h, w = H // p, W // p
    N, D = h * w, weight.shape[0]

    def project(patches):  # (B, N, C*p*p) -> (B, N, D), unbatched again if the input was
        out = patches @ weight.T + bias
        return out if lead else out.squeeze(0)

    ref = reference_out.reshape(B, h, w, D)
    return {
        "patches flattened in (p, p, C) order (channels last); flatten each patch in (C, p, p) order so "
        "proj.weight.view(D, C, p, p) is the conv weight":
            project(x.reshape(B, C, h, p, w, p).permute(0, 2, 4, 3, 5, 1).reshape(B, N, C * p * p)),
        "patches enumerated column by column; they must come in row-major order (along a row of patches first)":
            ref.transpose(1, 2).reshape(B, N, D) if lead else ref.transpose(1, 2).reshape(N, D),
        "runs of consecutive pixels (a reshape without permute): split H and W into (H/p, p) and permute":
            project(x.reshape(B, N, C * p * p)),
        "strided pixels: each axis split as (p, H/p) instead of (H/p, p), so a patch is not a contiguous block":
            project(x.reshape(B, C, p, h, p, w).permute(0, 3, 5, 1, 2, 4).reshape(B, N, C * p * p)),
    }


@pytest.mark.exercise("PatchEmbedding")
@pytest.mark.parametrize("image_size,p,C,D,B", [(8, 4, 3, 5, 2), ((8, 12), 4, 3, 6, 2), ((8, 12), 2, 2, 4, 1),
                                                ((6, 10), 2, 1, 3, 3), ((12, 6), 3, 2, 4, 1), (4, 4, 2, 3, 2),
                                                (5, 1, 3, 4, 1)])
def test_patch_values_and_gradients(impl, device, dtype, image_size, p, C, D, B):
    H, W = (image_size, image_size) if isinstance(image_size, int) else image_size
    module, reference, weight, bias = patch_pair(impl, image_size, p, C, D, device, dtype)
    x = randn(B, C, H, W, device=device, dtype=dtype)
    got = impl.run(output_and_grads, module, x)
    want = output_and_grads(reference, x)
    inputs = {"x": x, "patch_size": p, "embed_dim": D}
    assert_close(got["output"], want["output"], exercise=PATCH, inputs=inputs,
                 misconceptions=patch_misconceptions(x, weight, bias, p, want["output"]))
    assert_close(got["inputs"][0], want["inputs"][0], exercise=PATCH, what="gradient w.r.t. x", inputs=inputs)
    conv_w, conv_b = want["params"]["conv.weight"], want["params"]["conv.bias"]
    assert_close(got["params"].get("proj.weight"), conv_w.reshape(D, C * p * p), exercise=PATCH,
                 what="gradient w.r.t. proj.weight", inputs=inputs)
    assert_close(got["params"].get("proj.bias"), conv_b, exercise=PATCH, what="gradient w.r.t. proj.bias",
                 inputs=inputs)


@pytest.mark.exercise("PatchEmbedding")
def test_patch_unbatched_input(impl, device):
    module, reference, weight, bias = patch_pair(impl, (6, 9), 3, 2, 4, device, torch.float64)
    x = randn(2, 6, 9, device=device, dtype=torch.float64)
    got = impl.run(output_and_grads, module, x)
    want = output_and_grads(reference, x)
    inputs = {"x (unbatched C, H, W)": x, "patch_size": 3}
    assert_close(got["output"], want["output"], exercise=PATCH, inputs=inputs,
                 misconceptions=patch_misconceptions(x, weight, bias, 3, want["output"]))
    assert_close(got["inputs"][0], want["inputs"][0], exercise=PATCH, what="gradient w.r.t. x", inputs=inputs)


@pytest.mark.exercise("PatchEmbedding")
@pytest.mark.parametrize("H,W,p", [(8, 12, 4), (12, 8, 2), (6, 6, 3)])
def test_patch_order_is_row_major(impl, device, H, W, p):
    # Every pixel of patch n holds the value n, and proj averages a patch: output[0, n, 0] == n.
    h, w, C = H // p, W // p, 2
    ids = torch.arange(h * w, dtype=torch.float64).reshape(h, w)
    x = ids.repeat_interleave(p, 0).repeat_interleave(p, 1).expand(1, C, H, W).contiguous().to(device)
    module = impl.PatchEmbedding((H, W), p, C, 1)
    module.to(device=device, dtype=torch.float64)
    module.load_state_dict({"proj.weight": torch.full((1, C * p * p), 1.0 / (C * p * p), dtype=torch.float64,
                                                      device=device),
                            "proj.bias": torch.zeros(1, dtype=torch.float64, device=device)})
    got = module(x)
    known = torch.arange(h * w, dtype=torch.float64, device=device).reshape(1, h * w, 1)
    assert_close(got, known, exercise=PATCH, what="patch index carried by each output position",
                 inputs={"x": x, "patch_size": p},
                 misconceptions={"patches enumerated column by column; they must come in row-major order":
                                 ids.T.reshape(1, h * w, 1).to(device)})


@pytest.mark.exercise("PatchEmbedding")
def test_patch_proj_is_a_linear_layer(impl):
    module = impl.PatchEmbedding((8, 12), 4, 3, 10)
    state = module.state_dict()
    assert_true(sorted(state) == ["proj.bias", "proj.weight"], exercise=PATCH,
                message=f"state_dict keys {sorted(state)}, expected ['proj.bias', 'proj.weight'] (proj = nn.Linear)")
    assert_true(tuple(state["proj.weight"].shape) == (10, 48) and tuple(state["proj.bias"].shape) == (10,),
                exercise=PATCH, message=f"proj.weight {tuple(state['proj.weight'].shape)} / proj.bias "
                                        f"{tuple(state['proj.bias'].shape)}, expected (10, 48) / (10,) "
                                        "= nn.Linear(C*p*p, D)")
    out = module(torch.randn(2, 3, 8, 12))
    assert_true(tuple(out.shape) == (2, 6, 10), exercise=PATCH,
                message=f"output shape {tuple(out.shape)}, expected (B, N, D) = (2, 6, 10)")


@pytest.mark.exercise("PatchEmbedding")
@pytest.mark.parametrize("image_size,p", [(10, 4), ((8, 10), 4), ((9, 8), 2)])
def test_patch_rejects_indivisible_image_size(impl, image_size, p):
    module, reference, _, _ = patch_pair(impl, 8, 4, 3, 5, "cpu", torch.float32)
    x = torch.randn(1, 3, 8, 8)
    assert_close(module(x), reference(x).detach(), exercise=PATCH, inputs={"x": x})
    with pytest.raises(ValueError):
        impl.PatchEmbedding(image_size, p, 3, 5)


# --------------------------------------------------------------------------- spectrogram

def stft_power(wave, n_fft, hop_length, window=None):
    """torch.stft's power spectrogram for any leading dims (torch.stft itself takes 1D or 2D)."""
    if window is None:
        window = torch.hann_window(n_fft, dtype=wave.dtype, device=wave.device)
    T = wave.shape[-1]
    spec = torch.stft(wave.reshape(-1, T), n_fft, hop_length, window=window, center=False, return_complex=True)
    return (spec.abs() ** 2).reshape(*wave.shape[:-1], *spec.shape[-2:])  # (..., n_fft//2+1, frames)


def spectrogram_misconceptions(wave, n_fft, hop_length, reference):
    wave = wave.detach()
    ones = torch.ones(n_fft, dtype=wave.dtype, device=wave.device)
    symmetric = torch.hann_window(n_fft, periodic=False, dtype=wave.dtype, device=wave.device)
    return {
        "the magnitude |STFT| instead of the power |STFT|^2": reference.sqrt(),
        "frames without the Hann window (rectangular frames)": stft_power(wave, n_fft, hop_length, ones),
        "a symmetric Hann window (divides by n_fft - 1); use the periodic one (divides by n_fft)":
            stft_power(wave, n_fft, hop_length, symmetric),
        "the (..., frames, n_fft//2+1) layout: the output is (..., n_fft//2+1, frames)": reference.transpose(-1, -2),
        "the spectrogram without its last frame: frames = 1 + (T - n_fft) // hop_length": reference[..., :-1],
    }


SPEC_CASES = [((), 1600, 400, 160), ((2,), 1000, 64, 16), ((2, 3), 200, 16, 4), ((3,), 130, 32, 32),
              ((2,), 100, 16, 20), ((1,), 64, 64, 10), ((), 57, 15, 7), ((2,), 48, 16, 1), ((), 76, 16, 20)]


@pytest.mark.exercise("spectrogram")
@pytest.mark.parametrize("batch,T,n_fft,hop_length", SPEC_CASES)
def test_spectrogram_values_and_gradient_float64(impl, device, batch, T, n_fft, hop_length):
    # float64: with heavily overlapping frames, float32 gradients of any correct framing differ from
    # torch.stft's by more than the default tolerance, while float64 ones agree to 1e-7.
    wave = randn(*batch, T, device=device, dtype=torch.float64)
    got = impl.run(output_and_grads, impl.spectrogram, wave, n_fft, hop_length)
    want = output_and_grads(stft_power, wave, n_fft, hop_length)
    inputs = {"wave": wave, "n_fft": n_fft, "hop_length": hop_length}
    assert_close(got["output"], want["output"], exercise=SPEC, inputs=inputs,
                 misconceptions=spectrogram_misconceptions(wave, n_fft, hop_length, want["output"]))
    assert_close(got["inputs"][0], want["inputs"][0], exercise=SPEC, what="gradient w.r.t. wave", inputs=inputs)


@pytest.mark.exercise("spectrogram")
@pytest.mark.parametrize("batch,T,n_fft,hop_length", [((2,), 1600, 400, 160), ((2, 2), 500, 64, 16),
                                                      ((3,), 57, 15, 7), ((), 300, 100, 1)])
def test_spectrogram_values_float32(impl, device, batch, T, n_fft, hop_length):
    wave = randn(*batch, T, device=device, dtype=torch.float32, grad=False)
    got = impl.spectrogram(wave, n_fft, hop_length)
    exact = stft_power(wave.double(), n_fft, hop_length)
    # Property tolerance: a float32 FFT (or DFT) of a frame errs by about 1e-7 of the frame's energy in
    # every bin, whatever the bin's own size, so small bins are compared with an absolute tolerance scaled
    # to the spectrum (1e-5 of its peak) against the exact float64 result; float32 torch.stft itself
    # differs from that by up to 3e-7 of the peak. A wrong window or frame changes bins by percents.
    scale = float(exact.abs().max())
    assert_true(isinstance(got, torch.Tensor) and got.dtype == torch.float32, exercise=SPEC,
                message=f"expected a float32 output for a float32 wave, got {getattr(got, 'dtype', type(got))}")
    assert_close(got, exact.float(), exercise=SPEC, inputs={"wave": wave, "n_fft": n_fft, "hop_length": hop_length},
                 misconceptions=spectrogram_misconceptions(wave, n_fft, hop_length, exact.float()),
                 rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.exercise("spectrogram")
def test_spectrogram_defaults(impl, device):
    wave = randn(2, 1600, device=device, dtype=torch.float64, grad=False)
    got = impl.spectrogram(wave)
    want = stft_power(wave, 400, 160)
    assert_close(got, want, exercise=SPEC, inputs={"wave": wave}, hint="common causes: defaults: n_fft=400, "
                                                                       "hop_length=160; output (..., n_fft//2+1, "
                                                                       "frames) = (2, 201, 8)",
                 misconceptions=spectrogram_misconceptions(wave, 400, 160, want))


@pytest.mark.exercise("spectrogram")
@pytest.mark.parametrize("n_fft,hop_length,bin_", [(64, 16, 5), (50, 25, 12)])
def test_spectrogram_pure_tone(impl, device, n_fft, hop_length, bin_):
    # A cosine at the centre of frequency bin `bin_`: the power sits in that bin and its two neighbours
    # (the Hann window's main lobe) and every other bin is ~0, so compare in float64 (ill-conditioned).
    T = 4 * n_fft + 3
    t = torch.arange(T, dtype=torch.float64)
    wave = torch.stack([torch.cos(2 * math.pi * bin_ * t / n_fft + 0.3),
                        0.5 * torch.sin(2 * math.pi * (bin_ + 3) * t / n_fft)]).to(device)
    got = impl.spectrogram(wave, n_fft, hop_length)
    want = stft_power(wave, n_fft, hop_length)
    inputs = {"wave (two tones)": wave, "n_fft": n_fft, "hop_length": hop_length}
    assert_close(got, want, exercise=SPEC, inputs=inputs,
                 misconceptions=spectrogram_misconceptions(wave, n_fft, hop_length, want))
    peak = got.argmax(dim=-2)  # (2, frames)
    known = torch.tensor([[bin_], [bin_ + 3]], device=device).expand_as(peak)
    assert_close(peak, known, exercise=SPEC, what="frequency bin of the peak", inputs=inputs,
                 hint="common causes: the frequency axis not second-to-last (the output is (..., n_fft//2+1, "
                      "frames))")


@pytest.mark.exercise("spectrogram")
@pytest.mark.parametrize("kwargs", [{"n_fft": 16, "hop_length": 0}, {"n_fft": 16, "hop_length": -4},
                                    {"n_fft": 80, "hop_length": 8}])
def test_spectrogram_rejects_bad_arguments(impl, kwargs):
    wave = torch.randn(2, 64, dtype=torch.float64)
    assert_close(impl.spectrogram(wave, 16, 8), stft_power(wave, 16, 8), exercise=SPEC, inputs={"wave": wave})
    with pytest.raises(ValueError):
        impl.spectrogram(wave, **kwargs)
