# wrong: in denoising mode the loss compares the output with the NOISY input instead of the clean x
# hint: clean x
# caught by: train_autoencoder on equal rows with a model blind to its input, noise_std > 0: the run is fixed whatever the noise if the target is clean, not with a noisy target; an identity model with noise_std=0.7 must show a first-epoch loss ~0.49 (here ~0)
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
        for start in range(0, N, batch_size):
            x = data[perm[start:start + batch_size]]
            if noise_std > 0:
                x = add_noise(x, noise_std, generator=g)
            loss = F.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        history.append(total / N)
    model.train(was_training)
    return history
