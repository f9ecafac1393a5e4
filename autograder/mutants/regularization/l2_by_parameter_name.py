# wrong: l2_penalty picks parameters by name ("weight" in the name) instead of by dim > 1, so norm scales are penalised
# hint: dim
# caught by: nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3)) with include_bias=False: LayerNorm.weight (1-d) must not count
def l2_penalty(module, weight_decay, include_bias=False):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    params = list(module.parameters())
    like = params[0] if params else torch.zeros(())
    total = torch.zeros((), dtype=like.dtype, device=like.device)
    for name, w in module.named_parameters():
        if "weight" in name or include_bias:
            total = total + w.pow(2).sum()
    return weight_decay * total
