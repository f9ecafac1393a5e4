# wrong: symmetric Hann window (divides by n_fft - 1) instead of the periodic one (divides by n_fft)
# hint: periodic
# caught by: float64, n_fft=16, hop 4, random wave: every bin differs by a few percent
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
    window = 0.5 - 0.5 * torch.cos(n.to(wave.dtype) * (2 * math.pi / (n_fft - 1)))
    starts = torch.arange(frames, device=wave.device) * hop_length
    index = starts[:, None] + n[None, :]
    spec = torch.fft.rfft(wave[..., index] * window, dim=-1)
    return (spec.abs() ** 2).transpose(-1, -2)
