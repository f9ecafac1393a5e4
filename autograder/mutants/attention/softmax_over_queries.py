# wrong: the attention softmax runs over the queries (dim -2) instead of the keys
# hint: softmax over the queries instead of the keys
# caught by: unmasked attention with L > 1


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    if mask is not None and is_causal:
        raise ValueError("mask and is_causal cannot both be set")
    L, E = q.shape[-2:]
    S = k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(E)
    if is_causal:
        mask = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-2)
    return weights @ v, weights
