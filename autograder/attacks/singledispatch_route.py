# attack: calls the forbidden function through functools (singledispatch, partial, map), so the caller is
#   the standard library
# layer: runtime guard walks past pass-through frames to the submission's own code
# expect: softmax=forbidden scaled_dot_product_attention=forbidden
import functools


def softmax(x, dim=-1):
    fn = functools.singledispatch(getattr(torch, "soft" + "max"))
    return fn(x, dim)


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    attend = functools.partial(getattr(torch.nn.functional, "scaled_dot_product_" + "attention"))
    (out,) = list(map(attend, [q], [k], [v]))
    weights = functools.reduce(lambda acc, f: f(acc), [lambda s: getattr(torch, "soft" + "max")(s, -1)],
                               q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]))
    return out, weights
