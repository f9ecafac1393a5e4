# wrong: normalises with the unbiased variance (x.var() defaults to correction=1) instead of the biased one
# hint: normalisation with the unbiased variance
# caught by: training-mode output on a small batch, e.g. (2, 3) or (4, 3): output scaled by sqrt((n-1)/n)
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    N, C = x.shape[:2]
    dims = (0,) + tuple(range(2, x.dim()))
    stats_shape = (1, C) + (1,) * (x.dim() - 2)
    if training:
        mean = x.mean(dim=dims)
        var = x.var(dim=dims)  # unbiased
        if running_mean is not None:
            with torch.no_grad():
                running_mean.mul_(1.0 - momentum).add_(momentum * mean)
                running_var.mul_(1.0 - momentum).add_(momentum * var)
    else:
        mean, var = running_mean, running_var
    out = (x - mean.view(stats_shape)) / torch.sqrt(var.view(stats_shape) + eps)
    if weight is not None:
        out = out * weight.view(stats_shape)
    if bias is not None:
        out = out + bias.view(stats_shape)
    return out
