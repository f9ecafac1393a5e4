# wrong: adds the noise in place (x += ...), corrupting the caller's clean tensor (in train_autoencoder: the batch that should be the clean target)
# hint: in place
# caught by: add_noise(x, 1.5, generator): x must still equal its copy (hidden test_add_noise_leaves_input_untouched and the in-place check of test_add_noise_matches_seeded_randn)
def add_noise(x, std, generator=None):
    if std < 0:
        raise ValueError(f"std must be non-negative (got {std})")
    x += std * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x
