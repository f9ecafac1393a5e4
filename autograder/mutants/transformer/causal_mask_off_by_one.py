# wrong: the causal mask starts one diagonal too high (triu(2)), so position t also attends to t+1
# hint: causal
# caught by: is_causal=True on randn(2, 5, 16): perturbing x[:, 3] changes the output at position 2; also vs nn.TransformerEncoderLayer with src_mask=generate_square_subsequent_mask(5)
class TransformerEncoderBlock(TransformerEncoderBlock):
    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        L = src.shape[-2]
        src_mask = _as_float_mask(src_mask, src.dtype)
        src_key_padding_mask = _as_float_mask(src_key_padding_mask, src.dtype)
        if is_causal and src_mask is None:
            src_mask = torch.full((L, L), float("-inf"), dtype=src.dtype, device=src.device).triu(2)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(x + self._ff_block(x))
        return x
