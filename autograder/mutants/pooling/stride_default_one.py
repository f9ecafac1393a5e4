# wrong: stride=None falls back to 1 instead of kernel_size (overlapping windows by default)
# hint: stride
# caught by: max_pool2d(x, 2) / avg_pool2d(x, 2) on a (2, 3, 8, 8) input: output (2, 3, 7, 7) instead of (2, 3, 4, 4)
_correct_pool_args = _pool_args


def _pool_args(kernel_size, stride, padding):
    return _correct_pool_args(kernel_size, 1 if stride is None else stride, padding)
