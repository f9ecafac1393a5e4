# wrong: calls torch.optim.Adam (forbidden) instead of implementing the update
# hint: torch.optim.adam
# caught by: the forbidden-call scan (static) and the runtime guard; numerically identical
class Adam(torch.optim.Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
