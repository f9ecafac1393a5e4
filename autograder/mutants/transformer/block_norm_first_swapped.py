# wrong: the two branches of norm_first are swapped: norm_first=False runs pre-norm and norm_first=True post-norm
# hint: norm_first
# caught by: TransformerEncoderBlock(16, 4, 32, norm_first=False) vs nn.TransformerEncoderLayer(16, 4, 32, batch_first=True) with the same state_dict, eval mode, on randn(2, 5, 16)
class TransformerEncoderBlock(TransformerEncoderBlock):
    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        L = src.shape[-2]
        src_mask = _as_float_mask(src_mask, src.dtype)
        src_key_padding_mask = _as_float_mask(src_key_padding_mask, src.dtype)
        if is_causal and src_mask is None:
            src_mask = torch.full((L, L), float("-inf"), dtype=src.dtype, device=src.device).triu(1)
        x = src
        if not self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(x + self._ff_block(x))
        return x
