# wrong: clamp_min(eps) on the norms also blocks their gradient; torch clamps outside autograd
# hint: gradient
# caught by: float64 gradient w.r.t. a when |a| < eps (eps=0.5, |a| about 0.2); outputs agree
def cosine_similarity(a, b, dim=-1, eps=1e-8):
    a, b = torch.broadcast_tensors(a, b)
    na = torch.linalg.vector_norm(a, dim=dim, keepdim=True).clamp_min(eps)
    nb = torch.linalg.vector_norm(b, dim=dim, keepdim=True).clamp_min(eps)
    return ((a / na) * (b / nb)).sum(dim)
