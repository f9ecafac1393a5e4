# attack: scrapes gc.get_objects() for the runtime guard (to switch it off) and for expected tensors
# layer: import allowlist rejects gc (statically, and the submission's __import__ at run time)
# expect: softmax=forbidden
import gc as _gc

for _obj in _gc.get_objects():
    if hasattr(_obj, "hits") and hasattr(_obj, "called_by_submission"):
        _obj.called_by_submission = lambda frame: False


def softmax(x, dim=-1):
    return torch.softmax(x, dim)
