# wrong: device and dtype are accepted but ignored: the parameters are always float32 on the CPU
# caught by: Linear(4, 6, dtype=torch.float64).weight.dtype is float32
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias)
