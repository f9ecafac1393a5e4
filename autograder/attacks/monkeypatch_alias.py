# attack: monkeypatches torch.Tensor through an alias (cls = type(x); cls.add = ...), which neither the
#   static scan nor the submission's setattr sees
# layer: the audit after every test reports what was replaced in torch; that test fails and the worker restarts
# expect: softmax=error
def softmax(x, dim=-1):
    cls = type(x)
    cls.add = lambda self, other: self
    cls.sum = lambda self, *args, **kwargs: self
    return torch.zeros_like(x)
