# wrong: a fresh AdamW is created at the start of every epoch, so its moment estimates and step count are reset each epoch
# hint: a new optimizer every epoch
# caught by: equal rows + blind model and full-batch runs (RNG-free) vs the reference loop: epoch 1 matches, later epochs differ
def train_autoencoder(model, data, epochs=20, lr=1e-3, batch_size=64, noise_std=0.0, seed=0):
    if data.dim() != 2:
        raise ValueError(f"expected 2D input (got {data.dim()}D input)")
    N, D = data.shape
    g = torch.Generator(device=data.device).manual_seed(seed)
    was_training = model.training
    model.train()
    history = []
    for _ in range(epochs):
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        perm = torch.randperm(N, generator=g, device=data.device)
        total = 0.0
        for start in range(0, N, batch_size):
            x = data[perm[start:start + batch_size]]
            x_in = add_noise(x, noise_std, generator=g) if noise_std > 0 else x
            loss = F.mse_loss(model(x_in), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        history.append(total / N)
    model.train(was_training)
    return history
