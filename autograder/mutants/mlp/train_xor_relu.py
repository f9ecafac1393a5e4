# wrong: the XOR model uses ReLU hidden units instead of the documented tanh (solves most seeds, but is another model)
# hint: a ReLU hidden layer
# caught by: train_xor(seed=0)'s logits vs the documented recipe (build_mlp([2, hidden, 1], nn.Tanh)) recomputed with torch
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    sign = 2 * y - 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_mlp([2, hidden, 1], activation=nn.ReLU)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        logits = model(X)
        if (sign * logits).min().item() > 2.0:
            break
        loss = F.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
