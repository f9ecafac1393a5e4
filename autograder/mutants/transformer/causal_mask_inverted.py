# wrong: is_causal builds the "may attend" mask (True on and below the diagonal) and passes it where nn.MultiheadAttention expects True = NOT allowed
# hint: causal
# caught by: is_causal=True on randn(2, 5, 16) vs nn.TransformerEncoderLayer with src_mask=generate_square_subsequent_mask(5) (each position sees only the future; the last row is fully masked -> NaN); also the "output at t does not depend on inputs after t" check
class TransformerEncoderBlock(TransformerEncoderBlock):
    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        L = src.shape[-2]
        if is_causal and src_mask is None:
            src_mask = torch.ones(L, L, dtype=torch.bool, device=src.device).tril()
        src_mask = _as_float_mask(src_mask, src.dtype)
        src_key_padding_mask = _as_float_mask(src_key_padding_mask, src.dtype)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(x + self._ff_block(x))
        return x
