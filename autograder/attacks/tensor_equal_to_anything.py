# attack: returns tensor subclasses that compare equal to anything and claim every property
# layer: the protocol sends raw bytes and a dtype: the judge rebuilds a plain tensor
class _Liar(torch.Tensor):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True


def softmax(x, dim=-1):
    return torch.empty_like(x).as_subclass(_Liar)


def causal_mask(length, device=None):
    return torch.empty(length, length, dtype=torch.bool).as_subclass(_Liar)
