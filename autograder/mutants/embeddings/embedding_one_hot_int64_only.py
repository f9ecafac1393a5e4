# wrong: the lookup is a one-hot matrix product, and F.one_hot only takes int64: int32 ids (which the docstring accepts) raise
# caught by: Embedding(9, 4, padding_idx=2) on int32 indices raises RuntimeError instead of matching F.embedding
class Embedding(Embedding):
    def forward(self, indices):
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"Embedding: expected indices of dtype int64 or int32 (got {indices.dtype})")
        bad = (indices < 0) | (indices >= self.num_embeddings)
        if bad.any():
            raise IndexError(f"index {indices[bad].flatten()[0].item()} is out of range")
        onehot = torch.nn.functional.one_hot(indices, self.num_embeddings).to(self.weight.dtype)  # (*, V)
        if self.padding_idx is not None:
            onehot[..., self.padding_idx] = 0.0
            pad = (indices == self.padding_idx).unsqueeze(-1).to(self.weight.dtype)
            return onehot @ self.weight + pad * self.weight[self.padding_idx].detach()
        return onehot @ self.weight
