# wrong: dropout draws bernoulli(p) as the KEEP mask, so it drops with probability 1 - p (still scales by 1/(1-p))
# hint: keep probability
# caught by: dropout(ones(100000), p=0.2): ~80 % of the outputs must be non-zero, here ~20 %
def dropout(x, p=0.5, training=True, generator=None):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or x.numel() == 0:
        return x
    if p == 1.0:
        return x * torch.zeros((), dtype=x.dtype, device=x.device)
    keep = torch.empty_like(x).bernoulli_(p, generator=generator)
    return x * keep.div_(1 - p)
