# wrong: the Linear layers are created last to first (then put in order): right structure, but other weights than nn.Sequential after the same seed
# hint: created last to first
# caught by: build_mlp([3, 6, 5, 2]).state_dict() after torch.manual_seed(5) vs nn.Sequential(nn.Linear(3, 6), nn.ReLU(), ...) after the same seed
def build_mlp(sizes, activation=nn.ReLU):
    if len(sizes) < 2:
        raise ValueError(f"sizes must have at least 2 entries (input and output), got {list(sizes)}")
    linears = [Linear(sizes[i], sizes[i + 1]) for i in reversed(range(len(sizes) - 1))][::-1]
    layers = []
    for i, layer in enumerate(linears):
        layers.append(layer)
        if i < len(linears) - 1:
            layers.append(activation())
    return nn.Sequential(*layers)
