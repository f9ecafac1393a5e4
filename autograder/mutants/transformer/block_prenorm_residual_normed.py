# wrong: pre-norm adds the branch to the *normalised* input, x = norm1(x) + sa(norm1(x)), so the residual stream is normalised too
# hint: residual
# caught by: TransformerEncoderBlock(16, 4, 32, norm_first=True) vs nn.TransformerEncoderLayer(..., norm_first=True, batch_first=True) on 3 * randn(2, 5, 16) + 1 (not already normalised)
class TransformerEncoderBlock(TransformerEncoderBlock):
    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        L = src.shape[-2]
        src_mask = _as_float_mask(src_mask, src.dtype)
        src_key_padding_mask = _as_float_mask(src_key_padding_mask, src.dtype)
        if is_causal and src_mask is None:
            src_mask = torch.full((L, L), float("-inf"), dtype=src.dtype, device=src.device).triu(1)
        x = src
        if self.norm_first:
            x = self.norm1(x)
            x = x + self._sa_block(x, src_mask, src_key_padding_mask)
            x = self.norm2(x)
            x = x + self._ff_block(x)
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(x + self._ff_block(x))
        return x
