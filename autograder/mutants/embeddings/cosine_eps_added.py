# wrong: adds eps to the norms, a.b / ((|a| + eps)(|b| + eps)), instead of clamping them
# hint: eps
# caught by: float64, eps=0.5, unit-scale random inputs -> every value shrinks
def cosine_similarity(a, b, dim=-1, eps=1e-8):
    a, b = torch.broadcast_tensors(a, b)
    na = torch.linalg.vector_norm(a, dim=dim, keepdim=True) + eps
    nb = torch.linalg.vector_norm(b, dim=dim, keepdim=True) + eps
    return ((a / na) * (b / nb)).sum(dim)
