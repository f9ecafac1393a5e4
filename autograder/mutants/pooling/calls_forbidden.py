# wrong: calls the forbidden F.max_pool2d and F.avg_pool2d instead of building the windows
# hint: forbidden call torch.nn.functional.max_pool2d
# caught by: the forbidden-call scan (static: F.max_pool2d / F.avg_pool2d in the source; at run time: the call itself); numbers are right
def max_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    return F.max_pool2d(x, kernel, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    return F.avg_pool2d(x, kernel, stride, padding)
