# wrong: the padding check rejects padding == kernel_size // 2 (uses >= instead of >)
# hint: padding
# caught by: max_pool2d(x, 3, stride=1, padding=1) (the usual "same" pooling) raises ValueError instead of pooling
_correct_pool_args = _pool_args


def _pool_args(kernel_size, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = _correct_pool_args(kernel_size, stride, padding)
    if (ph > 0 and ph >= kh // 2) or (pw > 0 and pw >= kw // 2):
        raise ValueError(f"padding should be smaller than half of kernel_size, but got padding={padding!r}")
    return (kh, kw), (sh, sw), (ph, pw)
