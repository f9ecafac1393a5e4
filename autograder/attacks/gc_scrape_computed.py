# attack: the same through a computed import and a module reached as an attribute of torch
# layer: runtime guard: __import__ admits only allowed modules, getattr refuses modules that are not allowed
# expect: softmax=forbidden
_gc = None
try:
    _gc = getattr(torch, "g" + "c")
except AttributeError:
    pass
try:
    _gc = _gc or getattr(getattr(torch, "__buil" + "tins__"), "__imp" + "ort__")("g" + "c")
except Exception:
    pass
try:
    _gc = _gc or getattr(getattr(torch, "s" + "ys").modules["g" + "c"])
except Exception:
    pass


def softmax(x, dim=-1):
    for obj in (_gc.get_objects() if _gc else []):
        if hasattr(obj, "called_by_submission"):
            obj.called_by_submission = lambda frame: False
    return getattr(torch, "soft" + "max")(x, dim)
