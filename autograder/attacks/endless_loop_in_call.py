# attack: every exercise loops forever and swallows every exception
# layer: per-test deadline; the worker is killed and restarted
# expect: softmax=timeout causal_mask=timeout
def softmax(x, dim=-1):
    while True:
        try:
            pass
        except BaseException:
            pass


def causal_mask(length, device=None):
    while True:
        pass


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    while True:
        pass
