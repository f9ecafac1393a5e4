# wrong: scales the standard normal noise by the variance std**2 instead of the standard deviation std
# hint: std ** 2 (the variance)
# caught by: add_noise(x, 2.0, generator) vs x + 2.0 * torch.randn with the same seeded generator; the noise statistics (sample std 4 instead of 2); train_autoencoder with an identity model and noise_std=0.7 (first-epoch loss 0.24 instead of 0.49)
def add_noise(x, std, generator=None):
    if std < 0:
        raise ValueError(f"std must be non-negative (got {std})")
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + std ** 2 * noise
