# wrong: l2_penalty starts from torch.zeros(()) whatever the parameters: float32 zero for a float64 model with nothing penalised
# caught by: l2_penalty(nn.LayerNorm(5).double(), 0.3): expected a float64 0-d zero, got float32
def l2_penalty(module, weight_decay, include_bias=False):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    total = torch.zeros(())
    for w in module.parameters():
        if w.dim() > 1 or include_bias:
            total = total + w.pow(2).sum()
    return weight_decay * total
