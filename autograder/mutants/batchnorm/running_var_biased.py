# wrong: running_var is updated with the biased batch variance (divides by n, not n - 1)
# hint: running_var stores the unbiased one
# caught by: BatchNorm1d(3) training step on a (4, 3) batch, then compare running_var (off by a factor 4/3 in the new part)
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    N, C = x.shape[:2]
    dims = (0,) + tuple(range(2, x.dim()))
    stats_shape = (1, C) + (1,) * (x.dim() - 2)
    if training:
        mean = x.mean(dim=dims)
        var = ((x - mean.view(stats_shape)) ** 2).mean(dim=dims)
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
