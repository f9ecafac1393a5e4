# wrong: dropout has no special case for p == 1, so the mask is divided by 1 - p = 0 and the output is NaN
# hint: p == 1
# caught by: dropout(randn(5, 4), p=1.0) must be all zeros (here NaN)
def dropout(x, p=0.5, training=True, generator=None):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or x.numel() == 0:
        return x
    keep = torch.empty_like(x).bernoulli_(1 - p, generator=generator)
    return x * keep.div_(1 - p)
