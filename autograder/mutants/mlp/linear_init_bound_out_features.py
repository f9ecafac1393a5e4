# wrong: init bound uses out_features (1/sqrt(out_features)) instead of in_features
# hint: 1/sqrt(in_features)
# caught by: Linear(7, 200): max |weight| ~ 0.07 instead of ~ 0.378; Linear(400, 4): ~ 0.5 instead of 0.05
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
        bound = 1.0 / math.sqrt(out_features) if out_features > 0 else 0.0
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def forward(self, x):
        out = x @ self.weight.T
        if self.bias is not None:
            out = out + self.bias
        return out
