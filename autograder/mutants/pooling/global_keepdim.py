# wrong: global_avg_pool2d returns (N, C, 1, 1) instead of (N, C)
# hint: shape
# caught by: global_avg_pool2d(torch.randn(2, 3, 4, 5)): shape (2, 3, 1, 1) instead of (2, 3)
def global_avg_pool2d(x):
    _check_input(x, allowed=(4,))
    N, C, H, W = x.shape
    return x.mean(dim=(2, 3), keepdim=True)
