# wrong: for unbatched input the weights keep a batch dimension of one: (1, L, S) instead of (L, S)
# caught by: unbatched (L, E) input


class MultiHeadAttention(MultiHeadAttention):
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        out, weights = super().forward(query, key, value, key_padding_mask, need_weights, attn_mask,
                                       average_attn_weights)
        if query.dim() == 2 and weights is not None:
            weights = weights.unsqueeze(0)
        return out, weights
