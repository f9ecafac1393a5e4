# wrong: l2_penalty sums |w| (an L1 penalty) instead of w**2
# hint: square
# caught by: any Linear layer with weights not in {-1, 0, 1}, e.g. l2_penalty(nn.Linear(4, 3), 0.1)
def l2_penalty(module, weight_decay, include_bias=False):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    params = list(module.parameters())
    like = params[0] if params else torch.zeros(())
    total = torch.zeros((), dtype=like.dtype, device=like.device)
    for w in params:
        if w.dim() > 1 or include_bias:
            total = total + w.abs().sum()
    return weight_decay * total
