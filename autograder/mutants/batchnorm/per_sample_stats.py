# wrong: for (N, C, *) inputs, statistics are taken per sample over the trailing dims (H, W) instead of over (N, H, W) (instance norm); running stats from their batch average
# hint: instance norm
# caught by: BatchNorm2d(3) training on randn(4, 3, 5, 5) + randn(4, 1, 1, 1) * 3 (samples with different means): output and running_var differ
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    N, C = x.shape[:2]
    stats_shape = (1, C) + (1,) * (x.dim() - 2)
    if training:
        dims = tuple(range(2, x.dim())) if x.dim() > 2 else (0,)
        mean = x.mean(dim=dims, keepdim=True)  # (N, C, 1, 1) for 4D input
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        if running_mean is not None:
            n = x.numel() // (C * mean.shape[0])  # values per statistic
            batch_mean = mean.reshape(-1, C).mean(dim=0)  # (C,)
            batch_var = var.reshape(-1, C).mean(dim=0)  # (C,)
            with torch.no_grad():
                running_mean.mul_(1.0 - momentum).add_(momentum * batch_mean)
                running_var.mul_(1.0 - momentum).add_(momentum * batch_var * (n / (n - 1)))
    else:
        mean, var = running_mean.view(stats_shape), running_var.view(stats_shape)
    out = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        out = out * weight.view(stats_shape)
    if bias is not None:
        out = out + bias.view(stats_shape)
    return out
