# wrong: zeroes the output at padding positions instead of only stopping their gradient
# hint: padding
# caught by: padding row overwritten with non-zero values, indices containing padding_idx -> output differs
class Embedding(Embedding):
    def forward(self, indices):
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"Embedding: expected indices of dtype int64 or int32 (got {indices.dtype})")
        bad = (indices < 0) | (indices >= self.num_embeddings)
        if bad.any():
            raise IndexError(f"index {indices[bad].flatten()[0].item()} is out of range")
        out = self.weight[indices]
        if self.padding_idx is not None:
            out = out * (indices != self.padding_idx).unsqueeze(-1).to(out.dtype)
        return out
