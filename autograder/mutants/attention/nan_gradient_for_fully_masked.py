# wrong: a fully masked query's nan weights are replaced by zeros with torch.where after the softmax: the values are right, but nan flows back into the gradients
# hint: gradients contain nan/inf when a query has every key masked
# caught by: the gradients of attention with one all-hidden mask row


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
    hidden = torch.isneginf(scores).all(dim=-1, keepdim=True)
    weights = torch.where(hidden, torch.zeros_like(scores), softmax(scores, dim=-1))
    return weights @ v, weights
