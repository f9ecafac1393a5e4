# wrong: the XOR model has no hidden nonlinearity (Linear -> Linear is still linear), so it cannot separate XOR
# hint: nonlinearity
# caught by: train_xor(seed=0) misclassifies at least one of the 4 XOR points (a linear model gets at most 3 right)
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(Linear(2, hidden), Linear(hidden, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
