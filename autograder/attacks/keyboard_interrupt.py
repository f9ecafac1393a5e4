# attack: raises KeyboardInterrupt and SystemExit, which a careless server treats as its own shutdown
# layer: the worker turns every exception of the submission into data
def softmax(x, dim=-1):
    raise KeyboardInterrupt


def causal_mask(length, device=None):
    raise SystemExit(0)


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    raise GeneratorExit
