# wrong: l2_penalty uses the lambda/2 * sum w^2 convention (gradient lambda*w) instead of lambda * sum w^2
# hint: 2
# caught by: l2_penalty(nn.Linear(4, 3), 0.1): half the expected value, gradient 0.1*W instead of 0.2*W
def l2_penalty(module, weight_decay, include_bias=False):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    params = list(module.parameters())
    like = params[0] if params else torch.zeros(())
    total = torch.zeros((), dtype=like.dtype, device=like.device)
    for w in params:
        if w.dim() > 1 or include_bias:
            total = total + w.pow(2).sum()
    return weight_decay / 2 * total
