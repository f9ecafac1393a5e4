# wrong: the bias is drawn before the weight, so after torch.manual_seed the layer holds other numbers than nn.Linear
# hint: bias is initialised before weight
# caught by: Linear(5, 3) built after torch.manual_seed(11) vs nn.Linear(5, 3) built after the same seed
class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias", None)
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        with torch.no_grad():
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)
            self.weight.uniform_(-bound, bound)

    def forward(self, x):
        out = x @ self.weight.T
        if self.bias is not None:
            out = out + self.bias
        return out
