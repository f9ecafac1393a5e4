# wrong: src_key_padding_mask is accepted but never passed to the attention, so padded positions are still attended to
# hint: padding
# caught by: randn(2, 6, 16) with src_key_padding_mask marking the last 2 positions of sample 0 as padding, vs nn.TransformerEncoderLayer (non-padded outputs of sample 0 differ)
class TransformerEncoderBlock(TransformerEncoderBlock):
    def _sa_block(self, x, attn_mask, key_padding_mask):
        out, _ = self.self_attn(x, x, x, attn_mask=attn_mask, need_weights=False)
        return self.dropout1(out)
