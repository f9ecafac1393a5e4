# wrong: in_proj_weight is initialised as three nn.Linear(E, E) weights, U(-1/sqrt(E), 1/sqrt(E)), not Xavier-uniform over (3E, E) as nn.MultiheadAttention does
# hint: xavier-uniform over the whole (3e, e) matrix
# caught by: the initial in_proj_weight's spread


class MultiHeadAttention(MultiHeadAttention):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__(embed_dim, num_heads, bias)
        with torch.no_grad():
            self.in_proj_weight.uniform_(-1 / math.sqrt(embed_dim), 1 / math.sqrt(embed_dim))
