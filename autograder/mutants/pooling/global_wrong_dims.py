# wrong: global_avg_pool2d averages over dims (1, 2) as if the input were channels-last (N, H, W, C)
# hint: spatial
# caught by: global_avg_pool2d(torch.randn(2, 3, 4, 5)): shape (2, 5) instead of (2, 3); with C == W == 4 the values differ
def global_avg_pool2d(x):
    _check_input(x, allowed=(4,))
    N, C, H, W = x.shape
    return x.mean(dim=(1, 2))
