# wrong: parameters registered as `W` and `b` instead of `weight` and `bias`, so state_dict keys differ from nn.Linear
# hint: state_dict
# caught by: list(Linear(3, 4).state_dict()) == ['W', 'b'] instead of ['weight', 'bias']; layer.weight raises AttributeError
class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.W = nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype).uniform_(-bound, bound))
        if bias:
            self.b = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype).uniform_(-bound, bound))
        else:
            self.b = None

    def forward(self, x):
        out = x @ self.W.T
        if self.b is not None:
            out = out + self.b
        return out
