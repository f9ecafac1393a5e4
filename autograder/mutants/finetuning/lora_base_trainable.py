# wrong: the wrapped base layer is not frozen (its weight and bias still get gradients)
# hint: requires_grad
# caught by: LoRALinear(nn.Linear(7, 5), r=3): base.weight.requires_grad is True, count_parameters is 61 instead of 36
class LoRALinear(LoRALinear):
    def __init__(self, base, r=8, alpha=16.0, dropout=0.0):
        super().__init__(base, r, alpha, dropout)
        base.requires_grad_(True)
