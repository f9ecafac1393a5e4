# wrong: per-channel statistics taken from x.reshape(C, -1), which mixes batch and channel values, instead of moving C first
# hint: x.reshape(c, -1)
# caught by: any input with N > 1 whose channels have different means, e.g. BatchNorm2d(3) on randn(2, 3, 4, 5) + arange(3).view(1, 3, 1, 1)
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    N, C = x.shape[:2]
    stats_shape = (1, C) + (1,) * (x.dim() - 2)
    if training:
        flat = x.reshape(C, -1)  # (C, N * prod(*))
        mean = flat.mean(dim=1)
        var = ((flat - mean[:, None]) ** 2).mean(dim=1)
        if running_mean is not None:
            n = flat.shape[1]
            with torch.no_grad():
                running_mean.mul_(1.0 - momentum).add_(momentum * mean)
                running_var.mul_(1.0 - momentum).add_(momentum * var * (n / (n - 1)))
    else:
        mean, var = running_mean, running_var
    out = (x - mean.view(stats_shape)) / torch.sqrt(var.view(stats_shape) + eps)
    if weight is not None:
        out = out * weight.view(stats_shape)
    if bias is not None:
        out = out + bias.view(stats_shape)
    return out
