# wrong: the feed-forward branch has no residual connection: x = norm2(ff(x)) (post-norm) / x = ff(norm2(x)) (pre-norm)
# hint: residual
# caught by: any block output vs nn.TransformerEncoderLayer with the same state_dict, e.g. randn(2, 5, 16), both norm_first settings
class TransformerEncoderBlock(TransformerEncoderBlock):
    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        L = src.shape[-2]
        src_mask = _as_float_mask(src_mask, src.dtype)
        src_key_padding_mask = _as_float_mask(src_key_padding_mask, src.dtype)
        if is_causal and src_mask is None:
            src_mask = torch.full((L, L), float("-inf"), dtype=src.dtype, device=src.device).triu(1)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            x = self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(self._ff_block(x))
        return x
