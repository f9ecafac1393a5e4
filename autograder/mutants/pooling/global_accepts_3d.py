# wrong: global_avg_pool2d also accepts a (C, H, W) input (averaging its last two dims) where the contract asks for a ValueError
# caught by: global_avg_pool2d(torch.randn(3, 4, 5)) returns a (3,) tensor instead of raising ValueError
def global_avg_pool2d(x):
    return x.mean(dim=(-2, -1))
