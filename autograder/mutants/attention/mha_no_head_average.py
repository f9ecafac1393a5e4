# wrong: average_attn_weights is ignored: weights are always the per-head (B, H, L, S) tensor
# caught by: the default call, whose weights must be averaged over heads to (B, L, S)


class MultiHeadAttention(MultiHeadAttention):
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        return super().forward(query, key, value, key_padding_mask, need_weights, attn_mask,
                               average_attn_weights=False)
