# wrong: the causal mask hides the diagonal too (a position cannot see itself)
# hint: without its diagonal
# caught by: causal_mask(L) for any L >= 1


def causal_mask(length, device=None):
    if length < 0:
        raise ValueError(f"length must be non-negative, got {length}")
    return torch.ones(length, length, dtype=torch.bool, device=device).tril(-1)
