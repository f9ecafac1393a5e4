# wrong: draws the noise with torch.rand (uniform on [0, 1), mean 0.5) instead of torch.randn (Gaussian)
# hint: instead of gaussian noise
# caught by: add_noise(x, std, generator=Generator().manual_seed(5)) vs x + std * torch.randn with the same seeded generator (the misconception names torch.rand); the noise statistics (mean 0.5 std instead of ~0)
def add_noise(x, std, generator=None):
    if std < 0:
        raise ValueError(f"std must be non-negative (got {std})")
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + std * noise
