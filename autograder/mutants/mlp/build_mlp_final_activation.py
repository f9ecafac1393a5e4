# wrong: an activation is also appended after the last Linear, so outputs (logits) can never be negative
# hint: last layer
# caught by: build_mlp([3, 5, 2]) has 4 modules instead of 3 and model(x) has no negative entries for x = torch.randn(64, 3)
def build_mlp(sizes, activation=nn.ReLU):
    if len(sizes) < 2:
        raise ValueError(f"sizes must have at least 2 entries (input and output), got {list(sizes)}")
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(Linear(sizes[i], sizes[i + 1]))
        layers.append(activation())
    return nn.Sequential(*layers)
