# wrong: frequency exponent uses the pair index i instead of the even column index 2i: pos / 10000^(i/d)
# hint: exponent
# caught by: sinusoidal_positional_encoding(50, 8) vs the float64 formula (columns 2.. differ, e.g. PE[1, 2] = sin(1/10000^(1/8)) instead of sin(1/10000^(2/8)))
def sinusoidal_positional_encoding(max_len, d_model):
    if max_len < 1:
        raise ValueError(f"max_len must be positive (got {max_len})")
    if d_model < 2 or d_model % 2 != 0:
        raise ValueError(f"d_model must be a positive even number (got {d_model})")
    pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angle = pos / torch.pow(10000.0, i / d_model)
    pe = torch.empty(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.to(torch.get_default_dtype())
