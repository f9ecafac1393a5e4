# wrong: the bias is drawn before the weight, so after torch.manual_seed the layer holds other numbers than nn.Linear
# hint: bias is initialised before weight
# caught by: Linear(5, 3) built after torch.manual_seed(11) vs nn.Linear(5, 3) built after the same seed
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        with torch.random.fork_rng(devices=[]):  # the parent's draws are thrown away
            super().__init__(in_features, out_features, bias, device, dtype)
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        with torch.no_grad():
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)
            self.weight.uniform_(-bound, bound)
