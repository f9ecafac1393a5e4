# wrong: hand-written backward takes dL/dx_hat = dL/dy, forgetting the factor gamma (right only when gamma is all ones)
# hint: without the factor gamma
# caught by: dL/dx of BatchNormFunction.apply(x (8, 3), gamma = randn(3), beta, 1e-5) vs F.batch_norm, or gradcheck in float64
class BatchNormFunction(BatchNormFunction):
    @staticmethod
    def backward(ctx, grad_out):
        x_hat, gamma, inv_std = ctx.saved_tensors
        g = grad_out  # should be grad_out * gamma
        grad_x = inv_std * (g - g.mean(dim=0) - x_hat * (g * x_hat).mean(dim=0))
        grad_gamma = (grad_out * x_hat).sum(dim=0)
        grad_beta = grad_out.sum(dim=0)
        return grad_x, grad_gamma, grad_beta, None
