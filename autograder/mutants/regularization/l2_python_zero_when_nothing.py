# wrong: l2_penalty sums with Python's sum(), so when nothing is penalised it returns the int 0, not a 0-d tensor
# caught by: l2_penalty(nn.LayerNorm(5), 0.3): expected tensor(0., dtype=float64), got 0
def l2_penalty(module, weight_decay, include_bias=False):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    return weight_decay * sum(w.pow(2).sum() for w in module.parameters() if w.dim() > 1 or include_bias)
