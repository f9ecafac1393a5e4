# wrong: no range check, so a negative index silently wraps around to the end of the table
# hint: out of range
# caught by: indices containing -1 -> F.embedding raises IndexError, this returns weight[-1]
class Embedding(Embedding):
    def forward(self, indices):
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"Embedding: expected indices of dtype int64 or int32 (got {indices.dtype})")
        out = self.weight[indices]
        if self.padding_idx is not None:
            is_pad = (indices == self.padding_idx).unsqueeze(-1)
            out = torch.where(is_pad, out.detach(), out)
        return out
