# wrong: calls torch.nn.functional.batch_norm (forbidden) instead of computing the normalisation
# hint: forbidden call torch.nn.functional.batch_norm
# caught by: the forbidden-call scan (static: F.batch_norm / torch.nn.functional.batch_norm in the source; run time: the call itself); numerically it matches torch
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    _check_batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps)
    return torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
