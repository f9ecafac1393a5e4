# wrong: calls torch's scaled_dot_product_attention through an alias picked by getattr
# hint: torch.nn.functional.scaled_dot_product_attention is one of the calls this topic forbids
# caught by: the static scan (getattr with a constant) and the runtime guard
from torch.nn import functional as _fn

_attend = getattr(_fn, "scaled_dot_product_attention")


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    if mask is not None and is_causal:
        raise ValueError("mask and is_causal cannot both be set")
    out = _attend(q, k, v, attn_mask=mask, is_causal=is_causal)
    E = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(E)
    return out, softmax(scores, dim=-1)
