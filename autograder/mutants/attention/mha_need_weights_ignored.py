# wrong: need_weights=False is ignored: the weights come back anyway
# hint: need_weights=false must return none
# caught by: a call with need_weights=False


class MultiHeadAttention(MultiHeadAttention):
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        return super().forward(query, key, value, key_padding_mask, True, attn_mask, average_attn_weights)
