# wrong: torch.manual_seed(seed) is called on the global RNG without fork_rng, so the caller's RNG state is reset
# hint: global RNG
# caught by: the global RNG state after train_xor(seed=3) differs from the state before the call
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    sign = 2 * y - 1
    torch.manual_seed(seed)
    model = build_mlp([2, hidden, 1], activation=nn.Tanh)
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
