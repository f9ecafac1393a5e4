# wrong: a negative padding_idx is not normalised to V + padding_idx, so forward never matches it
# hint: padding
# caught by: padding_idx=-1, indices containing V-1 -> weight.grad[V-1] non-zero (and .padding_idx != V-1)
class Embedding(Embedding):
    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        nn.Module.__init__(self)
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"padding_idx must be within num_embeddings (got padding_idx={padding_idx})")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
        self.reset_parameters()
