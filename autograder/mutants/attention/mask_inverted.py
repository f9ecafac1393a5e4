# wrong: a bool mask is read with True meaning "hidden" (nn.MultiheadAttention's convention)
# hint: mask inverted
# caught by: a bool mask that allows some keys and hides others


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    if mask is not None and is_causal:
        raise ValueError("mask and is_causal cannot both be set")
    L, E = q.shape[-2:]
    S = k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(E)
    if is_causal:
        scores = scores.masked_fill(~torch.ones(L, S, dtype=torch.bool, device=q.device).tril(), float("-inf"))
    elif mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    hidden = torch.isneginf(scores).all(dim=-1, keepdim=True)
    weights = softmax(scores.masked_fill(hidden, 0.0), dim=-1).masked_fill(hidden, 0.0)
    return weights @ v, weights
