# wrong: hidden keys get a large finite negative score (-1e9) instead of -inf, so a query whose keys are all masked gets uniform weights 1/S
# hint: these weights are uniform
# caught by: a mask with one all-hidden row (its weights must be zeros)


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    if mask is not None and is_causal:
        raise ValueError("mask and is_causal cannot both be set")
    L, E = q.shape[-2:]
    S = k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(E)
    if is_causal:
        mask = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -1e9)
    elif mask is not None:
        scores = scores + mask.clamp(min=-1e9)
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
