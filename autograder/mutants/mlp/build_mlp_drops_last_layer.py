# wrong: off-by-one loop `range(len(sizes) - 2)` builds one Linear too few and ends with an activation
# hint: len(sizes) - 1
# caught by: build_mlp([4, 8, 8, 1])(torch.randn(5, 4)).shape == (5, 8) instead of (5, 1); build_mlp([3, 5]) is empty
def build_mlp(sizes, activation=nn.ReLU):
    if len(sizes) < 2:
        raise ValueError(f"sizes must have at least 2 entries (input and output), got {list(sizes)}")
    layers = []
    for i in range(len(sizes) - 2):
        layers.append(Linear(sizes[i], sizes[i + 1]))
        layers.append(activation())
    return nn.Sequential(*layers)
