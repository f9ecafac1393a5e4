# wrong: always normalises with the batch statistics, also in eval mode (running stats are updated but never used)
# hint: in eval mode use running_mean / running_var
# caught by: eval-mode call (training=False / module.eval()) with running stats that differ from the batch's, e.g. right after init (mean 0, var 1) on x * 3 + 2
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    N, C = x.shape[:2]
    dims = (0,) + tuple(range(2, x.dim()))
    stats_shape = (1, C) + (1,) * (x.dim() - 2)
    mean = x.mean(dim=dims)
    var = ((x - mean.view(stats_shape)) ** 2).mean(dim=dims)
    if training and running_mean is not None:
        n = x.numel() // C
        with torch.no_grad():
            running_mean.mul_(1.0 - momentum).add_(momentum * mean)
            running_var.mul_(1.0 - momentum).add_(momentum * var * (n / (n - 1)))
    out = (x - mean.view(stats_shape)) / torch.sqrt(var.view(stats_shape) + eps)
    if weight is not None:
        out = out * weight.view(stats_shape)
    if bias is not None:
        out = out + bias.view(stats_shape)
    return out
