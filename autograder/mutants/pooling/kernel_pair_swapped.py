# wrong: max_pool2d reads a (kh, kw) kernel_size as (width, height), so non-square windows are transposed
# hint: kernel_size
# caught by: max_pool2d(torch.randn(2, 3, 8, 9), (3, 2)): output (2, 3, 4, 3) instead of (2, 3, 2, 4)
_correct_max_pool2d = max_pool2d


def max_pool2d(x, kernel_size, stride=None, padding=0):
    if isinstance(kernel_size, (tuple, list)):
        kernel_size = (kernel_size[1], kernel_size[0])
    if isinstance(stride, (tuple, list)):
        stride = (stride[1], stride[0])
    if isinstance(padding, (tuple, list)):
        padding = (padding[1], padding[0])
    return _correct_max_pool2d(x, kernel_size, stride, padding)
