# wrong: eps is added inside the square root: sqrt(v_hat + eps) instead of sqrt(v_hat) + eps
# hint: eps inside the square root
# caught by: test_adam_trajectory[large-eps] (eps=1e-2, 60 steps) and every run where v is small
class Adam(Adam):
    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                t = state["step"].item()
                if weight_decay != 0:
                    if self.decoupled_weight_decay:
                        p.mul_(1 - lr * weight_decay)
                    else:
                        grad = grad.add(p, alpha=weight_decay)
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1**t
                bias_correction2_sqrt = (1 - beta2**t) ** 0.5
                if amsgrad:
                    max_exp_avg_sq = state["max_exp_avg_sq"]
                    torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denom = (max_exp_avg_sq / bias_correction2_sqrt**2).add_(eps).sqrt()
                else:
                    denom = (exp_avg_sq / bias_correction2_sqrt**2).add_(eps).sqrt()
                p.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
        return loss
