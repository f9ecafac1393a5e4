# wrong: takes the norms on the inputs' own shapes, before broadcasting them together
# hint: broadcast
# caught by: a (4, 7), b (4, 1), dim=-1 (b's norm must count all 7 broadcast copies)
def cosine_similarity(a, b, dim=-1, eps=1e-8):
    na = torch.linalg.vector_norm(a, dim=dim, keepdim=True)
    nb = torch.linalg.vector_norm(b, dim=dim, keepdim=True)
    na = na + (na.clamp_min(eps) - na).detach()
    nb = nb + (nb.clamp_min(eps) - nb).detach()
    return ((a / na) * (b / nb)).sum(dim)
