# wrong: with include_bias, l2_penalty adds only the 1-d parameters (dim() == 1), so a 0-d parameter is never penalised
# hint: 0-d scalars too
# caught by: l2_penalty((Linear-Tanh-Linear) * temperature, 0.3, include_bias=True): temperature (shape ()) must count
def l2_penalty(module, weight_decay, include_bias=False):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    params = list(module.parameters())
    like = params[0] if params else torch.zeros(())
    total = torch.zeros((), dtype=like.dtype, device=like.device)
    for w in params:
        if w.dim() > 1 or (include_bias and w.dim() == 1):
            total = total + w.pow(2).sum()
    return weight_decay * total
