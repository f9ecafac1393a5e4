# wrong: dropout zeroes units but does not rescale the kept ones by 1/(1-p) (expected activation shrinks)
# hint: 1/(1-p)
# caught by: dropout(ones(10000), p=0.5): kept values must be 2.0 (mean ~1), here 1.0
def dropout(x, p=0.5, training=True, generator=None):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or x.numel() == 0:
        return x
    if p == 1.0:
        return x * torch.zeros((), dtype=x.dtype, device=x.device)
    keep = torch.empty_like(x).bernoulli_(1 - p, generator=generator)
    return x * keep
