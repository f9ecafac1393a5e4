# wrong: uses torch.optim.Adam (no weight decay) instead of AdamW (decoupled weight_decay=0.01 by default)
# hint: weight_decay=0.01
# caught by: the RNG-free runs (equal rows + blind model, full batch) vs the reference loop: the weights differ by the missing decay (lr * 0.01 * w per step)
def train_autoencoder(model, data, epochs=20, lr=1e-3, batch_size=64, noise_std=0.0, seed=0):
    if data.dim() != 2:
        raise ValueError(f"expected 2D input (got {data.dim()}D input)")
    N, D = data.shape
    g = torch.Generator(device=data.device).manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    was_training = model.training
    model.train()
    history = []
    for _ in range(epochs):
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
