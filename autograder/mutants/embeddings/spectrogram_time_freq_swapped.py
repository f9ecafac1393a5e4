# wrong: returns (..., frames, n_fft//2+1): time before frequency (forgot the final transpose)
# hint: (..., n_fft//2+1, frames)
# caught by: wave (2, 1600), defaults: shape (2, 8, 201) instead of (2, 201, 8)
def spectrogram(wave, n_fft=400, hop_length=160):
    if not wave.is_floating_point():
        raise TypeError(f"spectrogram: expected a floating point wave (got {wave.dtype})")
    if n_fft <= 0:
        raise ValueError(f"n_fft must be positive (got {n_fft})")
    if hop_length <= 0:
        raise ValueError(f"hop_length must be positive (got {hop_length})")
    if wave.dim() == 0:
        raise ValueError("expected wave of shape (..., T) (got a 0D tensor)")
    T = wave.shape[-1]
    if T < n_fft:
        raise ValueError(f"wave is shorter than n_fft (T={T}, n_fft={n_fft})")
    frames = 1 + (T - n_fft) // hop_length
    n = torch.arange(n_fft, device=wave.device)
    window = 0.5 - 0.5 * torch.cos(n.to(wave.dtype) * (2 * math.pi / n_fft))
    starts = torch.arange(frames, device=wave.device) * hop_length
    index = starts[:, None] + n[None, :]
    spec = torch.fft.rfft(wave[..., index] * window, dim=-1)
    return spec.abs() ** 2
