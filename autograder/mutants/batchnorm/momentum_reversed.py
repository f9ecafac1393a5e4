# wrong: momentum weights the old running value: running = momentum * running + (1 - momentum) * batch_stat
# hint: momentum weighting the old value
# caught by: one training step with momentum=0.1 on any batch: running_mean becomes 0.9 * batch mean instead of 0.1 * batch mean
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    N, C = x.shape[:2]
    dims = (0,) + tuple(range(2, x.dim()))
    stats_shape = (1, C) + (1,) * (x.dim() - 2)
    if training:
        mean = x.mean(dim=dims)
        var = ((x - mean.view(stats_shape)) ** 2).mean(dim=dims)
        if running_mean is not None:
            n = x.numel() // C
            with torch.no_grad():
                running_mean.mul_(momentum).add_((1.0 - momentum) * mean)
                running_var.mul_(momentum).add_((1.0 - momentum) * var * (n / (n - 1)))
    else:
        mean, var = running_mean, running_var
    out = (x - mean.view(stats_shape)) / torch.sqrt(var.view(stats_shape) + eps)
    if weight is not None:
        out = out * weight.view(stats_shape)
    if bias is not None:
        out = out + bias.view(stats_shape)
    return out
