# wrong: iterates over N // batch_size full batches only, silently skipping the last (smaller) batch every epoch
# caught by: equal rows + blind model, N=100, batch_size=64 (RNG-free): one step per epoch instead of two; N=7, batch_size=3
def train_autoencoder(model, data, epochs=20, lr=1e-3, batch_size=64, noise_std=0.0, seed=0):
    if data.dim() != 2:
        raise ValueError(f"expected 2D input (got {data.dim()}D input)")
    N, D = data.shape
    g = torch.Generator(device=data.device).manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    was_training = model.training
    model.train()
    history = []
    for _ in range(epochs):
        perm = torch.randperm(N, generator=g, device=data.device)
        total = 0.0
        steps = N // batch_size
        for i in range(steps):
            x = data[perm[i * batch_size:(i + 1) * batch_size]]
            x_in = add_noise(x, noise_std, generator=g) if noise_std > 0 else x
            loss = F.mse_loss(model(x_in), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        history.append(total / max(1, steps * batch_size))
    model.train(was_training)
    return history
