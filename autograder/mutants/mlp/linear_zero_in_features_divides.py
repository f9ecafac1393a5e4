# wrong: the bound 1/sqrt(in_features) is computed even when in_features == 0 (ZeroDivisionError; nn.Linear uses 0)
# caught by: Linear(0, 3) raises instead of giving a layer whose output is zeros
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        self.bound = 1.0 / math.sqrt(in_features)
        super().__init__(in_features, out_features, bias, device, dtype)
