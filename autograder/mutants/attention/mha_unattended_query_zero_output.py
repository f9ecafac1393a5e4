# wrong: a query that may attend to no key gets a zero output row instead of out_proj applied to its zero attention output (out_proj.bias)
# hint: it must be out_proj applied to a zero attention output
# caught by: a batch element whose keys are all padding


class MultiHeadAttention(MultiHeadAttention):
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        out, weights = super().forward(query, key, value, key_padding_mask, True, attn_mask, False)
        dead = (weights == 0).all(dim=-1).all(dim=-2)  # (..., L): no head attends anywhere
        out = out.masked_fill(dead.unsqueeze(-1), 0.0)
        if not need_weights:
            weights = None
        elif average_attn_weights:
            weights = weights.mean(dim=-3)
        return out, weights
