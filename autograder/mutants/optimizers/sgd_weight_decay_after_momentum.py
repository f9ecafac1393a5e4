# wrong: SGD adds weight_decay * p to the update after the momentum buffer, so the decay never enters the buffer
# hint: added after the momentum buffer
# caught by: test_sgd_trajectory[momentum-decay] from step 2 on (step 1 is identical)
class SGD(SGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = grad.detach().clone()
                        state["momentum_buffer"] = buf
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                    grad = grad.add(buf, alpha=momentum) if nesterov else buf
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)
                p.add_(grad, alpha=-lr)
        return loss
