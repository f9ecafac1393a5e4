# wrong: shuffles with the global RNG (torch.randperm(N)) and ignores seed, so two runs with the same seed differ
# hint: a torch.generator seeded with
# caught by: two runs from the same initial weights with seed=4 but global RNG states 1 and 2: histories and weights must be identical
def train_autoencoder(model, data, epochs=20, lr=1e-3, batch_size=64, noise_std=0.0, seed=0):
    if data.dim() != 2:
        raise ValueError(f"expected 2D input (got {data.dim()}D input)")
    N, D = data.shape
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    was_training = model.training
    model.train()
    history = []
    for _ in range(epochs):
        perm = torch.randperm(N, device=data.device)
        total = 0.0
        for start in range(0, N, batch_size):
            x = data[perm[start:start + batch_size]]
            x_in = add_noise(x, noise_std) if noise_std > 0 else x
            loss = F.mse_loss(model(x_in), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        history.append(total / N)
    model.train(was_training)
    return history
