# attack: answers NaN everywhere, hoping NaN comparisons pass
# layer: comparisons treat NaN as a mismatch unless the reference has the same NaN
def softmax(x, dim=-1):
    return torch.full_like(x, float("nan"))


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    L, S = q.shape[-2], k.shape[-2]
    return (torch.full(q.shape[:-1] + v.shape[-1:], float("nan")),
            torch.full(q.shape[:-1] + (S,), float("nan")))
