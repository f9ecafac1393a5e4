# attack: the same, with computed attribute names the static scan cannot read
# layer: runtime guard: the submission's getattr refuses double-underscore names; wrappers keep no original
# expect: softmax=forbidden
def softmax(x, dim=-1):
    fn = getattr(torch, "soft" + "max")
    for name in ("__wrap" + "ped__", "__clos" + "ure__"):
        try:
            fn = getattr(fn, name)
        except AttributeError:
            pass
    return fn(x, dim)
