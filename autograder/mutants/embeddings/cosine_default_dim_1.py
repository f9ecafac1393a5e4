# wrong: keeps torch's default dim=1 instead of the SPEC's dim=-1
# hint: dim
# caught by: cosine_similarity(a, b) without dim on (2, 3, 4) inputs -> shape (2, 4) instead of (2, 3)
def cosine_similarity(a, b, dim=1, eps=1e-8):
    a, b = torch.broadcast_tensors(a, b)
    na = torch.linalg.vector_norm(a, dim=dim, keepdim=True)
    nb = torch.linalg.vector_norm(b, dim=dim, keepdim=True)
    na = na + (na.clamp_min(eps) - na).detach()
    nb = nb + (nb.clamp_min(eps) - nb).detach()
    return ((a / na) * (b / nb)).sum(dim)
