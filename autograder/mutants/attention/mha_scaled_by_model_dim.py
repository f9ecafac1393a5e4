# wrong: every head scales its scores by 1/sqrt(E), the model size, instead of 1/sqrt(E/H), its own size
# hint: scaled by 1/sqrt(e) (the model size) instead of 1/sqrt(e/h)
# caught by: multi-head attention with more than one head

class MultiHeadAttention(MultiHeadAttention):
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        B, L, E = query.shape
        S = key.shape[1]
        H, Dh = self.num_heads, self.head_dim
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None, None, None)
        q = F.linear(query, w_q, b_q).view(B, L, H, Dh).transpose(1, 2)
        k = F.linear(key, w_k, b_k).view(B, S, H, Dh).transpose(1, 2)
        v = F.linear(value, w_v, b_v).view(B, S, H, Dh).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(E)  # the model size, not the head's
        if attn_mask is not None:
            m = _additive(attn_mask, q.dtype)
            scores = scores + (m.view(B, H, L, S) if m.dim() == 3 else m)
        if key_padding_mask is not None:
            scores = scores + _additive(key_padding_mask, q.dtype).view(B, 1, 1, S)
        weights = softmax(scores, dim=-1)
        out = self.out_proj((weights @ v).transpose(1, 2).reshape(B, L, E))
        if not need_weights:
            weights = None
        elif average_attn_weights:
            weights = weights.mean(dim=1)
        if unbatched:
            out = out.squeeze(0)
            weights = weights.squeeze(0) if weights is not None else None
        return out, weights
