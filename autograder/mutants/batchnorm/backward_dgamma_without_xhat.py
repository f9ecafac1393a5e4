# wrong: hand-written backward gives dL/dgamma = sum(dL/dy) (forgets to multiply by x_hat)
# hint: without the factor x_hat
# caught by: gradcheck in float64 w.r.t. gamma, or dL/dgamma vs F.batch_norm with a random grad_output
class BatchNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gamma, beta, eps=1e-5):
        for name, t in (("x", x), ("gamma", gamma), ("beta", beta)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a Tensor, got {type(t).__name__}")
        if x.dim() != 2:
            raise ValueError(f"expected 2D input (got {x.dim()}D input)")
        N, C = x.shape
        for name, t in (("gamma", gamma), ("beta", beta)):
            if tuple(t.shape) != (C,):
                raise ValueError(f"{name} must have shape ({C},), got {tuple(t.shape)}")
        _check_eps(eps, training=True)
        _check_batch_size(x)
        mean = x.mean(dim=0)
        var = ((x - mean) ** 2).mean(dim=0)
        inv_std = 1.0 / torch.sqrt(var + eps)
        x_hat = (x - mean) * inv_std
        ctx.save_for_backward(x_hat, gamma, inv_std)
        return x_hat * gamma + beta

    @staticmethod
    def backward(ctx, grad_out):
        x_hat, gamma, inv_std = ctx.saved_tensors
        g = grad_out * gamma
        grad_x = inv_std * (g - g.mean(dim=0) - x_hat * (g * x_hat).mean(dim=0))
        grad_gamma = grad_out.sum(dim=0)
        grad_beta = grad_out.sum(dim=0)
        return grad_x, grad_gamma, grad_beta, None
