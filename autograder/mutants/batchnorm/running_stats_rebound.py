# wrong: the running-stat update rebinds local names (running_mean = ...) instead of updating the buffers in place, so they never change
# hint: rebinding a name changes nothing
# caught by: one training step, then compare running_mean / running_var (still 0 / 1) or the eval-mode output
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
                running_mean = (1.0 - momentum) * running_mean + momentum * mean
                running_var = (1.0 - momentum) * running_var + momentum * var * (n / (n - 1))
    else:
        mean, var = running_mean, running_var
    out = (x - mean.view(stats_shape)) / torch.sqrt(var.view(stats_shape) + eps)
    if weight is not None:
        out = out * weight.view(stats_shape)
    if bias is not None:
        out = out + bias.view(stats_shape)
    return out
