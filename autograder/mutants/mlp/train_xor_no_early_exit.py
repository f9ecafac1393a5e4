# wrong: training runs all `steps` Adam steps instead of stopping once every signed logit is > 2
# hint: never stops early
# caught by: train_xor(seed=0, steps=300)'s logits vs the documented recipe recomputed with torch (the margins grow far past 2)
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
        pass
        loss = F.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
