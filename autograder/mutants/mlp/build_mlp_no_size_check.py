# wrong: len(sizes) < 2 is not rejected: build_mlp([4]) silently returns an empty (identity) nn.Sequential
# hint: at least 2
# caught by: build_mlp([4]) and build_mlp([]) must raise ValueError
def build_mlp(sizes, activation=nn.ReLU):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
