# wrong: even columns hold cos and odd columns sin (PE[pos, 2i] = cos, PE[pos, 2i+1] = sin)
# hint: sin
# caught by: sinusoidal_positional_encoding(10, 4) vs the float64 formula (row 0 reads 1, 0, 1, 0 instead of 0, 1, 0, 1)
def sinusoidal_positional_encoding(max_len, d_model):
    if max_len < 1:
        raise ValueError(f"max_len must be positive (got {max_len})")
    if d_model < 2 or d_model % 2 != 0:
        raise ValueError(f"d_model must be a positive even number (got {d_model})")
    pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = pos / torch.pow(10000.0, two_i / d_model)
    pe = torch.empty(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.cos(angle)
    pe[:, 1::2] = torch.sin(angle)
    return pe.to(torch.get_default_dtype())
