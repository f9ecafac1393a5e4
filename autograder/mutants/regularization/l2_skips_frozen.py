# wrong: l2_penalty skips frozen parameters (requires_grad=False), but the SPEC penalises all weights
# hint: frozen
# caught by: a model whose first Linear is frozen with requires_grad_(False): its weight must still be counted
def l2_penalty(module, weight_decay, include_bias=False):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    params = list(module.parameters())
    like = params[0] if params else torch.zeros(())
    total = torch.zeros((), dtype=like.dtype, device=like.device)
    for w in params:
        if w.requires_grad and (w.dim() > 1 or include_bias):
            total = total + w.pow(2).sum()
    return weight_decay * total
