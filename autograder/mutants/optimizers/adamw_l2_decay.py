# wrong: AdamW adds weight_decay * p to the gradient (plain Adam L2) instead of decaying the weights directly
# hint: adam's l2 decay
# caught by: test_adamw_trajectory: matches torch.optim.Adam's run with the same weight_decay
class AdamW(Adam):
    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
