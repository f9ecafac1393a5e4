# wrong: the padding row receives gradient (plain lookup, no gradient stop for padding_idx)
# hint: padding
# caught by: padding_idx=2, indices containing 2, backward -> weight.grad[2] must be all zeros
class Embedding(Embedding):
    def forward(self, indices):
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"Embedding: expected indices of dtype int64 or int32 (got {indices.dtype})")
        bad = (indices < 0) | (indices >= self.num_embeddings)
        if bad.any():
            raise IndexError(f"index {indices[bad].flatten()[0].item()} is out of range")
        return self.weight[indices]
