# wrong: l2_penalty penalises every parameter (biases, norm scales) unless told otherwise: include_bias defaults to True
# hint: bias
# caught by: l2_penalty(nn.Linear(4, 3), 0.1) with a non-zero bias: must equal 0.1 * (W**2).sum() only
def l2_penalty(module, weight_decay, include_bias=True):
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    params = list(module.parameters())
    like = params[0] if params else torch.zeros(())
    total = torch.zeros((), dtype=like.dtype, device=like.device)
    for w in params:
        if w.dim() > 1 or include_bias:
            total = total + w.pow(2).sum()
    return weight_decay * total
