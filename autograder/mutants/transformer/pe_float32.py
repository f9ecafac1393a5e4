# wrong: the table is computed in float32 (the usual tutorial code), so large positions lose precision
# hint: float64
# caught by: sinusoidal_positional_encoding(6000, 64) vs the float64 formula cast to float32 (error ~1e-4 at pos 5000 > default atol 1e-5), or with torch.set_default_dtype(torch.float64)
import math


def sinusoidal_positional_encoding(max_len, d_model):
    if max_len < 1:
        raise ValueError(f"max_len must be positive (got {max_len})")
    if d_model < 2 or d_model % 2 != 0:
        raise ValueError(f"d_model must be a positive even number (got {d_model})")
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model, dtype=torch.float32)
    pe[:, 0::2] = torch.sin(pos * div_term)
    pe[:, 1::2] = torch.cos(pos * div_term)
    return pe.to(torch.get_default_dtype())
