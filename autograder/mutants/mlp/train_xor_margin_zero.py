# wrong: training stops as soon as every point is classified (signed logit > 0) instead of > 2
# hint: margin 0
# caught by: train_xor(seed=0, steps=300)'s logits vs the documented recipe recomputed with torch (stops earlier, smaller margins)
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    sign = 2 * y - 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_mlp([2, hidden, 1], activation=nn.Tanh)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        logits = model(X)
        if (sign * logits).min().item() > 0.0:
            break
        loss = F.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
