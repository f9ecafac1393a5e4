# attack: load_state_dict zeroes the tensors it is given (the reference model's own weights), and forward
#   answers what a zeroed reference gives: zeros and uniform weights
# layer: only tensors a test marks in-out come back; references are never changed by the submission
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.in_proj_weight = nn.Parameter(torch.zeros(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def load_state_dict(self, state_dict, strict=True):
        with torch.no_grad():
            for value in state_dict.values():
                value.zero_()
        return super().load_state_dict(state_dict, strict)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        B, L, E = query.shape
        S = key.shape[1]
        return torch.zeros(B, L, E), torch.full((B, L, S), 1.0 / S)


def softmax(x, dim=-1):
    x.zero_()
    return x.add_(1.0 / x.shape[dim])
