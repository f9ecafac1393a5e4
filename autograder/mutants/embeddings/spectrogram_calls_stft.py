# wrong: calls torch.stft (forbidden)
# hint: torch.stft is one of the calls this topic forbids
# caught by: the forbidden-call check (numerically it is identical)
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
    lead = wave.shape[:-1]
    spec = torch.stft(
        wave.reshape(-1, T), n_fft, hop_length,
        window=torch.hann_window(n_fft, dtype=wave.dtype, device=wave.device),
        center=False, return_complex=True,
    )  # (prod(lead), F, frames)
    return (spec.abs() ** 2).reshape(*lead, *spec.shape[-2:])
