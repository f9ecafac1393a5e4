# wrong: clamps the product of the norms, a.b / max(|a||b|, eps), instead of each norm separately
# hint: each norm
# caught by: float64, eps=0.5, |a| about 0.2 and |b| about 2 (product 0.4 < eps but |a| < eps too)
def cosine_similarity(a, b, dim=-1, eps=1e-8):
    a, b = torch.broadcast_tensors(a, b)
    na = torch.linalg.vector_norm(a, dim=dim)
    nb = torch.linalg.vector_norm(b, dim=dim)
    return (a * b).sum(dim) / (na * nb).clamp_min(eps)
