# wrong: out_proj keeps nn.Linear's random bias instead of the zero bias nn.MultiheadAttention gives it
# hint: out_proj.bias should start at zero
# caught by: the initial out_proj.bias


class MultiHeadAttention(MultiHeadAttention):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__(embed_dim, num_heads, bias)
        if bias:
            with torch.no_grad():
                self.out_proj.bias.uniform_(-1 / math.sqrt(embed_dim), 1 / math.sqrt(embed_dim))
