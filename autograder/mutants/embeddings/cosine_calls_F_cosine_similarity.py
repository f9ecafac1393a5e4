# wrong: calls F.cosine_similarity (forbidden)
# hint: torch.cosine_similarity is one of the calls this topic forbids
# caught by: the forbidden-call check (numerically it is identical)
import torch.nn.functional as F


def cosine_similarity(a, b, dim=-1, eps=1e-8):
    return F.cosine_similarity(a, b, dim=dim, eps=eps)
