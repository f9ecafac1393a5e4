# wrong: scores are not scaled by 1/sqrt(E)
# hint: without the 1/sqrt(e) scaling
# caught by: any attention input with E > 1


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    if mask is not None and is_causal:
        raise ValueError("mask and is_causal cannot both be set")
    L, S = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1)
    if is_causal:
        mask = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    hidden = torch.isneginf(scores).all(dim=-1, keepdim=True)
    weights = softmax(scores.masked_fill(hidden, 0.0), dim=-1).masked_fill(hidden, 0.0)
    return weights @ v, weights
