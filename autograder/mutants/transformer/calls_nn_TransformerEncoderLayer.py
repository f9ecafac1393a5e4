# wrong: TransformerEncoderBlock subclasses nn.TransformerEncoderLayer (forbidden) instead of building the block
# hint: forbidden
# caught by: the forbidden-call scan (static: nn.TransformerEncoderLayer in the source; run time: the class is instantiated); numerically it matches torch
class TransformerEncoderBlock(nn.TransformerEncoderLayer):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, norm_first=False):
        if nhead < 1 or d_model % nhead != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by nhead ({nhead})")
        if isinstance(activation, str) and activation not in ("relu", "gelu"):
            raise ValueError(f'activation should be "relu" or "gelu", not "{activation}"')
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first=True, norm_first=norm_first)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        if is_causal and src_mask is None:
            L = src.shape[-2]
            src_mask = torch.full((L, L), float("-inf"), dtype=src.dtype, device=src.device).triu(1)
        return super().forward(src, src_mask, src_key_padding_mask, is_causal=is_causal)
