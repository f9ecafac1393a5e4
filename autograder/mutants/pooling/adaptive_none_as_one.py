# wrong: a None entry of output_size is read as 1 instead of "keep the input size" (as torch does)
# hint: None keeps the input size
# caught by: adaptive_avg_pool2d(randn(2, 3, 7, 9), (None, 4)) has shape (2, 3, 1, 4) instead of (2, 3, 7, 4)
def _normalize_output_size(output_size, H, W):
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(1 if size is None else size for size in output_size)
    return _pair(output_size, "output_size")
